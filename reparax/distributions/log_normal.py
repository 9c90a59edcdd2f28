"""The log-normal distribution: the exponential of a Normal."""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp

from reparax import constraints
from reparax.distributions._base import Shape, distribution, param
from reparax.distributions._explicit import ExplicitReparameterization


@distribution
class LogNormal(ExplicitReparameterization):
    """LogNormal(loc, scale): z = exp(loc + scale·ε), ε ~ N(0, 1).

    Args:
      loc: mean of log z.
      scale: standard deviation of log z (> 0).
    """

    loc: jax.Array = param(constraints.real)
    scale: jax.Array = param(constraints.positive)

    def noise(self, key: jax.Array, sample_shape: Shape = ()) -> jax.Array:
        return jax.random.normal(key, tuple(sample_shape) + self.batch_shape, self.dtype)

    def transform(self, noise: jax.Array) -> jax.Array:
        loc, scale = self._params_like(noise)
        return jnp.exp(loc + scale * noise)

    def log_prob(self, value: jax.Array) -> jax.Array:
        loc, scale = self._params_like(value)
        log_value = jnp.log(value)
        x = (log_value - loc) / scale
        return -0.5 * x**2 - jnp.log(scale) - 0.5 * math.log(2 * math.pi) - log_value

    def cdf(self, value: jax.Array) -> jax.Array:
        loc, scale = self._params_like(value)
        return jax.scipy.special.ndtr((jnp.log(value) - loc) / scale)

    def mean(self) -> jax.Array:
        return self._broadcast(jnp.exp(self.loc + 0.5 * self.scale**2))

    def variance(self) -> jax.Array:
        s2 = self.scale**2
        return self._broadcast(jnp.expm1(s2) * jnp.exp(2 * self.loc + s2))

    def entropy(self) -> jax.Array:
        h = self.loc + 0.5 + jnp.log(self.scale) + 0.5 * math.log(2 * math.pi)
        return self._broadcast(h)
