"""The univariate Normal distribution, any batch shape."""

from __future__ import annotations

import math
from typing import Any

import jax
import jax.numpy as jnp

from reparax import constraints
from reparax.distributions._base import Shape, distribution, param
from reparax.distributions._location_scale import LocationScale
from reparax.distributions._weak_derivative import WeakDerivative, rows_replacing
from reparax.distributions._weak_samplers import double_sided_maxwell, weibull_2_sqrt2

_HALF_LOG_2PI = 0.5 * math.log(2.0 * math.pi)


@distribution
class Normal(LocationScale):
    """Normal(loc, scale): z = loc + scale·ε with ε ~ N(0, 1).

    Args:
      loc: mean, any shape.
      scale: standard deviation (> 0), any shape that broadcasts with ``loc``.
    """

    loc: jax.Array = param(constraints.real)
    scale: jax.Array = param(constraints.positive)

    def _standard_noise(self, key: jax.Array, shape: Shape, dtype: Any) -> jax.Array:
        return jax.random.normal(key, shape, dtype)

    def _standard_log_prob(self, x: jax.Array) -> jax.Array:
        return -0.5 * x**2 - _HALF_LOG_2PI

    def _standard_cdf(self, x: jax.Array) -> jax.Array:
        return jax.scipy.special.ndtr(x)

    def mean(self) -> jax.Array:
        return self._broadcast(self.loc)

    def variance(self) -> jax.Array:
        return self._broadcast(self.scale**2)

    def entropy(self) -> jax.Array:
        return self._broadcast(0.5 + _HALF_LOG_2PI + jnp.log(self.scale))

    def weak_derivative(
        self, key: jax.Array, sample: jax.Array, coupled: bool = True
    ) -> dict[str, WeakDerivative]:
        """Weak derivatives of Mohamed et al. (2020, Table 1), one term per batch element.

        loc: c = 1/(σ√(2π)), p± = μ ± σW, W ~ Weibull(2, √2) (coupled: one shared W).
        scale: c = 1/σ, p⁺ = μ + σM with M double-sided Maxwell, p⁻ = μ + σMU, U ~ U(0,1)
        (MU is a standard normal: the coupling); uncoupled, p⁻ uses an independent N(0, 1).
        """
        shape, dtype = self.batch_shape, self.dtype
        # The scale itself, not √variance: σ² underflows (flushed to 0) for σ ≲ 1e-19.
        loc = jnp.ravel(self.mean())
        scale = jnp.ravel(jnp.broadcast_to(self.scale, self.batch_shape))
        k_w, k_w2, k_m, k_u = jax.random.split(key, 4)
        flat_shape = (loc.shape[0],)
        w_plus = weibull_2_sqrt2(k_w, flat_shape, dtype)
        w_minus = w_plus if coupled else weibull_2_sqrt2(k_w2, flat_shape, dtype)
        maxwell = double_sided_maxwell(k_m, flat_shape, dtype)
        if coupled:
            normal = maxwell * jax.random.uniform(k_u, flat_shape, dtype)
        else:
            normal = jax.random.normal(k_u, flat_shape, dtype)
        rows = rows_replacing(sample, shape)

        def pullback(g: jax.Array) -> jax.Array:
            return g.reshape(shape)

        return {
            "loc": WeakDerivative(
                1.0 / (scale * math.sqrt(2.0 * math.pi)),
                rows(loc + scale * w_plus),
                rows(loc - scale * w_minus),
                pullback,
                shape,
            ),
            "scale": WeakDerivative(
                1.0 / scale,
                rows(loc + scale * maxwell),
                rows(loc + scale * normal),
                pullback,
                shape,
            ),
        }
