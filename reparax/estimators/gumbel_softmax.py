"""Gumbel-softmax / Concrete relaxation (biased)."""

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
    check_value_choice,
)
from reparax.estimators._sampling import attach_gradient, map_samples


def _gumbel_softmax(
    f: Callable[[jax.Array], jax.Array],
    dist: Relaxable,
    key: jax.Array,
    *,
    num_samples: int = 1,
    chunk_size: int | None = None,
    temperature: Any = 1.0,
    value: str = "relaxed",
) -> jax.Array:
    r"""Gumbel-softmax / Concrete relaxation (biased).

    f is evaluated at the relaxed sample y = softmax((θ + G)/τ), G ~ Gumbel(0, 1)
    (binary: y = σ((θ + ℓ)/τ), ℓ logistic), and differentiated pathwise:

    .. math:: ĝ = \frac1N \sum_i ∇_θ f(\mathrm{softmax}((θ + G_i)/τ)).

    The gradient is that of the relaxed objective E[f(y)], which tends to E[f(z)] as
    τ → 0 while the variance grows. ``temperature`` may be a traced, differentiable array.
    Biased (for E[f]); its derivatives of every order are those of the relaxed objective.

    The value is by default the relaxed objective's estimate too, which is not E[f] (a
    training curve reads it as the loss). ``value="hard"`` reports instead the mean of f at
    the hard samples D_i = argmax(θ + G_i) (binary: 1[θ + ℓ_i > 0]) of the same noise,
    an unbiased estimate of E[f(z)], and leaves every derivative unchanged bit for bit:

    .. math:: \frac1N \sum_i \mathrm{sg}(f(D_i)) + f(y_i) − \mathrm{sg}(f(y_i)).

    It costs a second evaluation of f per sample, without gradient, at a point of the
    support (f must be defined there).

    Args:
      f: maps ONE (relaxed) sample to a scalar; must be defined on the simplex / (0, 1).
      dist: ``OneHotCategorical`` or ``Bernoulli``.
      key: a PRNG key.
      num_samples: N ≥ 1.
      chunk_size: evaluate the samples this many at a time.
      temperature: τ > 0.
      value: ``"relaxed"`` (default): the value is the mean of f(y_i); ``"hard"``: the mean
        of f(D_i) at the hard samples of the same noise (same derivatives).

    Returns:
      The relaxed objective's Monte Carlo estimate (or, with ``value="hard"``, that of
      E[f]), whose derivatives are the relaxed objective's.

    Example:
      >>> import jax, jax.numpy as jnp, reparax as rx
      >>> dist = rx.Bernoulli(jnp.array([0.3, -1.0]))
      >>> f = lambda z: jnp.sum((z - 0.4) ** 2)
      >>> key = jax.random.key(0)
      >>> relaxed = rx.gradient_estimate(f, dist, key, method="gumbel_softmax")
      >>> hard = rx.gradient_estimate(f, dist, key, method="gumbel_softmax", value="hard")
      >>> bool(jnp.all(relaxed.grad.logits == hard.grad.logits))
      True

    References:
      Jang, Gu & Poole (2017), https://arxiv.org/abs/1611.01144;
      Maddison, Mnih & Teh (2017), https://arxiv.org/abs/1611.00712.
    """
    check_temperature(temperature, "gumbel_softmax")
    temperature = positive_or_nan(temperature)  # a traced τ ≤ 0: NaN, not a silent number
    check_value_choice(value, "gumbel_softmax")

    def one(sample_key: jax.Array) -> jax.Array:
        cost = bind_key(f, sample_key)
        noise = dist.noise(sample_key)
        relaxed = cost(dist.relaxed_transform(noise, temperature))
        if value == "relaxed":
            return relaxed
        # f at the hard sample, entirely without derivative (f may depend on θ itself): the
        # derivatives stay those of the relaxed term alone.
        hard = jax.lax.stop_gradient(cost(jax.lax.stop_gradient(dist.transform(noise))))
        return attach_gradient(hard, relaxed)

    return jnp.mean(map_samples(one, key, num_samples, chunk_size))


def _count_evaluations(dist: Any, *, value: str = "relaxed", **options: Any) -> int:
    """f at the relaxed sample, and with ``value="hard"`` at the hard one too."""
    del dist, options
    check_value_choice(value, "gumbel_softmax")
    return 2 if value == "hard" else 1


gumbel_softmax = Estimator(
    name="gumbel_softmax",
    fn=_gumbel_softmax,
    unbiased=False,
    differentiable_f=True,
    evaluations='1 (2 with `value="hard"`)',
    requires=(Relaxable,),
    count_evaluations=_count_evaluations,
    references=GUMBEL_SOFTMAX_REFERENCES,
)
