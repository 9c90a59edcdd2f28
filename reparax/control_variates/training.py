"""Training an estimator's control-variate parameters with an optax optimizer.

``rx.variance_gradient`` returns ∂‖ĝ‖²/∂φ, an unbiased estimate of ∂Var(ĝ)/∂φ for an
estimator unbiased for every φ (REBAR's temperature and scale, RELAX's surrogate, a learned
baseline), for a fixed distribution or an amortized model (``model(params) -> (f, dist)``).
:func:`variance_trainer` wraps that with an optax ``GradientTransformation``, so one
jit-compiled call returns the gradient estimate for the model and updates φ.
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
    """``init(cv_params) -> state``; ``step(state, model, params, key) -> (estimate, state)``
    (or ``step(state, f, dist, key)``)."""

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
    r"""An optax trainer of ``method``'s control variate (minimising the estimator's variance).

    Each step descends ∂‖ĝ‖²/∂φ, an unbiased estimate of ∂ tr Var[ĝ]/∂φ for an estimator
    unbiased for every φ (``rx.variance_gradient``), and returns ĝ for the model's own
    optimizer: one call per jitted training step.

    Args:
      optimizer: any optax ``GradientTransformation`` (e.g. ``optax.adam(1e-2)``).
      method: the estimator: one with a trainable control variate of its own
        (``"rebar"``, ``"relax"``, ``"double_cv"``, ``"rodeo"``: the registry's estimators
        whose ``trainable`` is set), or any with ``to_options``.
      num_samples, to_options: as for ``rx.variance_gradient``.
      **options: the method's options, as for ``rx.variance_gradient``.

    Returns:
      ``VarianceTrainer(init, step)``: pure functions. ``step(state, model, params, key)``
      (an amortized model, ``model(params) -> (f, dist)``, ĝ with respect to ``params``) or
      ``step(state, f, dist, key)`` (ĝ with respect to ``dist``'s leaves) returns the gradient
      estimate and the updated state. Keyword arguments of ``step`` (``to_options=``, method
      options) override those given here, for options built from the step's data, e.g.
      ``to_options=lambda psi: {"baseline": net(psi, x)}``.

    Example:
      >>> import jax, jax.numpy as jnp, optax, reparax as rx
      >>> trainer = rx.control_variates.variance_trainer(optax.adam(1e-2), method="rebar")
      >>> state = trainer.init(rx.rebar_init())
      >>> f = lambda b: jnp.sum((b - 0.45) ** 2)
      >>> step = jax.jit(trainer.step, static_argnums=1)
      >>> est, state = step(state, f, rx.Bernoulli(jnp.zeros(3)), jax.random.key(0))
      >>> est.grad.logits.shape
      (3,)

      An amortized model with a learned baseline c_ψ(x) for the score function:

      >>> x = jnp.array([[1.0, -0.5], [0.2, 0.3]])
      >>> trainer = rx.control_variates.variance_trainer(
      ...     optax.adam(1e-2), method="score_function", num_samples=2)
      >>> state = trainer.init({"w": jnp.zeros(2), "b": jnp.zeros(())})
      >>> @jax.jit
      ... def train_step(params, state, x, key):
      ...     def model(params):
      ...         cost = lambda z: jnp.sum((x - z @ params["dec"]) ** 2)
      ...         return cost, rx.Bernoulli(logits=x @ params["enc"])
      ...     baseline = lambda psi: {"baseline": jnp.sum(x @ psi["w"]) + psi["b"]}
      ...     return trainer.step(state, model, params, key, to_options=baseline)
      >>> params = {"enc": jnp.zeros((2, 3)), "dec": jnp.zeros((3, 2))}
      >>> est, state = train_step(params, state, x, jax.random.key(0))
      >>> est.grad["enc"].shape, state.cv_params["w"].shape
      ((2, 3), (2,))
    """
    defaults = {"num_samples": num_samples, "to_options": to_options, **options}

    def init(cv_params: Any) -> VarianceTrainerState:
        return VarianceTrainerState(cv_params, optimizer.init(cv_params))

    def step(
        state: VarianceTrainerState,
        model: Callable,
        params: Any,
        key: chex.PRNGKey,
        **overrides: Any,
    ) -> tuple[Estimate, VarianceTrainerState]:
        estimate, cv_grad = variance_gradient(
            model,
            params,
            key,
            method=method,
            cv_params=state.cv_params,
            **{**defaults, **overrides},
        )
        updates, opt_state = optimizer.update(cv_grad, state.opt_state, state.cv_params)
        return estimate, VarianceTrainerState(
            optax.apply_updates(state.cv_params, updates), opt_state
        )

    return VarianceTrainer(init, step)
