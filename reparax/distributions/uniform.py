"""The uniform distribution on [low, high]."""

from __future__ import annotations

import jax
import jax.numpy as jnp

from reparax import constraints
from reparax.distributions._base import Shape, distribution, param
from reparax.distributions._noise import open_uniform
from reparax.distributions._window import Window


@distribution
class Uniform(Window):
    """Uniform(low, high): z = low + (high − low) u, u ~ U(0, 1).

    Args:
      low: lower bound (finite).
      high: upper bound (finite, > low).
    """

    low: jax.Array = param(constraints.real)
    high: jax.Array = param(constraints.real)

    def noise(self, key: jax.Array, sample_shape: Shape = ()) -> jax.Array:
        return open_uniform(key, tuple(sample_shape) + self.batch_shape, self.dtype)

    def transform(self, noise: jax.Array) -> jax.Array:
        low, high = self._params_like(noise)
        return low + (high - low) * noise

    def log_prob(self, value: jax.Array) -> jax.Array:
        low, high = self._params_like(value)
        inside = (value >= low) & (value <= high)
        return jnp.where(inside, -jnp.log(high - low), -jnp.inf)

    def cdf(self, value: jax.Array) -> jax.Array:
        low, high = self._params_like(value)
        return jnp.clip((value - low) / (high - low), 0.0, 1.0)

    def mean(self) -> jax.Array:
        return self._broadcast(0.5 * (self.low + self.high))

    def variance(self) -> jax.Array:
        return self._broadcast((self.high - self.low) ** 2 / 12.0)

    def entropy(self) -> jax.Array:
        return self._broadcast(jnp.log(self.high - self.low))
