"""Double control variates: RLOO plus a learned Taylor control variate (Titsias & Shi 2022)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp

from reparax.capabilities import Relaxable
from reparax.estimator import Estimator, Trainable
from reparax.estimators._dice import centre, dice_surrogate, leave_one_out
from reparax.estimators._loo_gradients import (
    check_cv_params,
    leave_one_out_mean,
    values_and_gradients,
)

DOUBLE_CV_REFERENCE = (
    "Titsias & Shi 2022, Double Control Variates for Gradient Estimation in Discrete Latent "
    "Variable Models, AISTATS, arXiv:2111.05300"
)


def double_cv_init(dist: Relaxable, key: jax.Array) -> dict[str, jax.Array]:
    """Double CV's one parameter, the scale α of the Taylor control variate, at 0 (where the
    estimator is RLOO). ``key`` is unused (the signature of every ``Trainable.init``)."""
    del key
    return {"alpha": jnp.zeros((), dist.dtype)}


def _sum_event(x: jax.Array) -> jax.Array:
    """Sum over every axis but the leading (sample) one."""
    return jnp.sum(x.reshape(x.shape[0], -1), axis=-1)


def _double_cv(
    f: Callable[[jax.Array], jax.Array],
    dist: Relaxable,
    key: jax.Array,
    *,
    num_samples: int = 2,
    chunk_size: int | None = None,
    cv_params: Any = None,
) -> jax.Array:
    r"""Double control variates: RLOO plus a learned Taylor control variate (unbiased).

    With K samples x_k, g_k = ∇f(x_k) (f differentiated in its float input), the
    leave-one-out mean of the others' gradients ḡ₋ₖ = mean_{j≠k} g_j, their mean ḡ, μ = E_q[x]
    and the scale α:

    .. math::
       ĝ = \frac{1}{K}\sum_k \Big[f̃_k − \frac{1}{K−1}\sum_{j≠k} f̃_j\Big] ∇_θ \log q(x_k)
           − α\, ∇_θ\big(ḡ^⊤ μ_θ\big),
       \qquad f̃_k = f(x_k) + α\, ḡ₋ₖ^⊤ (x_k − μ).

    The second control variate α ḡ₋ₖᵀ(x − μ) is the first-order Taylor expansion of f around
    the other samples, so it uses no sample's own value: in expectation its score-function
    term is α ∇_θ(ḡ₋ₖᵀ μ_θ), which the last term subtracts exactly, and the leave-one-out
    terms have mean zero since E[x_j − μ] = 0 independently of x_k. Unbiased for every α; α is
    trained by descending ∂‖ĝ‖²/∂α (``rx.variance_gradient(..., method="double_cv")``).
    α = 0 is RLOO. Same f-evaluations as RLOO (plus one backward pass through f per
    sample). First derivatives only. The value is the mean of the f(x_k).

    Args:
      f: maps ONE sample to a scalar; must be differentiable in its input (floats in
        {0, 1} for a ``Bernoulli``, one-hot rows for a ``OneHotCategorical``).
      dist: a ``Bernoulli`` or ``OneHotCategorical`` (a family with a relaxation, so that
        its samples are floats f can be differentiated at, and with a mean).
      key: a PRNG key.
      num_samples: K ≥ 2.
      chunk_size: evaluate the samples this many at a time.
      cv_params: ``{"alpha": scalar}``; default ``rx.double_cv_init(dist, key)`` (α = 0).

    Returns:
      A scalar equal to the Monte Carlo mean of f whose derivative is the estimator.

    Example:
      One jitted step that updates the logits and trains α on the variance:

      >>> import jax, jax.numpy as jnp, optax, reparax as rx
      >>> f = lambda b: jnp.sum((b - 0.45) ** 2)
      >>> dist, key = rx.Bernoulli(jnp.zeros(4)), jax.random.key(0)
      >>> cv_params = rx.double_cv_init(dist, key)
      >>> optimizer = optax.adam(1e-2)
      >>> @jax.jit
      ... def step(cv_params, state, key):
      ...     est, cv_grad = rx.variance_gradient(f, dist, key, method="double_cv",
      ...                                         cv_params=cv_params, num_samples=4)
      ...     updates, state = optimizer.update(cv_grad, state)
      ...     return optax.apply_updates(cv_params, updates), state, est
      >>> cv_params, state, est = step(cv_params, optimizer.init(cv_params), key)
      >>> est.grad.logits.shape, cv_params["alpha"].shape
      ((4,), ())

    References:
      Titsias & Shi (2022), https://arxiv.org/abs/2111.05300; Kool, van Hoof & Welling
      (2019), https://openreview.net/forum?id=r1lgTGL5DE.
    """
    if cv_params is None:
        cv_params = double_cv_init(dist, key)
    check_cv_params("double_cv", cv_params, jax.eval_shape(double_cv_init, dist, key))
    alpha = cv_params["alpha"]
    per_sample = values_and_gradients(f, dist, key, num_samples, chunk_size)
    values, reference = centre(per_sample["value"])
    mean = dist.mean()
    grads = per_sample["grad"]
    # α ḡ₋ₖᵀ(x_k − μ): the others' Taylor term, so independent of sample k's own value.
    taylor = alpha * _sum_event(
        leave_one_out_mean(grads) * (per_sample["sample"] - jax.lax.stop_gradient(mean)[None])
    )
    # RLOO on f̃ = f + taylor: the baseline of sample k is LOO(f)_k − taylor_k + LOO(taylor)_k.
    baseline = leave_one_out(values) - taylor + leave_one_out(taylor)
    out = reference + dice_surrogate(
        values, per_sample["log_prob"], baseline, trainable_baseline=True
    )
    # −α ∇_θ(ḡᵀ μ_θ): zero-valued, and zero-derivative in α alone (μ − sg(μ) = 0).
    g_mean = jnp.mean(grads, axis=0)
    correction = -alpha * jnp.sum(g_mean * (mean - jax.lax.stop_gradient(mean)))
    return out + correction


double_cv = Estimator(
    name="double_cv",
    fn=_double_cv,
    unbiased=True,
    differentiable_f=True,
    evaluations="1 (+ one backward pass, ∇f)",
    requires=(Relaxable,),
    needs_fixed_support=True,
    min_samples=2,
    max_order=1,
    trainable=Trainable(init=double_cv_init, to_options=lambda params: {"cv_params": params}),
    references=(
        DOUBLE_CV_REFERENCE,
        "Kool, van Hoof & Welling 2019, Buy 4 REINFORCE samples, get a baseline for free!, "
        "ICLR workshop, https://openreview.net/forum?id=r1lgTGL5DE",
    ),
)
