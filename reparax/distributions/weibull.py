"""The Weibull distribution: an explicit transform of Exp(1) noise."""

from __future__ import annotations

import jax
import jax.numpy as jnp
from jax.scipy.special import gammaln

from reparax import constraints
from reparax.distributions._base import Shape, distribution, param
from reparax.distributions._explicit import ExplicitReparameterization
from reparax.distributions._location_scale import EULER_GAMMA
from reparax.distributions._noise import positive_exponential
from reparax.distributions._weak_derivative import WeakDerivative, reshaper, rows_replacing
from reparax.distributions._weak_samplers import exponential_and_gamma2


@distribution
class Weibull(ExplicitReparameterization):
    """Weibull(concentration k, scale λ): z = λ E^{1/k}, E ~ Exp(1).

    Weak derivative for the scale: ∂λ p = (k/λ)(q − p) with q the law of λ G₂^{1/k},
    G₂ ~ Gamma(2, 1) (the density (z/λ)^k p(z)); coupled through G₂ = E₁ + E₂ with E₁
    giving the p draw. The concentration has no decomposition here (score function).

    Args:
      concentration: k > 0.
      scale: λ > 0.
    """

    concentration: jax.Array = param(constraints.positive)
    scale: jax.Array = param(constraints.positive)

    def noise(self, key: jax.Array, sample_shape: Shape = ()) -> jax.Array:
        # Never exactly 0 (jax.random.exponential is, once in 2^23 draws): see _noise.py.
        return positive_exponential(key, tuple(sample_shape) + self.batch_shape, self.dtype)

    def transform(self, noise: jax.Array) -> jax.Array:
        k, scale = self._params_like(noise)
        return scale * jnp.exp(jnp.log(noise) / k)

    def log_prob(self, value: jax.Array) -> jax.Array:
        k, scale = self._params_like(value)
        x = value / scale
        return jnp.log(k) - jnp.log(scale) + (k - 1.0) * jnp.log(x) - x**k

    def cdf(self, value: jax.Array) -> jax.Array:
        k, scale = self._params_like(value)
        return -jnp.expm1(-((value / scale) ** k))

    def _moment(self, n: int) -> jax.Array:
        return self.scale**n * jnp.exp(gammaln(1.0 + n / self.concentration))

    def mean(self) -> jax.Array:
        return self._broadcast(self._moment(1))

    def variance(self) -> jax.Array:
        return self._broadcast(self._moment(2) - self._moment(1) ** 2)

    def entropy(self) -> jax.Array:
        k, scale = self.concentration, self.scale
        return self._broadcast(EULER_GAMMA * (1.0 - 1.0 / k) + jnp.log(scale / k) + 1.0)

    def weak_derivative(
        self, key: jax.Array, sample: jax.Array, coupled: bool = True
    ) -> dict[str, WeakDerivative]:
        shape = self.batch_shape
        k = jnp.ravel(self._broadcast(self.concentration))
        scale = jnp.ravel(self._broadcast(self.scale))
        exponential, gamma2 = exponential_and_gamma2(key, k.shape[0], self.dtype, coupled)
        rows = rows_replacing(sample, shape)
        return {
            "scale": WeakDerivative(
                k / scale,
                rows(scale * jnp.exp(jnp.log(gamma2) / k)),
                rows(scale * jnp.exp(jnp.log(exponential) / k)),
                reshaper(shape),
                shape,
            )
        }
