"""The Laplace (double exponential) distribution."""

from __future__ import annotations

import math
from typing import Any

import jax
import jax.numpy as jnp

from reparax import constraints
from reparax.distributions._base import Shape, distribution, param
from reparax.distributions._location_scale import LocationScale


@distribution
class Laplace(LocationScale):
    """Laplace(loc, scale): density exp(−|z − loc|/scale)/(2 scale); ε = −sign(v) log(1 − 2|v|),
    v ~ U(−½, ½)."""

    loc: jax.Array = param(constraints.real)
    scale: jax.Array = param(constraints.positive)

    def _standard_noise(self, key: jax.Array, shape: Shape, dtype: Any) -> jax.Array:
        return jax.random.laplace(key, shape, dtype)

    def _standard_log_prob(self, x: jax.Array) -> jax.Array:
        return -jnp.abs(x) - math.log(2.0)

    def _standard_cdf(self, x: jax.Array) -> jax.Array:
        return jnp.where(x < 0, 0.5 * jnp.exp(x), 1.0 - 0.5 * jnp.exp(-x))

    def mean(self) -> jax.Array:
        return self._broadcast(self.loc)

    def variance(self) -> jax.Array:
        return self._broadcast(2.0 * self.scale**2)

    def entropy(self) -> jax.Array:
        return self._broadcast(1.0 + jnp.log(2.0 * self.scale))
