"""The unordered set estimator (Kool, van Hoof & Welling 2020): k outcomes without replacement."""

from __future__ import annotations

from collections.abc import Callable

import jax
import jax.numpy as jnp

from reparax.capabilities import JointSupport
from reparax.distributions._without_replacement import (
    MAX_SET_SIZE,
    gumbel_top_k,
    outside_set,
    subset_table,
)
from reparax.estimator import Estimator
from reparax.estimators._joint_set import DEFAULT_MAX_SUPPORT, costs_at, joint_categorical
from reparax.estimators._sampling import finite_or_zero

REFERENCES = (
    "Kool, van Hoof & Welling 2020, Estimating Gradients for Discrete Random Variables by "
    "Sampling without Replacement, ICLR, https://arxiv.org/abs/2002.06043",
    "Kool, van Hoof & Welling 2019, Stochastic Beams and Where to Find Them: The Gumbel-Top-k "
    "Trick, ICML, https://arxiv.org/abs/1903.06059",
)


def _set_weights(log_probs: jax.Array, index: jax.Array) -> tuple[jax.Array, jax.Array]:
    """``(w, B)``: w_s = p(s) R(S, s) = P(b_1 = s | S), and B[s, t] = p(t) R^{D∖s}(S, t)
    (the weights of the baseline of s; B[s, s] = p(s)), both from one subset table, for the
    drawn set ``index`` over normalised ``log_probs``. An outcome of probability 0 (drawn
    once the positive ones are exhausted) has weight 0; the table's entries are finite (a
    drawn set and its subsets have positive probability), so no −inf − (−inf) forms."""
    log_p = log_probs[index]
    table = subset_table(log_p, *outside_set(log_probs, index))
    k = log_p.shape[0]
    single = 1 << jnp.arange(k)
    log_w = log_p + table[single] - table[0]
    pairs = single[:, None] | single[None, :]
    log_b = log_p[None, :] + table[pairs] - table[single][:, None]
    return jnp.exp(log_w), jnp.exp(log_b)


def _unordered_set(
    f: Callable[[jax.Array], jax.Array],
    dist: JointSupport,
    key: jax.Array,
    *,
    num_samples: int = 1,
    chunk_size: int | None = None,
    max_support: int = DEFAULT_MAX_SUPPORT,
) -> jax.Array:
    r"""The unordered set estimator with its built-in baseline (Kool et al. 2020).

    The distribution is read as one categorical p over its M joint outcomes. A set S of
    k = ``num_samples`` distinct outcomes is drawn by Gumbel-top-k; with
    R(S, s) = p^{D∖s}(S∖s) / p^D(S) (``reparax.distributions._without_replacement``),

    .. math::
        \hat E = \sum_{s ∈ S} p(s) R(S, s) f(s), \qquad
        ĝ = \sum_{s ∈ S} ∇_θ p(s)\, R(S, s) \Big(f(s) − \sum_{s' ∈ S} p(s') R^{D∖s}(S, s')
            f(s')\Big),

    with R^{D∖s}(S, s') = p^{D∖\{s,s'\}}(S∖\{s,s'\}) / p^{D∖s}(S∖s) and R^{D∖s}(S, s) = 1.
    p(s)R(S, s) = P(b_1 = s | S), so Ê is E[f(b_1) | S], a Rao-Blackwellisation of one
    draw; the baseline of s is the same estimate of E[f] made from s and the other k − 1
    elements as a set drawn from D∖s, whose expectation given b_1 = s is E[f] whatever s:
    unbiased. k = 1 is REINFORCE (no baseline); k = M is the exact gradient. A
    ``num_samples`` above M draws the whole support (M evaluations, exact). Sets of
    2 ≤ k < M need k ≤ 12 (the subset table has 2^k entries).

    First derivatives only: R and the baseline are probabilities of sets, held fixed;
    a second derivative raises ``rx.DerivativeOrderError``.

    Args:
      f: maps ONE sample to a scalar.
      dist: a distribution with a small joint support (``JointSupport``).
      key: a PRNG key (draws the set).
      num_samples: k, the size of the set (the f-evaluations).
      chunk_size: evaluate f on this many outcomes at a time.
      max_support: the largest joint support read as one categorical (default 2¹⁶).

    Returns:
      A scalar whose value is Ê and whose derivative is ĝ (plus Σ_s p(s)R(S, s)∇f(s) for
      parameters f closes over).

    Example:
      >>> import jax, jax.numpy as jnp, reparax as rx
      >>> dist = rx.Bernoulli(jnp.zeros(3))
      >>> rx.unordered_set(jnp.sum, dist, jax.random.key(0), num_samples=8)
      Array(1.5, dtype=float32)

    References:
      Kool, van Hoof & Welling (2020), https://arxiv.org/abs/2002.06043.
    """
    outcomes, log_probs = joint_categorical(dist, max_support, "unordered_set")
    size = log_probs.shape[0]
    k = min(num_samples, size)
    if 1 < k < size and k > MAX_SET_SIZE:
        raise ValueError(
            f"method='unordered_set': a set of num_samples={k} of {size} outcomes needs a "
            f"table of 2^{k} subset probabilities; use num_samples <= {MAX_SET_SIZE}, or "
            f">= {size} (the whole support: exact)."
        )
    # Outcomes of probability 0 are drawn (uniformly) only once the positive ones are
    # exhausted, with weight 0 (reparax.distributions._without_replacement, "Classes of
    # probability 0").
    held = jax.lax.stop_gradient(log_probs)
    if k == size:  # the whole support: p^D(S) = 1, R = 1, the baseline is E[f]
        index = jnp.arange(size)
        weights = jnp.exp(held)
        costs = costs_at(f, outcomes, index, key, chunk_size)
        reference = jax.lax.stop_gradient(costs[0])
        centred = costs - reference
        advantage = centred - jnp.sum(weights * jax.lax.stop_gradient(centred))
    else:
        index = gumbel_top_k(key, held, k)
        weights, baseline_weights = _set_weights(held, index)
        costs = costs_at(f, outcomes, index, key, chunk_size)
        # Centred on the first cost (a large constant in f cancels exactly; the estimator is
        # invariant to it), except at k = 1: no baseline, f itself multiplies the score.
        reference = jax.lax.stop_gradient(costs[0]) if k > 1 else jnp.zeros((), costs.dtype)
        centred = costs - reference
        fixed = jax.lax.stop_gradient(centred)
        advantage = centred - baseline_weights @ fixed if k > 1 else centred
    log_p = log_probs[index]
    score = finite_or_zero(log_p - jax.lax.stop_gradient(log_p))
    coefficient = jax.lax.stop_gradient(weights * advantage)
    return reference + jnp.sum(weights * centred) + jnp.sum(coefficient * score)


unordered_set = Estimator(
    name="unordered_set",
    fn=_unordered_set,
    unbiased=True,
    differentiable_f=False,
    evaluations="1 (a set of num_samples distinct joint outcomes)",
    requires=(JointSupport,),
    max_order=1,
    references=REFERENCES,
)
