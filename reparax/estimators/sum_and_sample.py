"""Sum-and-sample (Liu et al. 2019): the k − 1 likeliest outcomes summed, one sampled."""

from __future__ import annotations

from collections.abc import Callable

import jax
import jax.numpy as jnp

from reparax.capabilities import JointSupport
from reparax.estimator import Estimator
from reparax.estimators._dice import magic_box
from reparax.estimators._joint_set import DEFAULT_MAX_SUPPORT, costs_at, joint_categorical
from reparax.estimators._sampling import finite_or_zero


def _sum_and_sample(
    f: Callable[[jax.Array], jax.Array],
    dist: JointSupport,
    key: jax.Array,
    *,
    num_samples: int = 1,
    chunk_size: int | None = None,
    max_support: int = DEFAULT_MAX_SUPPORT,
) -> jax.Array:
    r"""Sum-and-sample: a Rao-Blackwellized score function (Liu et al. 2019).

    The distribution is read as one categorical p over its M joint outcomes. C is the set of
    the k − 1 most probable outcomes (k = ``num_samples``, ties broken by index), summed
    exactly; one outcome x is drawn from the rest, q(x) = p(x) / p(D∖C), with the score
    function:

    .. math::
        E_p[f] = \sum_{c ∈ C} p(c) f(c) + p(D∖C)\, E_q[f], \qquad
        \hat E = \sum_{c ∈ C} p(c) f(c) + p(D∖C)\, f(x),

    differentiated as the DiCE surrogate Σ_C p(c) f(c) + p(D∖C) (□(log q(x)) (f(x) − b) + b),
    where □ is the magic box and b = Σ_C p(c) f(c) / p(C), the mean of f over the summed
    outcomes, is a baseline independent of x (none at k = 1: REINFORCE). C does not change
    under small parameter changes, so every derivative order is unbiased (DiCE). k ≥ M sums
    all but one outcome and "samples" the last one: exact.

    Args:
      f: maps ONE sample to a scalar.
      dist: a distribution with a small joint support (``JointSupport``).
      key: a PRNG key (draws x).
      num_samples: k, the f-evaluations (k − 1 summed, one sampled).
      chunk_size: evaluate f on this many outcomes at a time.
      max_support: the largest joint support read as one categorical (default 2¹⁶).

    Returns:
      A scalar whose value is Ê and whose derivatives are the estimator's.

    Example:
      >>> import jax, jax.numpy as jnp, reparax as rx
      >>> dist = rx.Bernoulli(jnp.zeros(3))
      >>> rx.sum_and_sample(jnp.sum, dist, jax.random.key(0), num_samples=8)
      Array(1.5, dtype=float32)

    References:
      Liu, Regier, Tripuraneni, Jordan & McAuliffe (2019), https://arxiv.org/abs/1810.04777.
    """
    outcomes, log_probs = joint_categorical(dist, max_support, "sum_and_sample")
    size = log_probs.shape[0]
    k = min(num_samples, size)
    held = jax.lax.stop_gradient(log_probs)
    summed = jax.lax.top_k(held, k - 1)[1]
    in_sum = jnp.zeros(size, bool).at[summed].set(True)
    rest = jnp.where(in_sum, -jnp.inf, log_probs)
    noise = jax.random.gumbel(key, (size,), held.dtype)
    drawn = jnp.argmax(jnp.where(in_sum, -jnp.inf, held + noise))
    index = jnp.concatenate([summed, drawn[None]])
    costs = costs_at(f, outcomes, index, key, chunk_size)
    # When the summed outcomes hold every outcome of positive probability, the rest is
    # empty: log p(rest) = −inf, with the logsumexp taken over a finite stand-in so that its
    # gradient is not NaN (a where AFTER an all −inf logsumexp would not stop the NaN).
    any_rest = jnp.any(~in_sum & (held > -jnp.inf))
    log_rest = jnp.where(any_rest, jax.nn.logsumexp(jnp.where(any_rest, rest, 0.0)), -jnp.inf)
    log_q = finite_or_zero(log_probs[drawn] - log_rest)
    if k == 1:  # no summed outcome: plain REINFORCE
        return magic_box(log_q) * costs[0]
    # Centred on the likeliest outcome's cost (exact: the weights sum to 1), so a large
    # constant in f cancels; the baseline is the p-weighted mean over C (held fixed).
    reference = jax.lax.stop_gradient(costs[0])
    centred = costs - reference
    p_sum = jnp.exp(log_probs[summed])
    within = jax.nn.softmax(held[summed])  # p(c) / p(C), safe when every p(c) underflows
    baseline = jax.lax.stop_gradient(jnp.sum(within * centred[:-1]))
    sampled = magic_box(log_q) * (centred[-1] - baseline) + baseline
    return reference + jnp.sum(p_sum * centred[:-1]) + jnp.exp(log_rest) * sampled


sum_and_sample = Estimator(
    name="sum_and_sample",
    fn=_sum_and_sample,
    unbiased=True,
    differentiable_f=False,
    evaluations="1 (num_samples − 1 likeliest joint outcomes summed, one sampled)",
    requires=(JointSupport,),
    references=(
        "Liu, Regier, Tripuraneni, Jordan & McAuliffe 2019, Rao-Blackwellized Stochastic "
        "Gradients for Discrete Distributions, ICML, https://arxiv.org/abs/1810.04777",
        "Foerster et al. 2018, DiCE: The Infinitely Differentiable Monte Carlo Estimator, "
        "arXiv:1802.05098",
    ),
)
