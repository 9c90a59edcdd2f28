"""Taylor-expansion control variates: the delta method (Gaussians) and MuProp (discrete).

A control variate h(z; a) with a closed-form expectation enters the score-function
estimator as

.. math:: ĝ = (f(z) − β h(z; a)) ∇_θ \\log p_θ(z) + β ∇_θ E_{p_θ}[h(z; a)] \big|_{a = θ},

unbiased for any β because E[h ∇ log p] = ∇_θ E_{p_θ}[h(z; a)] with the anchor a held
fixed. Here h is a Taylor expansion of f around the mean m = E[z] of the anchor.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp

from reparax.distributions.mvn import MultivariateNormalTriL
from reparax.distributions.normal import Normal


class ControlVariate(NamedTuple):
    """``value(anchor, z)``: h(z; anchor); ``expectation(dist, anchor)``: E_dist[h(·; anchor)]."""

    value: Callable[[Any, jax.Array], jax.Array]
    expectation: Callable[[Any, Any], jax.Array]


def muprop(f: Callable[[jax.Array], jax.Array]) -> ControlVariate:
    r"""MuProp: the first-order Taylor expansion of f at the mean, h(z) = f(m) + ∇f(m)ᵀ(z − m).

    E_{p_θ}[h] = f(m) + ∇f(m)ᵀ(E_θ[z] − m), so the analytic term is ∇f(m)ᵀ ∂E_θ[z]/∂θ: the
    "deterministic mean-field network" pass of Gu et al. (2016). Needs ``f`` differentiable on
    the convex hull of the support (bits in [0, 1], points of the simplex) and a ``mean``.

    References:
      Gu, Levine, Sutskever & Mnih (2016), MuProp: Unbiased Backpropagation for Stochastic
      Neural Networks, https://arxiv.org/abs/1511.05176.
    """

    def value(anchor, z):
        m = anchor.mean()
        f_m, tangent = jax.jvp(f, (m,), (z - m,))
        return f_m + tangent

    def expectation(dist, anchor):
        m = anchor.mean()
        f_m, tangent = jax.jvp(f, (m,), (dist.mean() - m,))
        return f_m + tangent

    return ControlVariate(value, expectation)


def _flat_covariance(dist) -> jax.Array:
    if isinstance(dist, Normal):
        return jnp.diag(jnp.ravel(dist.variance()))
    if isinstance(dist, MultivariateNormalTriL) and dist.batch_shape == ():
        return dist.covariance()
    raise TypeError(
        "the delta-method control variate needs a Normal or an unbatched "
        f"MultivariateNormalTriL, got {type(dist).__name__}."
    )


def delta_method(f: Callable[[jax.Array], jax.Array]) -> ControlVariate:
    r"""The second-order Taylor (delta-method) control variate for Gaussians.

    h(z) = f(m) + ∇f(m)ᵀ(z − m) + ½ (z − m)ᵀ ∇²f(m) (z − m), with expectation under
    N(μ, Σ): f(m) + ∇f(m)ᵀ(μ − m) + ½[(μ − m)ᵀ∇²f(m)(μ − m) + tr(∇²f(m) Σ)].
    Costs one Hessian of f (D × D) per estimate, not per sample.

    References:
      Mohamed, Rosca, Figurnov & Mnih (2020), §7.2, https://arxiv.org/abs/1906.10652.
    """

    def expansion(anchor):
        m = anchor.mean()
        shape = m.shape
        flat_f = lambda x: f(x.reshape(shape))  # noqa: E731
        m_flat = jnp.ravel(m)
        return m_flat, flat_f(m_flat), jax.grad(flat_f)(m_flat), jax.hessian(flat_f)(m_flat)

    def value(anchor, z):
        _flat_covariance(anchor)
        m, f_m, grad, hess = expansion(anchor)
        d = jnp.ravel(z) - m
        return f_m + grad @ d + 0.5 * d @ hess @ d

    def expectation(dist, anchor):
        m, f_m, grad, hess = expansion(anchor)
        d = jnp.ravel(dist.mean()) - m
        return f_m + grad @ d + 0.5 * (d @ hess @ d + jnp.sum(hess * _flat_covariance(dist)))

    return ControlVariate(value, expectation)
