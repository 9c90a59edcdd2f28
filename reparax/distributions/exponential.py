"""The exponential distribution: an explicit transform of Exp(1) noise."""

from __future__ import annotations

import jax
import jax.numpy as jnp

from reparax import constraints
from reparax.distributions._base import Shape, distribution, param
from reparax.distributions._explicit import ExplicitReparameterization
from reparax.distributions._weak_derivative import WeakDerivative, reshaper, rows_replacing
from reparax.distributions._weak_samplers import exponential_and_gamma2


@distribution
class Exponential(ExplicitReparameterization):
    """Exponential(rate λ): z = E/λ, E ~ Exp(1).

    Weak derivative (Mohamed et al. 2020, Table 1): ∂λ p = (1/λ)(Exp(λ) − Gamma(2, λ)),
    coupled through Gamma(2, λ) = (E₁ + E₂)/λ with E₁ the p⁺ draw.

    Args:
      rate: λ > 0.
    """

    rate: jax.Array = param(constraints.positive)

    def noise(self, key: jax.Array, sample_shape: Shape = ()) -> jax.Array:
        return jax.random.exponential(key, tuple(sample_shape) + self.batch_shape, self.dtype)

    def transform(self, noise: jax.Array) -> jax.Array:
        (rate,) = self._params_like(noise)
        return noise / rate

    def log_prob(self, value: jax.Array) -> jax.Array:
        (rate,) = self._params_like(value)
        return jnp.log(rate) - rate * value

    def cdf(self, value: jax.Array) -> jax.Array:
        (rate,) = self._params_like(value)
        return -jnp.expm1(-rate * value)

    def mean(self) -> jax.Array:
        return self._broadcast(1.0 / self.rate)

    def variance(self) -> jax.Array:
        return self._broadcast(1.0 / self.rate**2)

    def entropy(self) -> jax.Array:
        return self._broadcast(1.0 - jnp.log(self.rate))

    def weak_derivative(
        self, key: jax.Array, sample: jax.Array, coupled: bool = True
    ) -> dict[str, WeakDerivative]:
        shape = self.batch_shape
        rate = jnp.ravel(self._broadcast(self.rate))
        exponential, gamma2 = exponential_and_gamma2(key, rate.shape[0], self.dtype, coupled)
        rows = rows_replacing(sample, shape)
        return {
            "rate": WeakDerivative(
                1.0 / rate, rows(exponential / rate), rows(gamma2 / rate), reshaper(shape), shape
            )
        }
