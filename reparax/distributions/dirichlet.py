"""The Dirichlet distribution on the simplex, as a softmax of log-Gamma draws."""

from __future__ import annotations

import jax
import jax.numpy as jnp
from jax.scipy.special import digamma, gammaln

from reparax import constraints
from reparax.distributions._base import Distribution, Shape, distribution, param
from reparax.distributions._log_gamma import log_standard_gamma


@distribution
class Dirichlet(Distribution):
    """Dirichlet(concentration) on the simplex: z = softmax(log G), G_k ~ Gamma(α_k, 1).

    The softmax of log-Gamma draws is exact and stable for tiny concentrations (where the
    draws themselves underflow). ``f`` receives points of the simplex, shape
    ``batch_shape + (K,)``.

    Args:
      concentration: α > 0, shape ``batch_shape + (K,)``.
    """

    concentration: jax.Array = param(constraints.positive, event_ndims=1)

    @property
    def event_shape(self) -> Shape:
        return (int(jnp.shape(self.concentration)[-1]),)

    def _alpha(self) -> jax.Array:
        return jnp.broadcast_to(self.concentration, self.batch_shape + self.event_shape)

    def rsample(self, key: jax.Array, sample_shape: Shape = ()) -> jax.Array:
        shape = tuple(sample_shape) + self.batch_shape + self.event_shape
        log_g = log_standard_gamma(jnp.broadcast_to(self.concentration, shape), key)
        return jax.nn.softmax(log_g, axis=-1)

    def log_prob(self, value: jax.Array) -> jax.Array:
        alpha = jnp.broadcast_to(self.concentration, jnp.shape(value))
        log_norm = jnp.sum(gammaln(alpha), -1) - gammaln(jnp.sum(alpha, -1))
        return jnp.sum((alpha - 1.0) * jnp.log(value), -1) - log_norm

    def mean(self) -> jax.Array:
        alpha = self._alpha()
        return alpha / jnp.sum(alpha, -1, keepdims=True)

    def variance(self) -> jax.Array:
        alpha = self._alpha()
        total = jnp.sum(alpha, -1, keepdims=True)
        mean = alpha / total
        return mean * (1.0 - mean) / (total + 1.0)

    def entropy(self) -> jax.Array:
        alpha = self._alpha()
        total = jnp.sum(alpha, -1)
        k = alpha.shape[-1]
        log_norm = jnp.sum(gammaln(alpha), -1) - gammaln(total)
        return log_norm + (total - k) * digamma(total) - jnp.sum((alpha - 1.0) * digamma(alpha), -1)
