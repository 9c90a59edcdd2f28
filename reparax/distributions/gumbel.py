"""The Gumbel (maximum) distribution."""

from __future__ import annotations

import math
from typing import Any

import jax
import jax.numpy as jnp

from reparax import constraints
from reparax.distributions._base import Shape, distribution, param
from reparax.distributions._location_scale import EULER_GAMMA, LocationScale


@distribution
class Gumbel(LocationScale):
    """Gumbel(loc, scale) (maximum): ε = −log(−log u)."""

    loc: jax.Array = param(constraints.real)
    scale: jax.Array = param(constraints.positive)

    def _standard_noise(self, key: jax.Array, shape: Shape, dtype: Any) -> jax.Array:
        return jax.random.gumbel(key, shape, dtype)

    def _standard_log_prob(self, x: jax.Array) -> jax.Array:
        return -(x + jnp.exp(-x))

    def _standard_cdf(self, x: jax.Array) -> jax.Array:
        return jnp.exp(-jnp.exp(-x))

    def mean(self) -> jax.Array:
        return self._broadcast(self.loc + EULER_GAMMA * self.scale)

    def variance(self) -> jax.Array:
        return self._broadcast(math.pi**2 / 6.0 * self.scale**2)

    def entropy(self) -> jax.Array:
        return self._broadcast(jnp.log(self.scale) + EULER_GAMMA + 1.0)
