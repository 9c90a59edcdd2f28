"""REINFORCE with the leave-one-out baseline (RLOO)."""

from __future__ import annotations

from collections.abc import Callable

import jax

from reparax.capabilities import DistributionLike
from reparax.estimator import Estimator
from reparax.estimators._dice import centre, dice_surrogate, leave_one_out
from reparax.estimators.score_function import REFERENCES, per_sample_values


def _rloo(
    f: Callable[[jax.Array], jax.Array],
    dist: DistributionLike,
    key: jax.Array,
    *,
    num_samples: int = 2,
    chunk_size: int | None = None,
) -> jax.Array:
    r"""REINFORCE with the leave-one-out baseline (RLOO).

    .. math:: ĝ = \frac{1}{N − 1} \sum_i (f(z_i) − \bar f) ∇_θ \log p_θ(z_i)

    which is the score-function estimator with b_i = mean_{j≠i} f(z_j); unbiased because b_i
    does not depend on z_i, at every derivative order (DiCE). Needs ``num_samples ≥ 2``. The
    values are centred on the first one before the baselines are formed, so a large
    constant in f cancels exactly.

    Args:
      f: maps ONE sample to a scalar.
      dist: any distribution whose support does not move with its parameters.
      key: a PRNG key.
      num_samples: N ≥ 2.
      chunk_size: evaluate the samples this many at a time.

    Returns:
      A scalar equal to the Monte Carlo mean of f whose derivative is the estimator.

    Example:
      >>> import jax, jax.numpy as jnp, reparax as rx
      >>> dist = rx.Bernoulli(jnp.zeros(3))
      >>> rx.rloo(lambda b: jnp.sum(b), dist, jax.random.key(0), num_samples=4).shape
      ()

    References:
      Kool, van Hoof & Welling (2019), https://openreview.net/forum?id=r1lgTGL5DE.
    """
    per_sample = per_sample_values(f, dist, key, num_samples, chunk_size)
    values, reference = centre(per_sample["value"])
    return reference + dice_surrogate(values, per_sample["log_prob"], leave_one_out(values))


rloo = Estimator(
    name="rloo",
    fn=_rloo,
    unbiased=True,
    differentiable_f=False,
    evaluations="1",
    requires=(DistributionLike,),
    needs_fixed_support=True,
    min_samples=2,
    auto_rank=20,
    accepts_control_variate=True,
    references=(
        "Kool, van Hoof & Welling 2019, Buy 4 REINFORCE samples, get a baseline for free!, "
        "ICLR workshop, https://openreview.net/forum?id=r1lgTGL5DE",
        *REFERENCES,
    ),
)
