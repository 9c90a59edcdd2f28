"""The weak-derivative decomposition returned by ``weak_derivative`` (measure-valued
derivatives, Mohamed et al. 2020), and the helper that builds its p± rows."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp


class WeakDerivative(NamedTuple):
    """A weak-derivative decomposition ∂θ p = c (p⁺ − p⁻) for the P elements of one parameter.

    Attributes:
      scale: ``c``, shape ``(P,)``.
      plus: ``(P, *sample_shape)``: for element ``j``, a full sample whose coordinates affected
        by ``θ_j`` are drawn from ``p⁺`` and whose others are the base sample's.
      minus: the same for ``p⁻``; ``None`` means the base sample itself (it is a draw of p⁻).
      pullback: maps the ``(P,)`` vector ``c (f⁺ − f⁻)`` to the gradient with respect to the
        parameter broadcast to ``param_shape``.
      param_shape: the shape the parameter is broadcast to before the gradient is attached.
    """

    scale: jax.Array
    plus: jax.Array
    minus: jax.Array | None
    pullback: Any
    param_shape: tuple[int, ...]


def rows_replacing(
    sample: jax.Array, batch_shape: tuple[int, ...]
) -> Callable[[jax.Array], jax.Array]:
    """``rows(values)``: for each batch element j, ``sample`` with element j set to
    ``values[j]``, stacked to ``(D, *batch_shape)`` (the p± rows of a weak derivative)."""
    base = jnp.ravel(sample)
    return lambda values: replace_each(base, values).reshape((-1,) + tuple(batch_shape))


def replace_each(base: jax.Array, values: jax.Array) -> jax.Array:
    """Rows ``j`` = ``base`` (flat, length D) with element ``j`` replaced by ``values[j]``.

    Returns a ``(D, D)`` array, built with one ``where`` (no Python loop over elements).
    """
    eye = jnp.eye(base.shape[0], dtype=bool)
    return jnp.where(eye, values[:, None], base[None, :])


def reshaper(shape: tuple[int, ...]) -> Callable[[jax.Array], jax.Array]:
    """The pullback of an elementwise parameter: the ``(P,)`` vector reshaped to ``shape``."""
    return lambda g: g.reshape(shape)
