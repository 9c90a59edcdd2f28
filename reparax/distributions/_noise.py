"""Uniform and exponential noise that never lands on 0 (or, for the midpoints, on 1).

``open_uniform`` excludes 0 only, down to the smallest normal number: enough for a log or a
quantile on a closed window (Uniform, TruncatedNormal, the weak-derivative samplers).
Transforms onto an open support need more room:

``jax.random.uniform`` draws on the grid k·2⁻ᵐ (m the mantissa bits), 0 included, and
``jax.random.exponential`` is −log1p(−u) of it, so Exp(1) noise is exactly 0 once in 2ᵐ
draws (float32: 1 in 8.4 million). Weibull's z = λE^{1/k} and Kumaraswamy's quantile then
return z = 0, where the log-density is ±inf and every score-function estimate NaN; a
uniform floored at the smallest normal number (1.2e-38 in float32) underflows the same way
through a power 1/a > 1. The midpoints (k + ½)·2⁻ᵐ are exactly representable, never 0 or 1,
and their mean is exactly ½.
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp


def open_uniform(key: jax.Array, shape: tuple[int, ...], dtype: Any) -> jax.Array:
    """U(0, 1) draws on (0, 1], never exactly 0 (so logs and quantiles stay finite), but as
    small as 1.2e-38 in float32: enough for a log or a quantile on a closed window, not
    through a power above 1 (use :func:`midpoint_uniform` there)."""
    return jax.random.uniform(key, shape, dtype, minval=jnp.finfo(dtype).tiny, maxval=1.0)


def midpoint_uniform(key: jax.Array, shape: tuple[int, ...], dtype: Any) -> jax.Array:
    """U(0, 1) on the midpoints (k + ½)·2⁻ᵐ of JAX's uniform grid: in [2⁻ᵐ⁻¹, 1 − 2⁻ᵐ⁻¹]."""
    return jax.random.uniform(key, shape, dtype) + 0.5 * jnp.finfo(dtype).eps


def positive_exponential(key: jax.Array, shape: tuple[int, ...], dtype: Any) -> jax.Array:
    """Exp(1) as −log of a midpoint uniform: never 0 (at least 2⁻ᵐ⁻¹), at most (m + 1) log 2."""
    return -jnp.log(midpoint_uniform(key, shape, dtype))
