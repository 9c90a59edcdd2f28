"""Exponential and Weibull: explicit transforms of Exp(1) noise, with weak derivatives."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
from jax.scipy.special import gammaln

from reparax.distributions._base import (
    Distribution,
    WeakDerivative,
    distribution,
    param,
    rows_replacing,
)

_EULER = 0.5772156649015329


def _exponential_and_gamma2(key, size, dtype, coupled):
    """E ~ Exp(1) and G ~ Gamma(2, 1), coupled as G = E + E' (else independent), shape (size,).

    The weak derivatives of both families below are differences between these two laws."""
    k1, k2, k3 = jax.random.split(key, 3)
    e1 = jax.random.exponential(k1, (size,), dtype)
    e2 = jax.random.exponential(k2, (size,), dtype)
    first = e1 if coupled else jax.random.exponential(k3, (size,), dtype)
    return e1, first + e2


@distribution
class Exponential(Distribution):
    """Exponential(rate λ): z = E/λ, E ~ Exp(1).

    Weak derivative (Mohamed et al. 2020, Table 1): ∂λ p = (1/λ)(Exp(λ) − Gamma(2, λ)),
    coupled through Gamma(2, λ) = (E₁ + E₂)/λ with E₁ the p⁺ draw.
    """

    rate: jax.Array = param()

    reparameterized = True

    def _check_values(self, params):
        if "rate" in params and bool(np.any(params["rate"] <= 0)):
            raise ValueError("Exponential: `rate` must be > 0.")

    def noise(self, key, sample_shape=()):
        return jax.random.exponential(key, tuple(sample_shape) + self.batch_shape, self.dtype)

    def transform(self, noise):
        (rate,) = self.params_like(noise)
        return noise / rate

    def log_prob(self, value):
        (rate,) = self.params_like(value)
        return jnp.log(rate) - rate * value

    def cdf(self, value):
        (rate,) = self.params_like(value)
        return -jnp.expm1(-rate * value)

    def mean(self):
        return jnp.broadcast_to(1.0 / self.rate, self.batch_shape)

    def variance(self):
        return jnp.broadcast_to(1.0 / self.rate**2, self.batch_shape)

    def entropy(self):
        return jnp.broadcast_to(1.0 - jnp.log(self.rate), self.batch_shape)

    def weak_derivative(self, key, sample, coupled=True):
        shape = self.batch_shape
        rate = jnp.ravel(jnp.broadcast_to(self.rate, shape))
        exponential, gamma2 = _exponential_and_gamma2(key, rate.shape[0], self.dtype, coupled)
        rows = rows_replacing(sample, shape)
        return {
            "rate": WeakDerivative(
                1.0 / rate,
                rows(exponential / rate),
                rows(gamma2 / rate),
                lambda g: g.reshape(shape),
                shape,
            )
        }


@distribution
class Weibull(Distribution):
    """Weibull(concentration k, scale λ): z = λ E^{1/k}, E ~ Exp(1).

    Weak derivative for the scale: ∂λ p = (k/λ)(q − p) with q the law of λ G₂^{1/k},
    G₂ ~ Gamma(2, 1) (the density (z/λ)^k p(z)); coupled through G₂ = E₁ + E₂ with E₁
    giving the p draw. The concentration has no decomposition here (score function).
    """

    concentration: jax.Array = param()
    scale: jax.Array = param()

    reparameterized = True

    def _check_values(self, params):
        for name in ("concentration", "scale"):
            if name in params and bool(np.any(params[name] <= 0)):
                raise ValueError(f"Weibull: `{name}` must be > 0.")

    def noise(self, key, sample_shape=()):
        return jax.random.exponential(key, tuple(sample_shape) + self.batch_shape, self.dtype)

    def transform(self, noise):
        k, scale = self.params_like(noise)
        return scale * jnp.exp(jnp.log(noise) / k)

    def log_prob(self, value):
        k, scale = self.params_like(value)
        x = value / scale
        return jnp.log(k) - jnp.log(scale) + (k - 1.0) * jnp.log(x) - x**k

    def cdf(self, value):
        k, scale = self.params_like(value)
        return -jnp.expm1(-((value / scale) ** k))

    def _moment(self, n):
        return self.scale**n * jnp.exp(gammaln(1.0 + n / self.concentration))

    def mean(self):
        return jnp.broadcast_to(self._moment(1), self.batch_shape)

    def variance(self):
        return jnp.broadcast_to(self._moment(2) - self._moment(1) ** 2, self.batch_shape)

    def entropy(self):
        k, scale = self.concentration, self.scale
        h = _EULER * (1.0 - 1.0 / k) + jnp.log(scale / k) + 1.0
        return jnp.broadcast_to(h, self.batch_shape)

    def weak_derivative(self, key, sample, coupled=True):
        shape = self.batch_shape
        k = jnp.ravel(jnp.broadcast_to(self.concentration, shape))
        scale = jnp.ravel(jnp.broadcast_to(self.scale, shape))
        exponential, gamma2 = _exponential_and_gamma2(key, k.shape[0], self.dtype, coupled)
        rows = rows_replacing(sample, shape)
        return {
            "scale": WeakDerivative(
                k / scale,
                rows(scale * jnp.exp(jnp.log(gamma2) / k)),
                rows(scale * jnp.exp(jnp.log(exponential) / k)),
                lambda g: g.reshape(shape),
                shape,
            )
        }
