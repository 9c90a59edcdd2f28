"""The univariate Normal distribution, any batch shape."""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np

from reparax.distributions._base import (
    Distribution,
    WeakDerivative,
    distribution,
    param,
    rows_replacing,
)

_HALF_LOG_2PI = 0.5 * math.log(2.0 * math.pi)


def weibull_2_sqrt2(key: jax.Array, shape: tuple[int, ...], dtype) -> jax.Array:
    """W ~ Weibull(shape 2, scale √2), density w·exp(−w²/2), by inversion: √(−2 log U)."""
    u = jax.random.uniform(key, shape, dtype, minval=jnp.finfo(dtype).tiny, maxval=1.0)
    return jnp.sqrt(-2.0 * jnp.log(u))


def double_sided_maxwell(key: jax.Array, shape: tuple[int, ...], dtype) -> jax.Array:
    """M with density m² exp(−m²/2)/√(2π): a random sign times the norm of a 3-d normal."""
    key_norm, key_sign = jax.random.split(key)
    radius = jnp.linalg.norm(jax.random.normal(key_norm, shape + (3,), dtype), axis=-1)
    return jnp.where(jax.random.bernoulli(key_sign, 0.5, shape), radius, -radius)


@distribution
class Normal(Distribution):
    """Normal(loc, scale): z = loc + scale·ε with ε ~ N(0, 1).

    Args:
      loc: mean, any shape.
      scale: standard deviation (> 0), any shape that broadcasts with ``loc``.
    """

    loc: jax.Array = param()
    scale: jax.Array = param()

    reparameterized = True

    def _check_values(self, params):
        if "scale" in params and bool(np.any(params["scale"] <= 0)):
            raise ValueError("Normal: `scale` must be > 0 (a standard deviation).")

    def noise(self, key, sample_shape=()):
        return jax.random.normal(key, tuple(sample_shape) + self.batch_shape, self.dtype)

    def _params_like(self, value):
        # Explicit broadcasting keeps samples with leading sample axes rank-promotion safe.
        shape = jnp.shape(value)
        return jnp.broadcast_to(self.loc, shape), jnp.broadcast_to(self.scale, shape)

    def transform(self, noise):
        loc, scale = self._params_like(noise)
        return loc + scale * noise

    def log_prob(self, value):
        loc, scale = self._params_like(value)
        z = (value - loc) / scale
        # log σ + log √(2π) once per parameter element, not once per sample element.
        normalizer = jnp.broadcast_to(jnp.log(self.scale) + _HALF_LOG_2PI, jnp.shape(value))
        return -0.5 * z**2 - normalizer

    def cdf(self, value):
        loc, scale = self._params_like(value)
        return jax.scipy.special.ndtr((value - loc) / scale)

    def mean(self):
        return jnp.broadcast_to(self.loc, self.batch_shape)

    def variance(self):
        return jnp.broadcast_to(self.scale**2, self.batch_shape)

    def entropy(self):
        return jnp.broadcast_to(0.5 + _HALF_LOG_2PI + jnp.log(self.scale), self.batch_shape)

    def weak_derivative(self, key, sample, coupled=True):
        """Weak derivatives of Mohamed et al. (2020, Table 1), one term per batch element.

        loc: c = 1/(σ√(2π)), p± = μ ± σW, W ~ Weibull(2, √2) (coupled: one shared W).
        scale: c = 1/σ, p⁺ = μ + σM with M double-sided Maxwell, p⁻ = μ + σMU, U ~ U(0,1)
        (MU is a standard normal: the coupling); uncoupled, p⁻ uses an independent N(0, 1).
        """
        shape, dtype = self.batch_shape, self.dtype
        loc, scale = jnp.ravel(self.mean()), jnp.ravel(jnp.sqrt(self.variance()))
        k_w, k_w2, k_m, k_u = jax.random.split(key, 4)
        flat_shape = (loc.shape[0],)
        w_plus = weibull_2_sqrt2(k_w, flat_shape, dtype)
        w_minus = w_plus if coupled else weibull_2_sqrt2(k_w2, flat_shape, dtype)
        maxwell = double_sided_maxwell(k_m, flat_shape, dtype)
        if coupled:
            normal = maxwell * jax.random.uniform(k_u, flat_shape, dtype)
        else:
            normal = jax.random.normal(k_u, flat_shape, dtype)
        rows = rows_replacing(sample, shape)

        def pullback(g):
            return g.reshape(shape)

        return {
            "loc": WeakDerivative(
                1.0 / (scale * math.sqrt(2.0 * math.pi)),
                rows(loc + scale * w_plus),
                rows(loc - scale * w_minus),
                pullback,
                shape,
            ),
            "scale": WeakDerivative(
                1.0 / scale,
                rows(loc + scale * maxwell),
                rows(loc + scale * normal),
                pullback,
                shape,
            ),
        }
