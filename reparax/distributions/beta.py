"""The Beta distribution, as a ratio of Gamma draws formed in log space."""

from __future__ import annotations

import jax
import jax.numpy as jnp
from jax.scipy.special import betainc, betaln, digamma

from reparax import constraints
from reparax.distributions._base import Distribution, Shape, distribution, param
from reparax.distributions._log_gamma import log_standard_gamma


@distribution
class Beta(Distribution):
    """Beta(concentration1 a, concentration0 b) on (0, 1): z = G_a/(G_a + G_b), formed in
    log space (z = exp(log G_a − logaddexp(log G_a, log G_b))) so tiny concentrations stay
    finite. Pathwise gradients through the Gamma draws' implicit derivatives.

    Args:
      concentration1: a > 0 (the exponent of z).
      concentration0: b > 0 (the exponent of 1 − z).
    """

    concentration1: jax.Array = param(constraints.positive)
    concentration0: jax.Array = param(constraints.positive)

    def rsample(self, key: jax.Array, sample_shape: Shape = ()) -> jax.Array:
        shape = tuple(sample_shape) + self.batch_shape
        key_a, key_b = jax.random.split(key)
        log_a = log_standard_gamma(jnp.broadcast_to(self.concentration1, shape), key_a)
        log_b = log_standard_gamma(jnp.broadcast_to(self.concentration0, shape), key_b)
        return jnp.exp(log_a - jnp.logaddexp(log_a, log_b))

    def log_prob(self, value: jax.Array) -> jax.Array:
        a, b = self._params_like(value)
        return (a - 1.0) * jnp.log(value) + (b - 1.0) * jnp.log1p(-value) - betaln(a, b)

    def cdf(self, value: jax.Array) -> jax.Array:
        a, b = self._params_like(value)
        return betainc(a, b, value)

    def mean(self) -> jax.Array:
        a, b = self.concentration1, self.concentration0
        return self._broadcast(a / (a + b))

    def variance(self) -> jax.Array:
        a, b = self.concentration1, self.concentration0
        return self._broadcast(a * b / ((a + b) ** 2 * (a + b + 1.0)))

    def entropy(self) -> jax.Array:
        a, b = self.concentration1, self.concentration0
        h = (
            betaln(a, b)
            - (a - 1.0) * digamma(a)
            - (b - 1.0) * digamma(b)
            + (a + b - 2.0) * digamma(a + b)
        )
        return self._broadcast(h)
