"""Multivariate normal parameterized by a lower-triangular Cholesky factor."""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp

from reparax import constraints
from reparax.distributions._base import Shape, distribution, param
from reparax.distributions._explicit import ExplicitReparameterization
from reparax.distributions._weak_derivative import WeakDerivative
from reparax.distributions._weak_samplers import weibull_2_sqrt2

_LOG_2PI = math.log(2.0 * math.pi)


@distribution
class MultivariateNormalTriL(ExplicitReparameterization):
    """N(loc, L Lᵀ) with L = ``scale_tril``: z = loc + L ε, ε ~ N(0, I).

    Args:
      loc: mean, shape ``batch + (D,)``.
      scale_tril: lower-triangular ``batch + (D, D)`` with a positive diagonal; its upper
        triangle is ignored.
    """

    loc: jax.Array = param(constraints.real, event_ndims=1)
    scale_tril: jax.Array = param(constraints.lower_cholesky, event_ndims=2)

    def _check_shapes(self) -> None:
        super()._check_shapes()
        d_loc = jnp.shape(self.loc)[-1]
        d_tril = jnp.shape(self.scale_tril)[-2:]
        if d_tril != (d_loc, d_loc):
            raise ValueError(
                "MultivariateNormalTriL: `scale_tril` must end in (D, D) with D = "
                f"loc.shape[-1] = {d_loc}; got scale_tril of shape {jnp.shape(self.scale_tril)}."
            )

    @property
    def event_shape(self) -> Shape:
        return (int(jnp.shape(self.loc)[-1]),)

    def _tril(self) -> jax.Array:
        return jnp.tril(self.scale_tril)

    def _loc_tril_like(self, value: jax.Array) -> tuple[jax.Array, jax.Array]:
        shape = jnp.shape(value)
        loc = jnp.broadcast_to(self.loc, shape)
        tril = jnp.broadcast_to(self._tril(), shape + shape[-1:])
        return loc, tril

    def noise(self, key: jax.Array, sample_shape: Shape = ()) -> jax.Array:
        shape = tuple(sample_shape) + self.batch_shape + self.event_shape
        return jax.random.normal(key, shape, self.dtype)

    def transform(self, noise: jax.Array) -> jax.Array:
        loc, tril = self._loc_tril_like(noise)
        return loc + jnp.einsum("...ij,...j->...i", tril, noise)

    def whiten(self, value: jax.Array) -> jax.Array:
        """ε = L⁻¹ (z − loc)."""
        loc, tril = self._loc_tril_like(value)
        return jax.scipy.linalg.solve_triangular(tril, (value - loc)[..., None], lower=True)[..., 0]

    def log_prob(self, value: jax.Array) -> jax.Array:
        _, tril = self._loc_tril_like(value)
        eps = self.whiten(value)
        log_det = jnp.sum(jnp.log(jnp.diagonal(tril, axis1=-2, axis2=-1)), axis=-1)
        return -0.5 * jnp.sum(eps**2, axis=-1) - log_det - 0.5 * self.event_shape[0] * _LOG_2PI

    def mean(self) -> jax.Array:
        return jnp.broadcast_to(self.loc, self.batch_shape + self.event_shape)

    def covariance(self) -> jax.Array:
        tril = jnp.broadcast_to(self._tril(), self.batch_shape + 2 * self.event_shape)
        return tril @ jnp.swapaxes(tril, -1, -2)

    def variance(self) -> jax.Array:
        return jnp.diagonal(self.covariance(), axis1=-2, axis2=-1)

    def entropy(self) -> jax.Array:
        tril = jnp.broadcast_to(self._tril(), self.batch_shape + 2 * self.event_shape)
        log_det = jnp.sum(jnp.log(jnp.diagonal(tril, axis1=-2, axis2=-1)), axis=-1)
        return 0.5 * self.event_shape[0] * (1.0 + _LOG_2PI) + log_det

    def weak_derivative(
        self, key: jax.Array, sample: jax.Array, coupled: bool = True
    ) -> dict[str, WeakDerivative]:
        """Measure-valued derivative for ``loc`` only (Mohamed et al. 2020, §6).

        In whitened coordinates ν = L⁻¹ loc the density factorizes into unit normals, so
        ∂/∂ν_j has the Weibull decomposition with c = 1/√(2π) and p± replacing ε_j by ±W;
        the gradient for ``loc`` is L⁻ᵀ ∂/∂ν. ``scale_tril`` has no decomposition here: the
        measure-valued estimator falls back to the score function for it.
        """
        batch, (dim,) = self.batch_shape, self.event_shape
        n = math.prod(batch)
        tril = jnp.broadcast_to(self._tril(), batch + (dim, dim)).reshape(n, dim, dim)
        z = sample.reshape(n, dim)
        eps = self.whiten(sample).reshape(n, dim)
        k_plus, k_minus = jax.random.split(key)
        w_plus = weibull_2_sqrt2(k_plus, (n, dim), self.dtype)
        w_minus = w_plus if coupled else weibull_2_sqrt2(k_minus, (n, dim), self.dtype)
        batch_eye = jnp.eye(n, dtype=z.dtype)[:, None, :, None]  # (b, j, b', i)

        def rows(new_eps: jax.Array) -> jax.Array:
            # Row (b, j): z with batch element b moved by L_b[:, j] (new_eps_bj − eps_bj).
            delta = jnp.swapaxes(tril, -1, -2) * (new_eps - eps)[..., None]  # (b, j, i)
            moved = z[None, None] + batch_eye * delta[:, :, None, :]
            return moved.reshape((n * dim,) + batch + (dim,))

        def pullback(g: jax.Array) -> jax.Array:
            g = g.reshape(n, dim, 1)
            grad = jax.scipy.linalg.solve_triangular(tril, g, lower=True, trans="T")
            return grad.reshape(batch + (dim,))

        scale = jnp.full((n * dim,), 1.0 / math.sqrt(2.0 * math.pi), self.dtype)
        return {
            "loc": WeakDerivative(scale, rows(w_plus), rows(-w_minus), pullback, batch + (dim,))
        }
