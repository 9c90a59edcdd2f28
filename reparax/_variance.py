"""Training control variates: the gradient of the squared gradient estimate."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp

from reparax import _registry
from reparax._api import Estimate
from reparax.estimator import Estimator


def variance_gradient(
    f: Callable,
    dist: Any,
    key: jax.Array,
    *,
    method: str | Estimator,
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
      method: an estimator with trainable control-variate parameters (``Estimator.trainable``:
        ``"rebar"``, ``"relax"``), or any method given ``to_options``.
      cv_params: the control variate's parameters (a pytree; ``rx.rebar_init()``,
        ``rx.relax_init(dist, key)``, or ``rx.methods()[name].trainable.init(dist, key)``).
      to_options: maps ``cv_params`` to the method's keyword options (default: the
        estimator's own ``trainable.to_options``).
      **options: further method options (``surrogate=`` for relax).

    Returns:
      ``(Estimate(value, grad), cv_grad)`` where ``cv_grad`` has the structure of
      ``cv_params``.

    Example:
      >>> import jax, jax.numpy as jnp, optax, reparax as rx
      >>> dist = rx.Bernoulli(jnp.zeros(2))
      >>> f = lambda b: jnp.sum((b - 0.45) ** 2)
      >>> optimizer = optax.adam(1e-2)
      >>> cv_params = rx.rebar_init()
      >>> @jax.jit
      ... def cv_step(cv_params, opt_state, key):
      ...     est, cv_grad = rx.variance_gradient(f, dist, key, method="rebar",
      ...                                         cv_params=cv_params)
      ...     updates, opt_state = optimizer.update(cv_grad, opt_state)
      ...     return optax.apply_updates(cv_params, updates), opt_state, est
      >>> cv_params, opt_state, est = cv_step(cv_params, optimizer.init(cv_params),
      ...                                     jax.random.key(0))
      >>> sorted(cv_params)
      ['eta', 'log_temperature']
    """
    estimator = _registry.lookup(method)
    if to_options is None:
        if estimator.trainable is None:
            trainable = [e.name for e in _registry.estimators() if e.trainable is not None]
            raise ValueError(
                f"variance_gradient needs `to_options` for method={estimator.name!r} (it has no "
                f"trainable control variate of its own); estimators that have one: "
                f"{', '.join(trainable)}."
            )
        to_options = estimator.trainable.to_options

    example = {**options, **to_options(cv_params)}
    chunk_size = example.pop("chunk_size", None)
    estimator.validate(
        f, dist, key, num_samples=num_samples, chunk_size=chunk_size, options=example
    )

    def squared_norm(params: Any) -> tuple[jax.Array, Estimate]:
        def objective(d: Any) -> jax.Array:
            # ∂ĝ/∂φ is a mixed derivative the trainable estimators give exactly.
            return estimator.surrogate(
                f,
                d,
                key,
                num_samples=num_samples,
                guard_order=False,
                **to_options(params),
                **options,
            )

        value, grad = jax.value_and_grad(objective)(dist)
        total = sum((jnp.sum(g**2) for g in jax.tree.leaves(grad)), start=jnp.zeros(()))
        return total, Estimate(value, grad)

    (_, est), cv_grad = jax.value_and_grad(squared_norm, has_aux=True)(cv_params)
    return est, cv_grad
