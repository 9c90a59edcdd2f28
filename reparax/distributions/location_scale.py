"""Explicitly reparameterized location-scale families: z = loc + scale·ε (and LogNormal)."""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np

from reparax.distributions._base import Distribution, distribution, param

_EULER = 0.5772156649015329


class _LocationScale(Distribution):
    """z = loc + scale·ε with ε drawn from ``_standard_noise``; subclasses give the density
    of ε (``_standard_log_prob``), its CDF and its moments."""

    loc: jax.Array
    scale: jax.Array

    reparameterized = True

    def _check_values(self, params):
        if "scale" in params and bool(np.any(params["scale"] <= 0)):
            raise ValueError(f"{type(self).__name__}: `scale` must be > 0.")

    def noise(self, key, sample_shape=()):
        return self._standard_noise(key, tuple(sample_shape) + self.batch_shape, self.dtype)

    def transform(self, noise):
        loc, scale = self.params_like(noise)
        return loc + scale * noise

    def log_prob(self, value):
        loc, scale = self.params_like(value)
        return self._standard_log_prob((value - loc) / scale) - jnp.log(scale)

    def cdf(self, value):
        loc, scale = self.params_like(value)
        return self._standard_cdf((value - loc) / scale)

    def _broadcast(self, x):
        return jnp.broadcast_to(x, self.batch_shape)


@distribution
class Laplace(_LocationScale):
    """Laplace(loc, scale): density exp(−|z − loc|/scale)/(2 scale); ε = −sign(v) log(1 − 2|v|),
    v ~ U(−½, ½)."""

    loc: jax.Array = param()
    scale: jax.Array = param()

    def _standard_noise(self, key, shape, dtype):
        return jax.random.laplace(key, shape, dtype)

    def _standard_log_prob(self, x):
        return -jnp.abs(x) - math.log(2.0)

    def _standard_cdf(self, x):
        return jnp.where(x < 0, 0.5 * jnp.exp(x), 1.0 - 0.5 * jnp.exp(-x))

    def mean(self):
        return self._broadcast(self.loc)

    def variance(self):
        return self._broadcast(2.0 * self.scale**2)

    def entropy(self):
        return self._broadcast(1.0 + jnp.log(2.0 * self.scale))


@distribution
class Logistic(_LocationScale):
    """Logistic(loc, scale): ε = log u − log(1 − u)."""

    loc: jax.Array = param()
    scale: jax.Array = param()

    def _standard_noise(self, key, shape, dtype):
        return jax.random.logistic(key, shape, dtype)

    def _standard_log_prob(self, x):
        return -x - 2.0 * jax.nn.softplus(-x)

    def _standard_cdf(self, x):
        return jax.nn.sigmoid(x)

    def mean(self):
        return self._broadcast(self.loc)

    def variance(self):
        return self._broadcast(self.scale**2 * math.pi**2 / 3.0)

    def entropy(self):
        return self._broadcast(jnp.log(self.scale) + 2.0)


@distribution
class Gumbel(_LocationScale):
    """Gumbel(loc, scale) (maximum): ε = −log(−log u)."""

    loc: jax.Array = param()
    scale: jax.Array = param()

    def _standard_noise(self, key, shape, dtype):
        return jax.random.gumbel(key, shape, dtype)

    def _standard_log_prob(self, x):
        return -(x + jnp.exp(-x))

    def _standard_cdf(self, x):
        return jnp.exp(-jnp.exp(-x))

    def mean(self):
        return self._broadcast(self.loc + _EULER * self.scale)

    def variance(self):
        return self._broadcast(math.pi**2 / 6.0 * self.scale**2)

    def entropy(self):
        return self._broadcast(jnp.log(self.scale) + _EULER + 1.0)


@distribution
class Cauchy(_LocationScale):
    """Cauchy(loc, scale): ε = tan(π(u − ½)). Mean and variance are undefined (NaN); use
    bounded test functions, e.g. E[cos(t z)] = cos(t·loc) exp(−scale·|t|)."""

    loc: jax.Array = param()
    scale: jax.Array = param()

    def _standard_noise(self, key, shape, dtype):
        return jax.random.cauchy(key, shape, dtype)

    def _standard_log_prob(self, x):
        return -jnp.log1p(x**2) - math.log(math.pi)

    def _standard_cdf(self, x):
        return 0.5 + jnp.arctan(x) / math.pi

    def mean(self):
        return jnp.full(self.batch_shape, jnp.nan, self.dtype)

    def variance(self):
        return jnp.full(self.batch_shape, jnp.nan, self.dtype)

    def entropy(self):
        return self._broadcast(jnp.log(4.0 * math.pi * self.scale))


@distribution
class LogNormal(Distribution):
    """LogNormal(loc, scale): z = exp(loc + scale·ε), ε ~ N(0, 1)."""

    loc: jax.Array = param()
    scale: jax.Array = param()

    reparameterized = True

    def _check_values(self, params):
        if "scale" in params and bool(np.any(params["scale"] <= 0)):
            raise ValueError("LogNormal: `scale` must be > 0.")

    def noise(self, key, sample_shape=()):
        return jax.random.normal(key, tuple(sample_shape) + self.batch_shape, self.dtype)

    def transform(self, noise):
        loc, scale = self.params_like(noise)
        return jnp.exp(loc + scale * noise)

    def log_prob(self, value):
        loc, scale = self.params_like(value)
        log_value = jnp.log(value)
        x = (log_value - loc) / scale
        return -0.5 * x**2 - jnp.log(scale) - 0.5 * math.log(2 * math.pi) - log_value

    def cdf(self, value):
        loc, scale = self.params_like(value)
        return jax.scipy.special.ndtr((jnp.log(value) - loc) / scale)

    def mean(self):
        return jnp.broadcast_to(jnp.exp(self.loc + 0.5 * self.scale**2), self.batch_shape)

    def variance(self):
        s2 = self.scale**2
        return jnp.broadcast_to(jnp.expm1(s2) * jnp.exp(2 * self.loc + s2), self.batch_shape)

    def entropy(self):
        h = self.loc + 0.5 + jnp.log(self.scale) + 0.5 * math.log(2 * math.pi)
        return jnp.broadcast_to(h, self.batch_shape)
