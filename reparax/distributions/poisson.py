"""The Poisson distribution (counts: score-function and measure-valued estimators)."""

from __future__ import annotations

import jax
import jax.numpy as jnp
from jax.scipy.special import gammaln

from reparax import constraints
from reparax.distributions._base import Distribution, Shape, distribution, param
from reparax.distributions._weak_derivative import WeakDerivative, reshaper, rows_replacing


@distribution
class Poisson(Distribution):
    """Poisson(rate λ): ``f`` receives float counts. Weak derivative: ∂λ p(n) = p(n − 1) − p(n),
    i.e. c = 1, p⁺ = 1 + Poisson(λ), p⁻ = Poisson(λ), coupled through one draw.

    Args:
      rate: λ > 0.
    """

    rate: jax.Array = param(constraints.positive)

    def sample(self, key: jax.Array, sample_shape: Shape = ()) -> jax.Array:
        shape = tuple(sample_shape) + self.batch_shape
        rate = jax.lax.stop_gradient(jnp.broadcast_to(self.rate, shape))
        return jax.random.poisson(key, rate, shape).astype(self.dtype)

    def log_prob(self, value: jax.Array) -> jax.Array:
        (rate,) = self._params_like(value)
        return value * jnp.log(rate) - rate - gammaln(value + 1.0)

    def mean(self) -> jax.Array:
        return self._broadcast(self.rate)

    def variance(self) -> jax.Array:
        return self._broadcast(self.rate)

    def weak_derivative(
        self, key: jax.Array, sample: jax.Array, coupled: bool = True
    ) -> dict[str, WeakDerivative]:
        shape = self.batch_shape
        draw = jnp.ravel(self.sample(key))
        other = draw if coupled else jnp.ravel(self.sample(jax.random.fold_in(key, 1)))
        rows = rows_replacing(sample, shape)
        return {
            "rate": WeakDerivative(
                jnp.ones_like(draw), rows(draw + 1.0), rows(other), reshaper(shape), shape
            )
        }
