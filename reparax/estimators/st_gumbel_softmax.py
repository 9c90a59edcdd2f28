"""Straight-through Gumbel-softmax (biased)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp

from reparax._checks import positive_or_nan
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
    backward_temperature: Any = None,
) -> jax.Array:
    r"""Straight-through Gumbel-softmax (biased), with decoupled temperatures as an option.

    Forward: the hard sample D = one_hot(argmax(θ + G)). Backward: through the relaxed
    sample y = softmax((θ + G)/τ_b) of the same Gumbel noise (binary: σ((θ + ℓ)/τ_b)):

    .. math:: z = D + y − \mathrm{sg}(y), \qquad ĝ = \frac1N \sum_i ∇_θ f(z_i).

    Decoupled ST-GS (Shah et al. 2024) gives the two passes their own temperatures: the
    forward pass discretizes the τ_f-relaxed sample, D = one_hot(argmax softmax((θ + G)/τ_f)),
    and the backward pass differentiates the τ_b-relaxed one. Dividing by τ_f > 0 keeps the
    order of θ + G, so D is the same hard sample, drawn from the given distribution, for
    every τ_f: once τ_b = ``backward_temperature`` is given, τ_f = ``temperature`` changes
    nothing and the estimate is ST-GS at τ_b. ``backward_temperature=None`` (the default)
    is ST-GS with τ_b = τ_f, bit for bit as before. First derivatives only.

    Args:
      f: maps ONE sample to a scalar; must be differentiable.
      dist: ``OneHotCategorical`` or ``Bernoulli``.
      key: a PRNG key.
      num_samples: N ≥ 1.
      chunk_size: evaluate the samples this many at a time.
      temperature: τ_f > 0 (may be traced); also the backward temperature unless
        ``backward_temperature`` is given.
      backward_temperature: τ_b > 0 of the relaxed sample differentiated in the backward
        pass (may be traced); ``None``: τ_b = τ_f (plain ST-Gumbel-softmax).

    Returns:
      The Monte Carlo mean of f at hard samples, with the ST-Gumbel-softmax gradient.

    Example:
      >>> import jax, jax.numpy as jnp, reparax as rx
      >>> dist = rx.OneHotCategorical(jnp.array([0.5, -0.3, 1.2]))
      >>> f = lambda z: jnp.sum(z * jnp.array([1.0, 2.0, 3.0]))
      >>> est = rx.gradient_estimate(f, dist, jax.random.key(0), method="st_gumbel_softmax",
      ...                            temperature=2.0, backward_temperature=0.5)
      >>> est.grad.logits.shape
      (3,)

    References:
      Jang, Gu & Poole (2017), https://arxiv.org/abs/1611.01144;
      Shah, Yan, Mozer & Liu (2024), Decoupled ST-GS, https://arxiv.org/abs/2410.13331.
    """
    check_temperature(temperature, "st_gumbel_softmax")
    if backward_temperature is None:
        backward_temperature = temperature
    else:
        check_temperature(backward_temperature, "st_gumbel_softmax", "backward_temperature")
    # The one temperature used: a traced τ_b ≤ 0 gives NaN, not a silently finite gradient.
    backward_temperature = positive_or_nan(backward_temperature)

    def one(sample_key: jax.Array) -> jax.Array:
        noise = dist.noise(sample_key)
        # argmax is invariant to dividing θ + G by τ_f: the hard sample needs no temperature.
        soft = dist.relaxed_transform(noise, backward_temperature)
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
    references=GUMBEL_SOFTMAX_REFERENCES
    + (
        "Shah, Yan, Mozer & Liu 2024, Improving Discrete Optimisation Via Decoupled "
        "Straight-Through Gumbel-Softmax, arXiv:2410.13331",
    ),
)
