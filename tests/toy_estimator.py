"""A toy estimator defined outside the package: REINFORCE with the mean of the *other*
samples' costs as a baseline, written from scratch on the public authoring surface, for
finite families (declaring `FiniteClasses` keeps the contract suite's extra pairs to three)."""

from __future__ import annotations

from collections.abc import Callable

import jax
import jax.numpy as jnp

import reparax as rx
from reparax.capabilities import FiniteClasses


def _toy(
    f: Callable[[jax.Array], jax.Array],
    dist: FiniteClasses,
    key: jax.Array,
    *,
    num_samples: int = 2,
    chunk_size: int | None = None,
) -> jax.Array:
    """Leave-one-out REINFORCE, written directly: mean_i (f_i − b_i)(l_i − sg l_i) + f_i."""
    del chunk_size
    samples = dist.sample(key, (num_samples,))
    values = jax.vmap(f)(samples)
    log_probs = jax.vmap(dist.joint_log_prob)(samples)
    baseline = (jnp.sum(values) - values) / (num_samples - 1)
    signal = jax.lax.stop_gradient(values - baseline)
    return jnp.mean(values + signal * (log_probs - jax.lax.stop_gradient(log_probs)))


toy_score_function = rx.Estimator(
    name="toy_loo",
    fn=_toy,
    unbiased=True,
    differentiable_f=False,
    evaluations="1",
    requires=(FiniteClasses,),
    needs_fixed_support=True,
    min_samples=2,
    auto_rank=99,
    max_order=1,
    references=("A test fixture",),
)
