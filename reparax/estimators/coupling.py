"""Coupled (antithetic) estimators for binary variables: ARM and DisARM."""

from __future__ import annotations

import jax
import jax.numpy as jnp

from reparax._checks import validate
from reparax._registry import register
from reparax.estimators._sampling import linear_probe, map_samples


def _antithetic_pair(f, dist, sample_key):
    noise = jax.lax.stop_gradient(dist.noise(sample_key))
    b1, b2 = dist.antithetic_transform(noise)
    f1, f2 = f(b1), f(b2)
    # Both b₁ and b₂ are exact draws of the distribution: their mean is an unbiased value.
    return noise, b1, b2, f1, f2, 0.5 * (f1 + f2)


@register(
    "arm",
    unbiased=True,
    differentiable_f=False,
    evaluations="2",
    count_evaluations=lambda dist: 2,
    requires=("antithetic_transform",),
    references=(
        "Yin & Zhou 2019, ARM: Augment-REINFORCE-Merge Gradient for Stochastic Binary "
        "Networks, ICLR, arXiv:1807.11143",
    ),
)
def arm(f, dist, key, *, num_samples=1, chunk_size=None):
    r"""ARM (Augment-REINFORCE-Merge) for Bernoulli logits.

    With u ~ U(0, 1)^D, b₁ = 1[u > σ(−θ)] and b₂ = 1[u < σ(θ)] (an antithetic pair),

    .. math:: ĝ = (f(b₁) − f(b₂)) (u − ½).

    Unbiased; 2 f-evaluations per sample. Categorical variants are not implemented: use
    ``indecater``, ``rloo`` or ``exact`` for categoricals.

    Args:
      f: maps ONE sample (floats in {0, 1}) to a scalar.
      dist: a ``Bernoulli``.
      key: a PRNG key.
      num_samples: N ≥ 1.
      chunk_size: evaluate the samples this many at a time.

    Returns:
      A scalar equal to the Monte Carlo mean of f whose derivative is the estimator.

    References:
      Yin & Zhou (2019), https://arxiv.org/abs/1807.11143.
    """
    validate("arm", f, dist, key, num_samples, chunk_size)

    def one(sample_key):
        noise, _, _, f1, f2, value = _antithetic_pair(f, dist, sample_key)
        grad = (f1 - f2) * (jax.nn.sigmoid(noise) - 0.5)
        return value + linear_probe(dist.logits, grad)

    return jnp.mean(map_samples(one, key, num_samples, chunk_size))


@register(
    "disarm",
    unbiased=True,
    differentiable_f=False,
    evaluations="2",
    count_evaluations=lambda dist: 2,
    requires=("antithetic_transform",),
    references=(
        "Dong, Mnih & Tucker 2020, DisARM: An Antithetic Gradient Estimator for Binary Latent "
        "Variables, NeurIPS, arXiv:2006.10680",
        "Yin, Ho, Zhang, Hong & Zhou 2020, Probabilistic Best Subset Selection via "
        "Gradient-Based Optimization (U2G), arXiv:2006.06448",
    ),
)
def disarm(f, dist, key, *, num_samples=1, chunk_size=None):
    r"""DisARM: ARM with the augmentation integrated out (same antithetic pair).

    .. math:: ĝ_d = ½ (f(b₁) − f(b₂)) (−1)^{b_{2,d}} 1[b_{1,d} ≠ b_{2,d}] σ(|θ_d|)

    Unbiased, and never of higher variance than ARM (Dong et al. 2020, Thm. 1); 2
    f-evaluations per sample. Categorical variants are not implemented: use ``indecater``,
    ``rloo`` or ``exact`` for categoricals.

    Args:
      f: maps ONE sample (floats in {0, 1}) to a scalar.
      dist: a ``Bernoulli``.
      key: a PRNG key.
      num_samples: N ≥ 1.
      chunk_size: evaluate the samples this many at a time.

    Returns:
      A scalar equal to the Monte Carlo mean of f whose derivative is the estimator.

    References:
      Dong, Mnih & Tucker (2020), https://arxiv.org/abs/2006.10680.
    """
    validate("disarm", f, dist, key, num_samples, chunk_size)

    def one(sample_key):
        _, b1, b2, f1, f2, value = _antithetic_pair(f, dist, sample_key)
        logits = jnp.broadcast_to(dist.logits, b1.shape)
        sign = 1.0 - 2.0 * b2
        grad = 0.5 * (f1 - f2) * sign * (b1 != b2) * jax.nn.sigmoid(jnp.abs(logits))
        return value + linear_probe(dist.logits, grad)

    return jnp.mean(map_samples(one, key, num_samples, chunk_size))
