"""Gapped straight-through (GST): ST-Gumbel-softmax's properties without resampling (biased)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp

from reparax._checks import positive_or_nan
from reparax._keyed import bind_key
from reparax.capabilities import OneHot
from reparax.estimator import Estimator
from reparax.estimators._relaxation import check_temperature, straight_through_value
from reparax.estimators._sampling import map_samples


def check_gap(gap: Any) -> Any:
    """The gap κ: one positive finite scalar (a Python number, or a 0-d array that may be
    traced: learned, or vmapped over). A concrete κ ≤ 0 (or inf, NaN) is refused here; a
    traced one cannot be read at trace time, so an invalid traced κ makes the estimate and
    its gradient NaN (as invalid traced distribution parameters do) instead of a silently
    ungapped gradient. Returns the κ to use."""
    check_temperature(gap, "gapped_straight_through", name="gap")
    if jnp.ndim(gap) != 0:
        raise ValueError(
            "method='gapped_straight_through': `gap` must be a scalar κ > 0 (a Python float, "
            f"or a 0-d array that may be traced), got an array of shape {jnp.shape(gap)}. "
            "For one gap per batch element, jax.vmap over the elements and their gaps."
        )
    return positive_or_nan(gap)


def gapped_logits(logits: jax.Array, hard: jax.Array, gap: Any) -> jax.Array:
    r"""The GST perturbation m = θ + sg(m − θ) of ``logits`` θ for the one-hot ``hard`` rows.

    The sampled class is lifted to the largest logit and every other class is held at least
    ``gap`` below it (classes already that far below are left alone):

    .. math:: m_D = \max_j θ_j, \qquad m_j = \min(θ_j, \max_k θ_k − κ) \quad (j ≠ D).

    The move is computed from θ held fixed, so ∂m/∂θ is the identity. A class of probability
    0 (θ_j = −inf) stays at −inf with no derivative (its move, −inf − −inf, is dropped).
    """
    fixed = jax.lax.stop_gradient(logits)
    top = jnp.max(fixed, axis=-1, keepdims=True)
    target = jnp.where(hard > 0, top, jnp.minimum(fixed, top - gap))
    # Only the −inf classes' moves are dropped (not every non-finite one: a NaN gap, an
    # invalid traced κ poisoned by `check_gap`, must reach the estimate).
    return logits + jnp.where(fixed == -jnp.inf, 0.0, target - fixed)


def _gapped_straight_through(
    f: Callable[[jax.Array], jax.Array],
    dist: OneHot,
    key: jax.Array,
    *,
    num_samples: int = 1,
    chunk_size: int | None = None,
    temperature: Any = 1.0,
    gap: Any = 1.0,
) -> jax.Array:
    r"""Gapped straight-through (GST-κ) estimator (biased).

    Fan et al. (2022) keep the two properties of ST-Gumbel-softmax they find essential, a
    relaxation consistent with the hard sample and a gap between the sampled logit and the
    others, but replace the Gumbel noise (which must be drawn given the sample) by a
    deterministic move of the logits θ. With D the hard sample (one-hot) and κ the gap:

    .. math:: m_D = \max_j θ_j, \quad m_j = \min(θ_j, \max_k θ_k − κ)\ (j ≠ D), \quad
              m = θ + \mathrm{sg}(m − θ),

    .. math:: z = D + \mathrm{softmax}(m/τ) − \mathrm{sg}(\mathrm{softmax}(m/τ)),
              \qquad ĝ = \frac1N \sum_i ∇_θ f(z_i).

    The forward value is f(D) exactly; the backward pass differentiates softmax(m/τ), whose
    argmax is D with a margin of at least κ. A Bernoulli is read as a two-class categorical
    through its one-hot rows (``to_one_hot``/``from_one_hot``; θ = its class
    log-probabilities, which give the same softmax as any shift of them). First derivatives
    only.

    Args:
      f: maps ONE sample to a scalar; must be differentiable.
      dist: ``OneHotCategorical`` or ``Bernoulli``.
      key: a PRNG key.
      num_samples: N ≥ 1.
      chunk_size: evaluate the samples this many at a time.
      temperature: τ > 0 of the softmax (may be traced).
      gap: κ > 0, a scalar (a Python float, or a 0-d array that may be traced: a traced
        κ ≤ 0 makes the estimate NaN); the paper's GST-1.0 (its default) has κ = 1.

    Returns:
      The Monte Carlo mean of f at hard samples, with the GST gradient.

    Example:
      >>> import jax, jax.numpy as jnp, reparax as rx
      >>> dist = rx.OneHotCategorical(jnp.array([0.5, -0.3, 1.2]))
      >>> f = lambda z: jnp.sum(z * jnp.array([1.0, 2.0, 3.0]))
      >>> est = rx.gradient_estimate(f, dist, jax.random.key(0),
      ...                            method="gapped_straight_through", num_samples=8)
      >>> est.grad.logits.shape
      (3,)

    References:
      Fan, Chi, Rudnicky & Ramadge (2022), https://arxiv.org/abs/2206.07235.
    """
    check_temperature(temperature, "gapped_straight_through")
    temperature = positive_or_nan(temperature)
    gap = check_gap(gap)

    def one(sample_key: jax.Array) -> jax.Array:
        hard = jax.lax.stop_gradient(dist.to_one_hot(dist.sample(sample_key)))
        moved = gapped_logits(dist.class_log_probs(), hard, gap)
        soft = jax.nn.softmax(moved / temperature, axis=-1)
        return bind_key(f, sample_key)(dist.from_one_hot(straight_through_value(hard, soft)))

    return jnp.mean(map_samples(one, key, num_samples, chunk_size))


gapped_straight_through = Estimator(
    name="gapped_straight_through",
    fn=_gapped_straight_through,
    unbiased=False,
    differentiable_f=True,
    evaluations="1",
    requires=(OneHot,),
    max_order=1,
    references=(
        "Fan, Chi, Rudnicky & Ramadge 2022, Training Discrete Deep Generative Models via "
        "Gapped Straight-Through Estimator, ICML, arXiv:2206.07235",
    ),
)
