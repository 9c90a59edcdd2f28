"""Training control variates: the gradient of the squared gradient estimate."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp

from reparax._api import Estimate, gradient_estimate


def _rebar_options(params):
    return {"temperature": jnp.exp(params["log_temperature"]), "eta": params["eta"]}


def _relax_options(params):
    return {"cv_params": params}


_DEFAULT_OPTIONS = {"rebar": _rebar_options, "relax": _relax_options}


def variance_gradient(
    f: Callable,
    dist: Any,
    key: jax.Array,
    *,
    method: str,
    cv_params: Any,
    num_samples: int = 1,
    to_options: Callable[[Any], dict] | None = None,
    **options: Any,
) -> tuple[Estimate, Any]:
    r"""A gradient estimate and the gradient that trains its control variate.

    For an estimator ĝ(φ) unbiased for every control-variate parameter φ,
    ∂E[ĝ]/∂φ = 0, so ∂E[‖ĝ‖²]/∂φ = ∂Var(ĝ)/∂φ and the single-sample ∂‖ĝ‖²/∂φ is an unbiased
    estimate of it (Grathwohl et al. 2018, §3.3). Both come from one call, so a model update
    and a control-variate update fit in one jit-compiled optax step.

    Args:
      f, dist, key, num_samples: as for ``rx.gradient_estimate``.
      method: ``"rebar"`` (``cv_params`` from ``rx.rebar_init()``), ``"relax"``
        (``cv_params`` from ``rx.relax_init(dist)``) or any method given ``to_options``.
      cv_params: the control variate's parameters (a pytree).
      to_options: maps ``cv_params`` to the method's keyword options (defaults for rebar:
        temperature = exp(log_temperature), eta; for relax: ``cv_params=``).
      **options: further method options (``surrogate=`` for relax).

    Returns:
      ``(Estimate(value, grad), cv_grad)`` where ``cv_grad`` has the structure of
      ``cv_params``.

    Example:
      >>> import jax, jax.numpy as jnp, reparax as rx
      >>> dist = rx.Bernoulli(jnp.zeros(2))
      >>> est, cv_grad = rx.variance_gradient(lambda b: jnp.sum((b - 0.45) ** 2), dist,
      ...     jax.random.key(0), method="rebar", cv_params=rx.rebar_init())
      >>> sorted(cv_grad)
      ['eta', 'log_temperature']
    """
    if to_options is None:
        if method not in _DEFAULT_OPTIONS:
            raise ValueError(
                f"variance_gradient needs `to_options` for method={method!r}; defaults exist "
                f"for {sorted(_DEFAULT_OPTIONS)}."
            )
        to_options = _DEFAULT_OPTIONS[method]

    def squared_norm(params):
        est = gradient_estimate(
            f, dist, key, method=method, num_samples=num_samples, **to_options(params), **options
        )
        return sum(jnp.sum(g**2) for g in jax.tree.leaves(est.grad)), est

    (_, est), cv_grad = jax.value_and_grad(squared_norm, has_aux=True)(cv_params)
    return est, cv_grad
