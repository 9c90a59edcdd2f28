"""The straight-through estimator (biased)."""

from __future__ import annotations

from collections.abc import Callable

import jax
import jax.numpy as jnp

from reparax._keyed import bind_key
from reparax.capabilities import Relaxable
from reparax.estimator import Estimator
from reparax.estimators._relaxation import straight_through_value
from reparax.estimators._sampling import map_samples


def _straight_through(
    f: Callable[[jax.Array], jax.Array],
    dist: Relaxable,
    key: jax.Array,
    *,
    num_samples: int = 1,
    chunk_size: int | None = None,
) -> jax.Array:
    r"""Straight-through estimator (biased).

    The forward pass uses the hard sample D exactly; the backward pass treats it as the
    probabilities p (softmax(θ), or σ(θ) for bits): z = D + p − stop_gradient(p), so

    .. math:: ĝ = \frac1N \sum_i (∂p/∂θ)^⊤ ∇_z f(z)|_{z = D_i}.

    First derivatives only (the straight-through rule defines no second derivative).

    Args:
      f: maps ONE sample to a scalar; must be differentiable.
      dist: ``OneHotCategorical`` or ``Bernoulli``.
      key: a PRNG key.
      num_samples: N ≥ 1.
      chunk_size: evaluate the samples this many at a time.

    Returns:
      The Monte Carlo mean of f at hard samples (exact forward values), with the
      straight-through gradient.

    References:
      Bengio, Léonard & Courville (2013), https://arxiv.org/abs/1308.3432.
    """

    def one(sample_key: jax.Array) -> jax.Array:
        cost = bind_key(f, sample_key)
        return cost(straight_through_value(dist.sample(sample_key), dist.mean()))

    return jnp.mean(map_samples(one, key, num_samples, chunk_size))


straight_through = Estimator(
    name="straight_through",
    fn=_straight_through,
    unbiased=False,
    differentiable_f=True,
    evaluations="1",
    requires=(Relaxable,),
    max_order=1,
    references=(
        "Bengio, Léonard & Courville 2013, Estimating or Propagating Gradients Through "
        "Stochastic Neurons for Conditional Computation, arXiv:1308.3432",
    ),
)
