"""Student's t distribution, a Normal scaled by an inverse-Gamma draw."""

from __future__ import annotations

import jax
import jax.numpy as jnp
from jax.scipy.special import betainc, betaln, digamma, gammaln

from reparax import constraints
from reparax.distributions._base import Distribution, Shape, distribution, param
from reparax.distributions._log_gamma import log_standard_gamma


@distribution
class StudentT(Distribution):
    """StudentT(df ν, loc, scale): z = loc + scale·ε·√(ν/(2G)), ε ~ N(0, 1),
    G ~ Gamma(ν/2, 1). Pathwise gradients for all three parameters, ν included (through
    the Gamma draw's implicit derivative); ν from 0.5 to 1e4 is finite.

    ``mean`` is NaN for ν ≤ 1 and ``variance`` is NaN for ν ≤ 1, +inf for 1 < ν ≤ 2.

    Args:
      df: ν > 0.
      loc: location.
      scale: > 0.
    """

    df: jax.Array = param(constraints.positive)
    loc: jax.Array = param(constraints.real)
    scale: jax.Array = param(constraints.positive)

    def rsample(self, key: jax.Array, sample_shape: Shape = ()) -> jax.Array:
        shape = tuple(sample_shape) + self.batch_shape
        key_normal, key_gamma = jax.random.split(key)
        df = jnp.broadcast_to(self.df, shape)
        log_g = log_standard_gamma(0.5 * df, key_gamma)
        normal = jax.random.normal(key_normal, shape, self.dtype)
        t = normal * jnp.exp(0.5 * (jnp.log(df) - jnp.log(2.0) - log_g))
        return jnp.broadcast_to(self.loc, shape) + jnp.broadcast_to(self.scale, shape) * t

    def log_prob(self, value: jax.Array) -> jax.Array:
        df, loc, scale = self._params_like(value)
        x = (value - loc) / scale
        return (
            gammaln(0.5 * (df + 1.0))
            - gammaln(0.5 * df)
            - 0.5 * jnp.log(df * jnp.pi)
            - jnp.log(scale)
            - 0.5 * (df + 1.0) * jnp.log1p(x**2 / df)
        )

    def cdf(self, value: jax.Array) -> jax.Array:
        df, loc, scale = self._params_like(value)
        x = (value - loc) / scale
        tail = 0.5 * betainc(0.5 * df, 0.5, df / (df + x**2))
        return jnp.where(x > 0, 1.0 - tail, tail)

    def mean(self) -> jax.Array:
        df = self._broadcast(self.df)
        return jnp.where(df > 1, self._broadcast(self.loc), jnp.nan)

    def variance(self) -> jax.Array:
        df = self._broadcast(self.df)
        scale = self._broadcast(self.scale)
        safe = jnp.where(df > 2, df, 3.0)
        var = scale**2 * safe / (safe - 2.0)
        return jnp.where(df > 2, var, jnp.where(df > 1, jnp.inf, jnp.nan))

    def entropy(self) -> jax.Array:
        df, scale = self.df, self.scale
        h = (
            0.5 * (df + 1.0) * (digamma(0.5 * (df + 1.0)) - digamma(0.5 * df))
            + 0.5 * jnp.log(df)
            + betaln(0.5 * df, 0.5)
            + jnp.log(scale)
        )
        return self._broadcast(h)
