"""Taylor-expansion control variates: the delta method and MuProp.

A control variate h(z; a) with a closed-form expectation enters any estimator Ĝ that is
linear in f (``control_variate=``, see ``reparax.control_variates._apply``) as

.. math:: ĝ = Ĝ[f − β h(·; a)] + β ∇_θ E_{p_θ}[h(z; a)] \big|_{a = θ},

unbiased for any β because E[Ĝ[h]] = ∇_θ E_{p_θ}[h(z; a)] with the anchor a held fixed.
Here h is a Taylor expansion of f around the mean m = E[z] of the anchor; its expectation
needs only the first two moments of the distribution (``Moments``), not its family.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from reparax.capabilities import Moments, has_capability
from reparax.control_variates._apply import ControlVariate


def muprop(f: Callable[[jax.Array], jax.Array]) -> ControlVariate:
    r"""MuProp: the first-order Taylor expansion of f at the mean, h(z) = f(m) + ∇f(m)ᵀ(z − m).

    E_{p_θ}[h] = f(m) + ∇f(m)ᵀ(E_θ[z] − m), so the analytic term is ∇f(m)ᵀ ∂E_θ[z]/∂θ: the
    "deterministic mean-field network" pass of Gu et al. (2016). Needs ``f`` differentiable on
    the convex hull of the support (bits in [0, 1], points of the simplex) and a ``mean``.

    References:
      Gu, Levine, Sutskever & Mnih (2016), MuProp: Unbiased Backpropagation for Stochastic
      Neural Networks, https://arxiv.org/abs/1511.05176.
    """

    def value(anchor: Any, z: jax.Array) -> jax.Array:
        m = anchor.mean()
        f_m, tangent = jax.jvp(f, (m,), (z - m,))
        return f_m + tangent

    def expectation(dist: Any, anchor: Any) -> jax.Array:
        m = anchor.mean()
        f_m, tangent = jax.jvp(f, (m,), (dist.mean() - m,))
        return f_m + tangent

    return ControlVariate(value, expectation)


def _check_moments(dist: Any) -> None:
    """The delta method needs a finite mean and covariance (concrete values are checked)."""
    if not has_capability(dist, Moments):
        raise TypeError(
            "the delta-method control variate needs a distribution with mean() and "
            f"variance(), got {type(dist).__name__}."
        )
    moments = (dist.mean(), dist.variance())
    if all(_is_concrete(m) for m in moments) and not all(
        bool(np.all(np.isfinite(np.asarray(m)))) for m in moments
    ):
        raise ValueError(
            f"control_variate=delta_method(f): {type(dist).__name__} has no finite mean or "
            "variance here (e.g. a Cauchy, or a StudentT with df <= 2), so E[h] does not "
            "exist; use muprop(f) (first order) or no control variate."
        )


def _is_concrete(x: Any) -> bool:
    return not isinstance(x, jax.core.Tracer)


def _flat_covariance(dist: Any) -> jax.Array:
    """Covariance of the flattened sample: ``covariance()`` for one vector-valued event (a
    multivariate normal), else the diagonal of ``variance()`` (independent elements)."""
    if not has_capability(dist, Moments):
        raise TypeError(
            "the delta-method control variate needs a distribution with mean() and "
            f"variance(), got {type(dist).__name__}."
        )
    if dist.event_shape == ():
        return jnp.diag(jnp.ravel(dist.variance()))
    covariance = getattr(dist, "covariance", None)
    if callable(covariance) and dist.batch_shape == ():
        return covariance()
    raise TypeError(
        "the delta-method control variate needs independent scalar elements or one "
        f"vector event with covariance(), got {type(dist).__name__} with batch shape "
        f"{dist.batch_shape} and event shape {dist.event_shape}."
    )


def delta_method(f: Callable[[jax.Array], jax.Array]) -> ControlVariate:
    r"""The second-order Taylor (delta-method) control variate.

    h(z) = f(m) + ∇f(m)ᵀ(z − m) + ½ (z − m)ᵀ ∇²f(m) (z − m), whose expectation under any
    distribution with mean μ and covariance Σ is
    f(m) + ∇f(m)ᵀ(μ − m) + ½[(μ − m)ᵀ∇²f(m)(μ − m) + tr(∇²f(m) Σ)]: Gaussians (Mohamed et
    al. 2020, §7.2), and every family with ``mean()``/``variance()`` (Laplace, Gamma, ...).
    Costs one Hessian of f (D × D) per estimate, not per sample. Needs ``f`` twice
    differentiable at the mean.

    Example:
      >>> import jax, jax.numpy as jnp, reparax as rx
      >>> f = lambda z: jnp.sum(jnp.exp(0.3 * z))
      >>> cv = rx.control_variates.delta_method(f)
      >>> est = rx.gradient_estimate(f, rx.Normal(jnp.zeros(2), 1.0), jax.random.key(0),
      ...     method="score_function", num_samples=8, control_variate=cv)
      >>> est.grad.loc.shape
      (2,)

    References:
      Mohamed, Rosca, Figurnov & Mnih (2020), §7.2, https://arxiv.org/abs/1906.10652.
    """

    def expansion(anchor: Any) -> tuple[jax.Array, jax.Array, jax.Array, jax.Array]:
        m = anchor.mean()
        shape = m.shape
        flat_f = lambda x: f(x.reshape(shape))  # noqa: E731
        m_flat = jnp.ravel(m)
        return m_flat, flat_f(m_flat), jax.grad(flat_f)(m_flat), jax.hessian(flat_f)(m_flat)

    def value(anchor: Any, z: jax.Array) -> jax.Array:
        _flat_covariance(anchor)
        m, f_m, grad, hess = expansion(anchor)
        d = jnp.ravel(z) - m
        return f_m + grad @ d + 0.5 * d @ hess @ d

    def expectation(dist: Any, anchor: Any) -> jax.Array:
        m, f_m, grad, hess = expansion(anchor)
        d = jnp.ravel(dist.mean()) - m
        return f_m + grad @ d + 0.5 * (d @ hess @ d + jnp.sum(hess * _flat_covariance(dist)))

    return ControlVariate(value, expectation, _check_moments)
