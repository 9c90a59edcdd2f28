"""Training an estimator's control-variate parameters with an optax optimizer.

``rx.variance_gradient`` returns ∂‖ĝ‖²/∂φ, an unbiased estimate of ∂Var(ĝ)/∂φ for an
estimator unbiased for every φ (REBAR's temperature and scale, RELAX's surrogate, a learned
baseline). :func:`variance_trainer` wraps that with an optax ``GradientTransformation``, so
one jit-compiled call returns the gradient estimate for the model and updates φ.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

import chex
import optax

from reparax._api import Estimate
from reparax._variance import variance_gradient


class VarianceTrainerState(NamedTuple):
    """The control variate's parameters and the optimizer's state."""

    cv_params: Any
    opt_state: optax.OptState


class VarianceTrainer(NamedTuple):
    """``init(cv_params) -> state``; ``step(state, f, dist, key) -> (estimate, state)``."""

    init: Callable[[Any], VarianceTrainerState]
    step: Callable[..., tuple[Estimate, VarianceTrainerState]]


def variance_trainer(
    optimizer: optax.GradientTransformation,
    *,
    method: Any,
    num_samples: int = 1,
    to_options: Callable[[Any], dict] | None = None,
    **options: Any,
) -> VarianceTrainer:
    """An optax trainer of ``method``'s control variate (minimising the estimator's variance).

    Args:
      optimizer: any optax ``GradientTransformation`` (e.g. ``optax.adam(1e-2)``).
      method: the estimator (``"rebar"``, ``"relax"``, or any with ``to_options``).
      num_samples, to_options, **options: as for ``rx.variance_gradient``.

    Returns:
      ``VarianceTrainer(init, step)``: pure functions; ``step(state, f, dist, key)`` returns
      the gradient estimate (for the model's own optimizer) and the updated state.

    Example:
      >>> import jax, jax.numpy as jnp, optax, reparax as rx
      >>> trainer = rx.control_variates.variance_trainer(optax.adam(1e-2), method="rebar")
      >>> state = trainer.init(rx.rebar_init())
      >>> f = lambda b: jnp.sum((b - 0.45) ** 2)
      >>> step = jax.jit(trainer.step, static_argnums=1)
      >>> est, state = step(state, f, rx.Bernoulli(jnp.zeros(3)), jax.random.key(0))
      >>> est.grad.logits.shape
      (3,)
    """

    def init(cv_params: Any) -> VarianceTrainerState:
        return VarianceTrainerState(cv_params, optimizer.init(cv_params))

    def step(
        state: VarianceTrainerState, f: Callable, dist: Any, key: chex.PRNGKey
    ) -> tuple[Estimate, VarianceTrainerState]:
        estimate, cv_grad = variance_gradient(
            f,
            dist,
            key,
            method=method,
            cv_params=state.cv_params,
            num_samples=num_samples,
            to_options=to_options,
            **options,
        )
        updates, opt_state = optimizer.update(cv_grad, state.opt_state, state.cv_params)
        return estimate, VarianceTrainerState(
            optax.apply_updates(state.cv_params, updates), opt_state
        )

    return VarianceTrainer(init, step)
