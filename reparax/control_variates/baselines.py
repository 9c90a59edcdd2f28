"""Baselines for the score-function family: moving average and a learned (NVIL) baseline.

A baseline b is subtracted from f in the score-function estimator,
ĝ = (f(z) − b) ∇ log p(z), which stays unbiased whenever b does not depend on z. Both
baselines here are pure functions with explicit state (optax style): compute ``b`` from the
current state or parameters, pass it as ``baseline=b`` to ``rx.score_function`` (or
``rx.expectation(..., method="score_function")``), then update the state from the estimate.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp


class MovingAverageState(NamedTuple):
    """The running statistics of :func:`moving_average`.

    Attributes:
      weighted_sum: Σ_s w_s f_s with w_s the product of the decays since step s.
      total_weight: Σ_s w_s, so the debiased average is ``weighted_sum / total_weight``.
      average: the raw exponential moving average m_t = β_t m_{t−1} + (1 − β_t) f_t from 0.
      num_updates: the number of updates so far.
    """

    weighted_sum: jax.Array
    total_weight: jax.Array
    average: jax.Array
    num_updates: jax.Array


class MovingAverage(NamedTuple):
    """``init() -> state``, ``baseline(state) -> b``, ``update(state, value) -> state``."""

    init: Callable[[], MovingAverageState]
    baseline: Callable[[MovingAverageState], jax.Array]
    update: Callable[[MovingAverageState, jax.Array], MovingAverageState]


def _check_state(state: Any) -> None:
    if not isinstance(state, MovingAverageState):
        raise TypeError(
            "moving-average `state` must be the MovingAverageState returned by init() or "
            f"update(), got {type(state).__name__}."
        )
    for name, leaf in zip(state._fields, state):
        if jnp.shape(leaf) != ():
            raise ValueError(
                f"moving-average state field `{name}` must be a scalar, got shape "
                f"{jnp.shape(leaf)}; vmap over states instead of stacking them by hand."
            )


def moving_average(decay: float = 0.9, debias: bool = True, warmup: bool = False) -> MovingAverage:
    r"""An exponential moving average of past values of f, as a score-function baseline.

    .. math:: b_t = \frac{\sum_{s<t} w_{s,t} f_s}{\sum_{s<t} w_{s,t}},
              \qquad w_{s,t} = \prod_{s<r≤t} β_r

    which for a constant decay β_r = β equals the zero-debiased EMA m_t / (1 − β^t) of Adam
    (Kingma & Ba 2015). It is well defined for every decay in [0, 1]: at β = 1 it is the
    running mean of all past values (the removed ``optax.monte_carlo`` baseline divided by
    zero there). Without debiasing it is the raw EMA m_t = β m_{t−1} + (1 − β) f_t started
    from 0. With ``warmup=True`` the decay of update i (from 0) is min(β, (1 + i)/(10 + i))
    (the ``num_updates`` option of TensorFlow's ExponentialMovingAverage): the average
    follows the first values closely and settles to β as training goes on. The baseline uses
    only past values, so the score-function estimate stays unbiased.

    Args:
      decay: β ∈ [0, 1].
      debias: divide by the accumulated weight (default True).
      warmup: use the early-training decay min(β, (1 + i)/(10 + i)) (default False).

    Returns:
      ``MovingAverage(init, baseline, update)``, pure functions (jit/vmap friendly).

    Example:
      >>> import jax.numpy as jnp, reparax as rx
      >>> ma = rx.control_variates.moving_average(decay=0.5)
      >>> state = ma.update(ma.update(ma.init(), 1.0), 3.0)
      >>> float(ma.baseline(state))  # (0.5·1 + 3) / (0.5 + 1)
      2.3333332538604736
    """
    if isinstance(decay, bool) or not isinstance(decay, (int, float)) or not 0.0 <= decay <= 1.0:
        raise ValueError(f"`decay` must be a number in [0, 1], got {decay!r}.")

    def init() -> MovingAverageState:
        zero = jnp.zeros(())
        return MovingAverageState(zero, zero, zero, jnp.zeros((), jnp.int32))

    def baseline(state: MovingAverageState) -> jax.Array:
        _check_state(state)
        if not debias:
            return state.average
        safe = jnp.where(state.total_weight > 0, state.total_weight, 1.0)
        return jnp.where(state.total_weight > 0, state.weighted_sum / safe, 0.0)

    def update(state: MovingAverageState, value: Any) -> MovingAverageState:
        _check_state(state)
        value = jnp.asarray(value)
        if value.shape != ():
            raise ValueError(
                f"moving-average `value` must be a scalar (e.g. Estimate.value), got shape "
                f"{value.shape}."
            )
        value = jax.lax.stop_gradient(value)
        step = state.num_updates.astype(value.dtype)
        rate = jnp.minimum(decay, (1.0 + step) / (10.0 + step)) if warmup else decay
        return MovingAverageState(
            rate * state.weighted_sum + value,
            rate * state.total_weight + 1.0,
            rate * state.average + (1.0 - rate) * value,
            state.num_updates + 1,
        )

    return MovingAverage(init, baseline, update)


class LearnedBaseline(NamedTuple):
    """``baseline(params, inputs) -> b``; ``loss_and_grad(params, inputs, values)``."""

    baseline: Callable[[Any, Any], jax.Array]
    loss_and_grad: Callable[[Any, Any, jax.Array], tuple[jax.Array, Any]]


def learned_baseline(apply_fn: Callable[[Any, Any], jax.Array]) -> LearnedBaseline:
    r"""An input-dependent baseline c_ψ(x) trained by regression onto f (NVIL).

    Mnih & Gregor (2014) subtract c_ψ(x) from the learning signal, where x is whatever the
    distribution is conditioned on (the data point of an amortized posterior), and train ψ
    to minimise (f(z) − c_ψ(x))². Since c_ψ(x) does not depend on z the estimate stays
    unbiased. ``apply_fn(params, inputs)`` is any user function (an MLP, a linear model)
    returning a scalar.

    Args:
      apply_fn: ``apply_fn(params, inputs) -> scalar``.

    Returns:
      ``LearnedBaseline(baseline, loss_and_grad)``: ``baseline`` evaluates c_ψ(x) (with no
      gradient, ready for ``baseline=``); ``loss_and_grad(params, inputs, values)`` returns
      the regression loss mean (f − c_ψ(x))² over ``values`` and its gradient in ``params``.

    References:
      Mnih & Gregor (2014), Neural Variational Inference and Learning in Belief Networks,
      https://arxiv.org/abs/1402.0030.
    """

    def baseline(params: Any, inputs: Any) -> jax.Array:
        value = apply_fn(params, inputs)
        if jnp.shape(value) != ():
            raise ValueError(
                f"the learned baseline must return a scalar, got shape {jnp.shape(value)}."
            )
        return jax.lax.stop_gradient(value)

    def loss(params: Any, inputs: Any, values: jax.Array) -> jax.Array:
        prediction = apply_fn(params, inputs)
        return jnp.mean((jax.lax.stop_gradient(values) - prediction) ** 2)

    def loss_and_grad(params: Any, inputs: Any, values: jax.Array) -> tuple[jax.Array, Any]:
        return jax.value_and_grad(loss)(params, inputs, values)

    return LearnedBaseline(baseline, loss_and_grad)
