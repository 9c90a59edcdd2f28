"""Families supported on a window [low, high] that moves with the parameters."""

from __future__ import annotations

from types import ModuleType
from typing import Any, ClassVar

import jax
import jax.numpy as jnp

from reparax.distributions._base import Relation
from reparax.distributions._explicit import ExplicitReparameterization


def open_uniform(key: jax.Array, shape: tuple[int, ...], dtype: Any) -> jax.Array:
    """U(0, 1) draws on (0, 1], never exactly 0 (so logs and quantiles stay finite)."""
    return jax.random.uniform(key, shape, dtype, minval=jnp.finfo(dtype).tiny, maxval=1.0)


class Window(ExplicitReparameterization):
    """Base of families on [low, high]: explicit reparameterization, and ``low < high``.

    The support moves with ``low``/``high``, so density-only estimators (score function,
    measure-valued) would miss the boundary term: ``fixed_support`` is False.
    """

    fixed_support: ClassVar[bool] = False
    capability_hints: ClassVar[dict[type | str, str]] = {
        "fixed_support": "Its support depends on `low`/`high`, which density-only estimators "
        "cannot differentiate: use method='pathwise'."
    }

    def _relations(self, xp: ModuleType, params: dict[str, Any]) -> list[Relation]:
        if not {"low", "high"} <= params.keys():
            return []
        return [Relation(("low", "high"), "< `high`", params["low"] < params["high"])]
