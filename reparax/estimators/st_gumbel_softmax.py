"""Straight-through Gumbel-softmax (biased)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp

from reparax._keyed import bind_key
from reparax.capabilities import Relaxable
from reparax.estimator import Estimator
from reparax.estimators._relaxation import (
    GUMBEL_SOFTMAX_REFERENCES,
    check_temperature,
    straight_through_value,
)
from reparax.estimators._sampling import map_samples


def _st_gumbel_softmax(
    f: Callable[[jax.Array], jax.Array],
    dist: Relaxable,
    key: jax.Array,
    *,
    num_samples: int = 1,
    chunk_size: int | None = None,
    temperature: Any = 1.0,
) -> jax.Array:
    r"""Straight-through Gumbel-softmax (biased).

    Forward: the hard sample D = one_hot(argmax(θ + G)). Backward: through the relaxed
    sample y = softmax((θ + G)/τ) of the same Gumbel noise: z = D + y − stop_gradient(y).
    First derivatives only.

    Args:
      f: maps ONE sample to a scalar; must be differentiable.
      dist: ``OneHotCategorical`` or ``Bernoulli``.
      key: a PRNG key.
      num_samples: N ≥ 1.
      chunk_size: evaluate the samples this many at a time.
      temperature: τ > 0 (may be traced).

    Returns:
      The Monte Carlo mean of f at hard samples, with the ST-Gumbel-softmax gradient.

    References:
      Jang, Gu & Poole (2017), https://arxiv.org/abs/1611.01144.
    """
    check_temperature(temperature, "st_gumbel_softmax")

    def one(sample_key: jax.Array) -> jax.Array:
        noise = dist.noise(sample_key)
        soft = dist.relaxed_transform(noise, temperature)
        return bind_key(f, sample_key)(straight_through_value(dist.transform(noise), soft))

    return jnp.mean(map_samples(one, key, num_samples, chunk_size))


st_gumbel_softmax = Estimator(
    name="st_gumbel_softmax",
    fn=_st_gumbel_softmax,
    unbiased=False,
    differentiable_f=True,
    evaluations="1",
    requires=(Relaxable,),
    max_order=1,
    references=GUMBEL_SOFTMAX_REFERENCES,
)
