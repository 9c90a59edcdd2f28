"""The Cauchy distribution (heavy tails: no mean, no variance)."""

from __future__ import annotations

import math
from typing import Any

import jax
import jax.numpy as jnp

from reparax import constraints
from reparax.distributions._base import Shape, distribution, param
from reparax.distributions._location_scale import LocationScale


@distribution
class Cauchy(LocationScale):
    """Cauchy(loc, scale): ε = tan(π(u − ½)). Mean and variance are undefined (NaN); use
    bounded test functions, e.g. E[cos(t z)] = cos(t·loc) exp(−scale·|t|)."""

    loc: jax.Array = param(constraints.real)
    scale: jax.Array = param(constraints.positive)

    def _standard_noise(self, key: jax.Array, shape: Shape, dtype: Any) -> jax.Array:
        return jax.random.cauchy(key, shape, dtype)

    def _standard_log_prob(self, x: jax.Array) -> jax.Array:
        return -jnp.log1p(x**2) - math.log(math.pi)

    def _standard_cdf(self, x: jax.Array) -> jax.Array:
        return 0.5 + jnp.arctan(x) / math.pi

    def mean(self) -> jax.Array:
        return jnp.full(self.batch_shape, jnp.nan, self.dtype)

    def variance(self) -> jax.Array:
        return jnp.full(self.batch_shape, jnp.nan, self.dtype)

    def entropy(self) -> jax.Array:
        return self._broadcast(jnp.log(4.0 * math.pi * self.scale))
