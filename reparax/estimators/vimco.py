"""VIMCO: score-function gradients of the multi-sample bound with leave-one-out baselines."""

from __future__ import annotations

from collections.abc import Callable

import jax
import jax.numpy as jnp

from reparax._keyed import bind_key
from reparax.capabilities import DistributionLike
from reparax.estimator import Estimator
from reparax.estimators._bound import REFERENCES, log_mean_exp, vimco_signals
from reparax.estimators._dice import magic_box
from reparax.estimators._sampling import map_samples


def _vimco(
    log_joint: Callable[[jax.Array], jax.Array],
    dist: DistributionLike,
    key: jax.Array,
    *,
    num_samples: int = 2,
    chunk_size: int | None = None,
) -> jax.Array:
    r"""Variational inference for Monte Carlo objectives (VIMCO).

    The K-sample bound L_K = E[log (1/K) Σ_k w_k], w_k = p(x, z_k)/q(z_k), for any q with a
    ``log_prob`` (discrete ones included), by the score function with a per-sample baseline:
    with L̂ = log (1/K) Σ_k w_k and L̂₋ₖ the same with w_k replaced by the geometric mean of
    the others, ŵ₋ₖ = exp(mean_{j≠k} log w_j),

    .. math:: ĝ = \sum_k (L̂ − L̂_{−k}) ∇ \log q(z_k) + \sum_k w̃_k ∇ \log w_k,
              \qquad w̃_k = w_k / \sum_j w_j.

    L̂₋ₖ depends on the other samples only, so the estimator is unbiased for ∇L_K, for q's
    parameters and (through the second sum) for anything ``log_joint`` closes over.
    ``log_joint`` need not be differentiable in z. Everything is in log space
    (``logsumexp``), so a constant in log p cancels and extreme weights stay finite. At
    K = 1 there is no other sample: the baseline is dropped and VIMCO is REINFORCE on
    log w (``rx.score_function`` with f = log p(x, z) − log q(z)), which is allowed. First
    derivatives only: the per-sample baselines are not a DiCE objective of L̂, so second
    derivatives are refused.

    Args:
      log_joint: maps ONE sample z to log p(x, z), a scalar.
      dist: the proposal q, any distribution whose support does not move with its
        parameters.
      key: a PRNG key; sample k uses ``jax.random.split(key, num_samples)[k]``.
      num_samples: K ≥ 1 (≥ 2 for a baseline).
      chunk_size: evaluate the samples this many at a time (same result, bounded memory).

    Returns:
      A scalar equal to log (1/K) Σ_k w_k whose derivative is the estimator.

    Example:
      >>> import jax, jax.numpy as jnp, reparax as rx
      >>> log_joint = lambda b: jnp.sum(b * jnp.array([1.0, -2.0]))
      >>> q = rx.Bernoulli(jnp.zeros(2))
      >>> g = jax.grad(lambda q: rx.multisample_bound(log_joint, q, jax.random.key(0),
      ...                                              method="vimco", num_samples=4))(q)
      >>> g.logits.shape
      (2,)

    References:
      Mnih & Rezende (2016), https://arxiv.org/abs/1602.06725.
    """

    def one(sample_key: jax.Array) -> dict[str, jax.Array]:
        z = dist.sample(sample_key)
        log_q = dist.joint_log_prob(z)
        return {"log_weight": bind_key(log_joint, sample_key)(z) - log_q, "log_q": log_q}

    per_sample = map_samples(one, key, num_samples, chunk_size)
    log_weights, log_q = per_sample["log_weight"], per_sample["log_q"]
    bound = log_mean_exp(log_weights)  # its derivative: Σ_k w̃_k ∇ log w_k
    if num_samples == 1:
        signals = jax.lax.stop_gradient(log_weights)
    else:
        signals = vimco_signals(log_weights)
    # □(log q) − 1 is 0 with derivative ∇log q: the score terms leave the value unchanged.
    return bound + jnp.sum(signals * (magic_box(log_q) - 1.0))


vimco = Estimator(
    name="vimco",
    fn=_vimco,
    unbiased=True,
    differentiable_f=False,
    evaluations="1",
    requires=(DistributionLike,),
    needs_fixed_support=True,
    max_order=1,
    objective="bound",
    references=(
        "Mnih & Rezende 2016, Variational Inference for Monte Carlo Objectives, ICML, "
        "arXiv:1602.06725",
        *REFERENCES,
    ),
)
