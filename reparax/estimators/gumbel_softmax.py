"""Gumbel-softmax / Concrete relaxation (biased)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp

from reparax._keyed import bind_key
from reparax.capabilities import Relaxable
from reparax.estimator import Estimator
from reparax.estimators._relaxation import GUMBEL_SOFTMAX_REFERENCES, check_temperature
from reparax.estimators._sampling import map_samples


def _gumbel_softmax(
    f: Callable[[jax.Array], jax.Array],
    dist: Relaxable,
    key: jax.Array,
    *,
    num_samples: int = 1,
    chunk_size: int | None = None,
    temperature: Any = 1.0,
) -> jax.Array:
    r"""Gumbel-softmax / Concrete relaxation (biased).

    f is evaluated at the relaxed sample y = softmax((θ + G)/τ), G ~ Gumbel(0, 1)
    (binary: y = σ((θ + ℓ)/τ), ℓ logistic), and differentiated pathwise:

    .. math:: ĝ = \frac1N \sum_i ∇_θ f(\mathrm{softmax}((θ + G_i)/τ)).

    Both the value and the gradient are those of the relaxed objective E[f(y)], which
    tends to E[f(z)] as τ → 0 while the variance grows. ``temperature`` may be a traced,
    differentiable array. Biased (for E[f]); its derivatives of every order are those of
    the relaxed objective.

    Args:
      f: maps ONE (relaxed) sample to a scalar; must be defined on the simplex / (0, 1).
      dist: ``OneHotCategorical`` or ``Bernoulli``.
      key: a PRNG key.
      num_samples: N ≥ 1.
      chunk_size: evaluate the samples this many at a time.
      temperature: τ > 0.

    Returns:
      The relaxed objective's Monte Carlo estimate, differentiable pathwise.

    References:
      Jang, Gu & Poole (2017), https://arxiv.org/abs/1611.01144;
      Maddison, Mnih & Teh (2017), https://arxiv.org/abs/1611.00712.
    """
    check_temperature(temperature, "gumbel_softmax")

    def one(sample_key: jax.Array) -> jax.Array:
        cost = bind_key(f, sample_key)
        return cost(dist.relaxed_transform(dist.noise(sample_key), temperature))

    return jnp.mean(map_samples(one, key, num_samples, chunk_size))


gumbel_softmax = Estimator(
    name="gumbel_softmax",
    fn=_gumbel_softmax,
    unbiased=False,
    differentiable_f=True,
    evaluations="1",
    requires=(Relaxable,),
    references=GUMBEL_SOFTMAX_REFERENCES,
)
