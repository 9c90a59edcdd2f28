"""ReinMax: a second-order (Heun's method) straight-through estimator (biased)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

import jax
import jax.numpy as jnp

from reparax._keyed import bind_key
from reparax.capabilities import OneHot, Relaxable
from reparax.estimator import Estimator
from reparax.estimators._relaxation import check_temperature, straight_through_value
from reparax.estimators._sampling import finite_or_zero, map_samples


class _ReinMaxDistribution(Relaxable, OneHot, Protocol):
    """What ReinMax reads: hard samples as one-hot rows and the class log-probabilities."""


def _softmax_jacobian_times(probs: jax.Array, vector: jax.Array) -> jax.Array:
    """J(p) v = p ⊙ v − p (pᵀv), J(p) = diag(p) − p pᵀ (symmetric), on the last axis."""
    return probs * vector - probs * jnp.sum(probs * vector, axis=-1, keepdims=True)


def _reinmax(
    f: Callable[[jax.Array], jax.Array],
    dist: _ReinMaxDistribution,
    key: jax.Array,
    *,
    num_samples: int = 1,
    chunk_size: int | None = None,
    temperature: Any = 1.0,
) -> jax.Array:
    r"""ReinMax: a second-order (Heun's method) straight-through estimator (biased).

    With π = softmax(θ), the hard sample D (as one-hot rows), p̄ = ½(softmax(θ/τ) + D),
    g = ∂f/∂D and J(p)g = p ⊙ g − p (pᵀg):

    .. math:: ĝ = 2 J(p̄) g − ½ J(π) g.

    The forward value is f(D) exactly. A Bernoulli is read as a two-class categorical
    through its one-hot rows (``to_one_hot``/``from_one_hot``). First derivatives only.

    Args:
      f: maps ONE sample to a scalar; must be differentiable.
      dist: ``OneHotCategorical`` or ``Bernoulli``.
      key: a PRNG key.
      num_samples: N ≥ 1.
      chunk_size: evaluate the samples this many at a time.
      temperature: τ > 0 (the paper recommends τ ≥ 1).

    Returns:
      The Monte Carlo mean of f at hard samples, with the ReinMax gradient.

    References:
      Liu et al. (2023), https://arxiv.org/abs/2304.08612.
    """
    temperature = check_temperature(temperature, "reinmax")  # traced τ ≤ 0: NaN

    def one(sample_key: jax.Array) -> jax.Array:
        hard = dist.to_one_hot(dist.sample(sample_key))
        # Normalized class log-probabilities: finite softmax inputs even at θ = ±inf.
        logits = dist.class_log_probs()
        pi = jax.lax.stop_gradient(jax.nn.softmax(logits, axis=-1))
        p_bar = jax.lax.stop_gradient(0.5 * (jax.nn.softmax(logits / temperature, axis=-1) + hard))
        # −inf logits (probability 0) have zero rows in both Jacobians below.
        logits = finite_or_zero(logits)
        # Linear in θ with the symmetric matrix 2J(p̄) − ½J(π): its VJP applies that matrix.
        linear = 2.0 * _softmax_jacobian_times(p_bar, logits) - 0.5 * _softmax_jacobian_times(
            pi, logits
        )
        cost = bind_key(f, sample_key)
        return cost(dist.from_one_hot(straight_through_value(hard, linear)))

    return jnp.mean(map_samples(one, key, num_samples, chunk_size))


reinmax = Estimator(
    name="reinmax",
    fn=_reinmax,
    unbiased=False,
    differentiable_f=True,
    evaluations="1",
    requires=(Relaxable, OneHot),
    max_order=1,
    references=(
        "Liu, Liu, Gao, Chen & Han 2023, Bridging Discrete and Backpropagation: "
        "Straight-Through and Beyond (ReinMax), NeurIPS, arXiv:2304.08612",
    ),
)
