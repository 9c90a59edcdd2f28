"""The Kumaraswamy distribution on (0, 1): a Beta look-alike with a closed-form quantile."""

from __future__ import annotations

import jax
import jax.numpy as jnp
from jax.scipy.special import betaln, digamma

from reparax import constraints
from reparax.distributions._base import Shape, distribution, param
from reparax.distributions._explicit import ExplicitReparameterization
from reparax.distributions._location_scale import EULER_GAMMA
from reparax.distributions._noise import midpoint_uniform


@distribution
class Kumaraswamy(ExplicitReparameterization):
    """Kumaraswamy(concentration1 a, concentration0 b) on (0, 1): CDF 1 − (1 − z^a)^b,
    z = (1 − (1 − u)^{1/b})^{1/a} computed as exp(log(−expm1(log1p(−u)/b))/a).

    Args:
      concentration1: a > 0.
      concentration0: b > 0.
    """

    concentration1: jax.Array = param(constraints.positive)
    concentration0: jax.Array = param(constraints.positive)

    def noise(self, key: jax.Array, sample_shape: Shape = ()) -> jax.Array:
        # Never within 2^-24 of 0 or 1: a power 1/a > 1 of a smaller u underflowed to z = 0.
        return midpoint_uniform(key, tuple(sample_shape) + self.batch_shape, self.dtype)

    def transform(self, noise: jax.Array) -> jax.Array:
        a, b = self._params_like(noise)
        return jnp.exp(jnp.log(-jnp.expm1(jnp.log1p(-noise) / b)) / a)

    def log_prob(self, value: jax.Array) -> jax.Array:
        a, b = self._params_like(value)
        return (
            jnp.log(a)
            + jnp.log(b)
            + (a - 1.0) * jnp.log(value)
            + (b - 1.0) * jnp.log1p(-(value**a))
        )

    def cdf(self, value: jax.Array) -> jax.Array:
        a, b = self._params_like(value)
        return -jnp.expm1(b * jnp.log1p(-(value**a)))

    def moment(self, n: int) -> jax.Array:
        """E[z^n] = b·B(1 + n/a, b)."""
        a, b = self.concentration1, self.concentration0
        return self._broadcast(b * jnp.exp(betaln(1.0 + n / a, b)))

    def mean(self) -> jax.Array:
        return self.moment(1)

    def variance(self) -> jax.Array:
        return self.moment(2) - self.moment(1) ** 2

    def entropy(self) -> jax.Array:
        """(1 − 1/b) + (1 − 1/a) H_b − log(ab), H_b = ψ(b + 1) + γ the harmonic number."""
        a, b = self.concentration1, self.concentration0
        harmonic = digamma(b + 1.0) + EULER_GAMMA
        return self._broadcast((1.0 - 1.0 / b) + (1.0 - 1.0 / a) * harmonic - jnp.log(a * b))
