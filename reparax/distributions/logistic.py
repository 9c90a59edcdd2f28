"""The logistic distribution."""

from __future__ import annotations

import math
from typing import Any

import jax
import jax.numpy as jnp

from reparax import constraints
from reparax.distributions._base import Shape, distribution, param
from reparax.distributions._location_scale import LocationScale


@distribution
class Logistic(LocationScale):
    """Logistic(loc, scale): ε = log u − log(1 − u)."""

    loc: jax.Array = param(constraints.real)
    scale: jax.Array = param(constraints.positive)

    def _standard_noise(self, key: jax.Array, shape: Shape, dtype: Any) -> jax.Array:
        return jax.random.logistic(key, shape, dtype)

    def _standard_log_prob(self, x: jax.Array) -> jax.Array:
        return -x - 2.0 * jax.nn.softplus(-x)

    def _standard_cdf(self, x: jax.Array) -> jax.Array:
        return jax.nn.sigmoid(x)

    def mean(self) -> jax.Array:
        return self._broadcast(self.loc)

    def variance(self) -> jax.Array:
        return self._broadcast(self.scale**2 * math.pi**2 / 3.0)

    def entropy(self) -> jax.Array:
        return self._broadcast(jnp.log(self.scale) + 2.0)
