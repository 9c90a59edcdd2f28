"""RODEO: RLOO plus control variates from a discrete Stein operator (Shi et al. 2022)."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any, Protocol

import jax
import jax.numpy as jnp

from reparax.capabilities import LocalReplacements, Relaxable
from reparax.estimator import Estimator, Trainable
from reparax.estimators._dice import centre, dice_surrogate, leave_one_out
from reparax.estimators._loo_gradients import (
    check_cv_params,
    leave_one_out_mean,
    values_and_gradients,
)
from reparax.estimators._sampling import finite_or_zero
from reparax.estimators.double_cv import DOUBLE_CV_REFERENCE

RODEO_REFERENCE = (
    "Shi, Zhou, Hwang, Titsias & Mackey 2022, Gradient Estimation with Discrete Stein "
    "Operators, NeurIPS, arXiv:2202.09497"
)


class _RodeoFamily(Relaxable, LocalReplacements, Protocol):
    """Float samples (a relaxation exists) and one-element replacements (the neighbours)."""


def rodeo_init(dist: _RodeoFamily, key: jax.Array, *, hidden: int = 100) -> dict[str, jax.Array]:
    """RODEO's parameters: the scales α (Stein control variate in the baseline) and β (Stein
    control variate on the gradient), both 0 so that the estimator starts as RLOO, and a
    one-hidden-layer leaky-ReLU network h: R² → R² drawn from ``key`` (as the paper's)."""
    in_key, out_key = jax.random.split(key)
    scale = math.sqrt(2.0 / (2 + hidden))  # Glorot: fan-in 2 (or hidden), fan-out hidden (or 2)
    return {
        "alpha": jnp.zeros((), dist.dtype),
        "beta": jnp.zeros((), dist.dtype),
        "w_in": scale * jax.random.normal(in_key, (2, hidden), dist.dtype),
        "b_in": jnp.zeros((hidden,), dist.dtype),
        "w_out": scale * jax.random.normal(out_key, (hidden, 2), dist.dtype),
        "b_out": jnp.zeros((2,), dist.dtype),
    }


def control_function(params: Any, linear: jax.Array, mean_others: jax.Array) -> jax.Array:
    """h(y) = W₂ᵀ leaky_relu(W₁ᵀ [lin(y), f̄] + b₁) + b₂, two outputs (h₀, h₁) per point.

    Its inputs for sample k are the others' first-order Taylor expansion of f at the point y,
    lin(y) = mean_{j≠k} ∇f(x_j)ᵀ(y − x_j), and their mean value f̄ = mean_{j≠k} f(x_j): both
    independent of x_k, which is what makes the Stein control variates mean zero."""
    inputs = jnp.stack([linear, jnp.broadcast_to(mean_others, linear.shape)], axis=-1)
    pre = inputs @ params["w_in"]
    hidden = jax.nn.leaky_relu(pre + jnp.broadcast_to(params["b_in"], pre.shape), 0.3)
    out = hidden @ params["w_out"]
    return out + jnp.broadcast_to(params["b_out"], out.shape)


def _expected_params(cv_params: Any, dist: _RodeoFamily, key: jax.Array) -> dict[str, Any]:
    """The shapes of ``rodeo_init(dist, key, hidden=H)``, H read from ``cv_params``."""
    b_in: Any = cv_params.get("b_in", 0.0) if isinstance(cv_params, dict) else 0.0
    hidden = jnp.shape(b_in)[0] if jnp.ndim(b_in) == 1 else 100
    return jax.eval_shape(lambda: rodeo_init(dist, key, hidden=hidden))


def _sum_event(x: jax.Array, leading: int) -> jax.Array:
    """Sum over every axis after the first ``leading`` ones."""
    return jnp.sum(x.reshape(x.shape[:leading] + (-1,)), axis=-1)


def _rodeo(
    f: Callable[[jax.Array], jax.Array],
    dist: _RodeoFamily,
    key: jax.Array,
    *,
    num_samples: int = 2,
    chunk_size: int | None = None,
    cv_params: Any = None,
) -> jax.Array:
    r"""RODEO: RLOO plus control variates from a discrete Stein operator (unbiased).

    The Stein operator is the generator of random-scan Gibbs sampling of q (pick one of the D
    elements uniformly, redraw it from its own marginal), which leaves q invariant:

    .. math::
       (\mathcal{A}h)(x) = \frac{1}{D}\sum_{d}\sum_{c} q_d(c)\,\big[h(x_{d←c}) − h(x)\big],
       \qquad E_q[(\mathcal{A}h)(x)] = 0

    for every h, where x_{d←c} is x with element d set to value c (for a Bernoulli: the D
    one-bit flips). With K samples, a learned control function h_k = (h₀, h₁) whose inputs
    come from the other samples only (their Taylor expansion of f at the point and their
    mean value; see :func:`control_function`), and scales α, β:

    .. math::
       ĝ = \frac{1}{K}\sum_k \Big[\Big(f(x_k) − \frac{1}{K−1}\sum_{j≠k}\big(f(x_j)
           + α\,(\mathcal{A}h_{0,j})(x_j)\big)\Big) ∇_θ \log q(x_k)
           + β\,\big(\mathcal{A}[h_{1,k}\, ∇_θ \log q]\big)(x_k)\Big].

    Each added term has mean zero (h_j does not depend on x_j), so ĝ is unbiased for every
    α, β and network; they are trained by descending ∂‖ĝ‖²/∂(α, β, h)
    (``rx.variance_gradient(..., method="rodeo")``). α = β = 0 is RLOO. The neighbours x_{d←c}
    cost evaluations of h and of log q, never of f: the f-evaluations are RLOO's (plus one
    backward pass through f per sample for the Taylor inputs). First derivatives only. The
    value is the mean of the f(x_k).

    Args:
      f: maps ONE sample to a scalar; must be differentiable in its input (floats in
        {0, 1} for a ``Bernoulli``, one-hot rows for a ``OneHotCategorical``).
      dist: a ``Bernoulli`` or ``OneHotCategorical``.
      key: a PRNG key.
      num_samples: K ≥ 2.
      chunk_size: evaluate f on the samples this many at a time.
      cv_params: the dict from ``rx.rodeo_init(dist, key)``; default: that, with a key
        folded from ``key`` (α = β = 0: RLOO until trained).

    Returns:
      A scalar equal to the Monte Carlo mean of f whose derivative is the estimator.

    Example:
      One jitted step that trains α, β and the control network on the variance:

      >>> import jax, jax.numpy as jnp, optax, reparax as rx
      >>> f = lambda b: jnp.sum((b - 0.45) ** 2)
      >>> dist, key = rx.Bernoulli(jnp.zeros(4)), jax.random.key(0)
      >>> cv_params = rx.rodeo_init(dist, key, hidden=8)
      >>> optimizer = optax.adam(1e-2)
      >>> @jax.jit
      ... def step(cv_params, state, key):
      ...     est, cv_grad = rx.variance_gradient(f, dist, key, method="rodeo",
      ...                                         cv_params=cv_params, num_samples=4)
      ...     updates, state = optimizer.update(cv_grad, state)
      ...     return optax.apply_updates(cv_params, updates), state, est
      >>> cv_params, state, est = step(cv_params, optimizer.init(cv_params), key)
      >>> est.grad.logits.shape, sorted(cv_params)
      ((4,), ['alpha', 'b_in', 'b_out', 'beta', 'w_in', 'w_out'])

    References:
      Shi, Zhou, Hwang, Titsias & Mackey (2022), https://arxiv.org/abs/2202.09497;
      Titsias & Shi (2022), https://arxiv.org/abs/2111.05300.
    """
    if cv_params is None:
        cv_params = rodeo_init(dist, jax.random.fold_in(key, 7))
    check_cv_params("rodeo", cv_params, _expected_params(cv_params, dist, key))
    per_sample = values_and_gradients(f, dist, key, num_samples, chunk_size)
    values, reference = centre(per_sample["value"])
    x, grads, log_probs = per_sample["sample"], per_sample["grad"], per_sample["log_prob"]

    # The control function's inputs for sample k, from the other samples only (uncentred
    # values: centring on the first sample would make sample 0's inputs depend on x_0).
    mean_others = leave_one_out_mean(jax.lax.stop_gradient(per_sample["value"]))
    grads_others = leave_one_out_mean(grads)
    offset = leave_one_out_mean(_sum_event(grads * x, 1))  # mean_{j≠k} ∇f(x_j)ᵀ x_j
    rows = jax.vmap(dist.local_replacements)(x)  # (K, D, C, *sample): the neighbours
    num_elements, num_classes = rows.shape[1], rows.shape[2]
    broadcast = grads_others.reshape((num_samples, 1, 1) + grads_others.shape[1:])
    linear_rows = _sum_event(broadcast * rows, 3) - offset[:, None, None]
    linear_x = _sum_event(grads_others * x, 1) - offset
    h_rows = control_function(cv_params, linear_rows, mean_others[:, None, None])  # (K,D,C,2)
    h_x = control_function(cv_params, linear_x, mean_others)  # (K, 2)

    # The Gibbs generator's rates q_d(c)/D, held fixed (the identity holds at fixed θ).
    rates = jax.lax.stop_gradient(
        jnp.exp(dist.class_log_probs()).reshape(num_elements, num_classes) / num_elements
    )

    def stein(at_rows: jax.Array, at_x: jax.Array) -> jax.Array:
        return jnp.sum(rates[None] * (at_rows - at_x[:, None, None]), axis=(1, 2))

    # α (A h₀)(x_j) enters the leave-one-out baseline of every other sample k ≠ j.
    stein_baseline = cv_params["alpha"] * stein(h_rows[..., 0], h_x[:, 0])
    baseline = leave_one_out(values) + leave_one_out(stein_baseline)
    out = reference + dice_surrogate(values, log_probs, baseline, trainable_baseline=True)

    # β A[h₁ ∇_θ log q](x_k): zero-valued terms whose θ-derivative is the control variate.
    def score(log_prob: jax.Array) -> jax.Array:
        # log q − sg(log q): value 0, derivative ∇_θ log q (0 at an impossible neighbour).
        return finite_or_zero(log_prob - jax.lax.stop_gradient(log_prob))

    log_probs_rows = jax.vmap(jax.vmap(jax.vmap(dist.joint_log_prob)))(rows)
    stein_gradient = stein(h_rows[..., 1] * score(log_probs_rows), h_x[:, 1] * score(log_probs))
    return out + cv_params["beta"] * jnp.mean(stein_gradient)


rodeo = Estimator(
    name="rodeo",
    fn=_rodeo,
    unbiased=True,
    differentiable_f=True,
    evaluations="1 (+ one backward pass, ∇f; the D·K neighbours cost log q and h, not f)",
    requires=(Relaxable, LocalReplacements),
    needs_fixed_support=True,
    min_samples=2,
    max_order=1,
    trainable=Trainable(init=rodeo_init, to_options=lambda params: {"cv_params": params}),
    references=(RODEO_REFERENCE, DOUBLE_CV_REFERENCE),
)
