"""Families supported on a window [low, high] that moves with the parameters."""

from __future__ import annotations

from types import ModuleType
from typing import Any, ClassVar

from reparax.distributions._base import Relation
from reparax.distributions._explicit import ExplicitReparameterization


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
