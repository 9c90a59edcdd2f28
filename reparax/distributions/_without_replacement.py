r"""Sampling without replacement from a categorical: Gumbel-top-k and set probabilities.

Gumbel-top-k (Kool, van Hoof & Welling 2019): the indices of the k largest of
log p + G, G ~ Gumbel(0, 1)^K, in decreasing order, are an ordered sample
B = (b_1, …, b_k) without replacement, with probability

.. math:: p(B) = \prod_{i=1}^{k} \frac{p(b_i)}{1 − \sum_{j<i} p(b_j)}.

The unordered set S = {b_1, …, b_k} has p^D(S) = Σ over the k! orderings of S. The
estimators of Kool, van Hoof & Welling (2020) need p^D(S) and the probabilities of the
sets left after removing one or two elements, under the distribution with those elements
removed and renormalised: p^{D∖U}(S∖U) for |U| ≤ 2. All of these are entries of ONE table,
G(U) = p^{D∖U}(S∖U) for every U ⊆ S, computed by a recursion over subsets (first draw of the
remaining set is some s ∉ U):

.. math:: G(S) = 1, \qquad
          G(U) = \sum_{s ∈ S∖U} \frac{p(s)}{p_R + p(S∖U)}\, G(U ∪ \{s\}),

with p_R = p(D∖S) the mass outside the set, so that 1 − p(U) = p_R + p(S∖U) is formed as a
sum of positive terms. Every term is positive: no inclusion–exclusion cancellation (the
closed form Σ_{T⊆S} (−1)^{|T|} p_R / (p_R + p(T)) loses all digits in float32 once S holds
most of the mass). It runs in log space (probabilities 1e-44 at logits ±50 would underflow
in a product of k of them) with k rounds of a vectorised update over the 2^k subsets, i.e.
O(k² 2^k) work per set: the exact probabilities, accurate to float32 rounding, for the set
sizes the estimators use (k ≤ ``MAX_SET_SIZE``).

Classes of probability 0. A class of probability exactly 0 (normalised log-probability
−inf, e.g. a masked logit) is never drawn while a class of positive probability is left,
however small: a finite log-probability is used as it is, never floored, so a class at
−2000 below the others is still drawn before a masked one. With m classes of positive
probability, a set of k ≤ m never holds a zero class, and a set of k > m is the m positive
classes followed by k − m of the zero classes chosen uniformly at random (the limit of
Gumbel-top-k as their equal logits go to −inf). The draw ranks the zero classes by their
Gumbel noise alone, below every positive class; the set probabilities follow the same rule
in the recursion: with n zero classes left, a zero class is the next draw with probability
0 while positive mass is left, else 1/n. So a zero-class inclusion probability is
(k − m)/(K − m), and the set probabilities, the inclusion probabilities and the estimators
agree with the draw, finitely. (The Gumbel noise is added in float32 at least; below a
log-probability of about −1e7, float32's spacing exceeds the noise's spread, so such
classes are drawn in the order of their log-probabilities, ties by index.)

References:
  Kool, van Hoof & Welling 2019, Stochastic Beams and Where to Find Them: The Gumbel-Top-k
  Trick for Sampling Sequences Without Replacement, https://arxiv.org/abs/1903.06059.
  Kool, van Hoof & Welling 2020, Estimating Gradients for Discrete Random Variables by
  Sampling without Replacement, https://arxiv.org/abs/2002.06043.
"""

from __future__ import annotations

import functools
import itertools
import math

import jax
import jax.numpy as jnp
import numpy as np

#: The largest set whose subset table (2^k entries) is built; k! orderings are never formed.
MAX_SET_SIZE = 12
#: The most k-subsets :func:`inclusion_probabilities` enumerates.
MAX_SUBSETS = 2**16


def check_set_size(k: int, num_classes: int, *, name: str = "k") -> None:
    """``ValueError`` unless 1 ≤ k ≤ num_classes (a Python int)."""
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)):
        raise TypeError(f"`{name}` must be a Python int (the set size), got {type(k).__name__}.")
    if not 1 <= k <= num_classes:
        raise ValueError(
            f"`{name}` must be between 1 and the number of classes ({num_classes}); got {k}."
        )


def gumbel_top_k(key: jax.Array, log_probs: jax.Array, k: int) -> jax.Array:
    """Indices of the k largest perturbed log-probabilities, in sampled (decreasing) order.

    ``log_probs``: ``batch + (K,)`` logits (normalised here); returns int32 ``batch + (k,)``.
    The classes of probability 0 (−inf) come after every positive one, in the order of
    their Gumbel noise alone (uniformly at random, see the module docstring). No gradient.
    """
    # At least float32: Gumbel noise added to a log-probability of −1000 keeps its digits.
    dtype = jnp.promote_types(log_probs.dtype, jnp.float32)
    log_probs = jax.nn.log_softmax(jax.lax.stop_gradient(log_probs).astype(dtype), axis=-1)
    noise = jax.random.gumbel(key, log_probs.shape, dtype)
    positive = log_probs > -jnp.inf  # NaN: no class is positive, the draw is uniform
    first = jax.lax.top_k(jnp.where(positive, log_probs + noise, -jnp.inf), k)[1]
    zeros = jax.lax.top_k(jnp.where(positive, -jnp.inf, noise), k)[1]
    # Slots past the m positive classes take the zero classes in their noise order.
    count = jnp.sum(positive, axis=-1, keepdims=True)
    slot = jnp.broadcast_to(jnp.arange(k), first.shape)
    filler = jnp.take_along_axis(zeros, jnp.clip(slot - count, 0, k - 1), axis=-1)
    return jnp.where(slot < count, first, filler).astype(jnp.int32)


def _bits(k: int) -> np.ndarray:
    """``bits[m, s]``: whether element s of the set is in subset m (bitmask order)."""
    return ((np.arange(2**k)[:, None] >> np.arange(k)[None, :]) & 1).astype(bool)


def subset_table(
    log_p: jax.Array, log_rest: jax.Array, zeros_outside: jax.Array | int = 0
) -> jax.Array:
    """log G(U) for every U ⊆ S (index: the bitmask of U over S's k elements), see above.

    Args:
      log_p: log p(s) for the k elements of S, shape ``(k,)`` (normalised over the domain),
        −inf for an element of probability 0.
      log_rest: log p_R, the log mass outside S (−inf when it is 0).
      zeros_outside: how many classes of probability 0 lie outside S (they fill the draw
        once no positive mass is left, see the module docstring).

    Returns:
      ``(2^k,)``: entry 0 is log p^D(S), entry 2^s is log p^{D∖s}(S∖s), entry
      2^s + 2^t is log p^{D∖{s,t}}(S∖{s,t}), the last entry is log 1 = 0.
    """
    k = log_p.shape[0]
    bits = jnp.asarray(_bits(k))
    full = 2**k - 1
    zero = log_p == -jnp.inf
    # A stand-in 0 for a zero element: its positive-mass step is never used, and no −inf
    # − (−inf) forms where no positive mass is left.
    finite_p = jnp.where(zero, 0.0, log_p)
    # log(p_R + p(S∖U)) per subset U: positive terms only.
    remaining = jnp.where(bits | zero[None, :], -jnp.inf, finite_p[None, :])
    left_terms = jnp.concatenate(
        [jnp.broadcast_to(log_rest, remaining.shape[:1])[:, None], remaining], axis=-1
    )
    # log of p(s) / (p_R + p(S∖U)), (2^k, k), with the logsumexp's shift subtracted from
    # log p(s) first: a last element left gives exactly log 1 = 0.
    top, log_left = _logsumexp_parts(left_terms)
    positive_step = (finite_p[None, :] - top[:, None]) - log_left[:, None]
    # A zero element is next with probability 0 while positive mass is left, else 1/n
    # among the n zero classes left (inside S∖U and outside S).
    zeros_left = jnp.sum(zero[None, :] & ~bits, axis=-1) + jnp.asarray(zeros_outside)
    exhausted = -jnp.log(zeros_left.astype(log_p.dtype))
    zero_step = jnp.where(log_left > -jnp.inf, -jnp.inf, exhausted)
    step = jnp.where(zero[None, :], zero_step[:, None], positive_step)
    grown = jnp.asarray(np.arange(2**k)[:, None] | (1 << np.arange(k))[None, :])
    table = jnp.where(jnp.arange(2**k) == full, 0.0, -jnp.inf).astype(log_p.dtype)
    # After round r every subset with at least k − r elements holds its final value.
    for _ in range(k):
        terms = jnp.where(bits, -jnp.inf, step + table[grown])
        table = jnp.where(jnp.arange(2**k) == full, 0.0, _logsumexp(terms))
    return table


def rest_log_mass(log_probs: jax.Array, index: jax.Array) -> jax.Array:
    """log p(D∖S) for ``index`` (the k distinct indices of S) over ``log_probs`` ``(K,)``."""
    return outside_set(log_probs, index)[0]


def outside_set(log_probs: jax.Array, index: jax.Array) -> tuple[jax.Array, jax.Array]:
    """``(log p(D∖S), the number of classes of probability 0 in D∖S)`` for ``index`` (the
    k distinct indices of S) over normalised ``log_probs`` ``(K,)``: the last two arguments
    of :func:`subset_table`."""
    outside = jnp.ones(log_probs.shape, bool).at[index].set(False)
    log_rest = _logsumexp(jnp.where(outside, log_probs, -jnp.inf))
    return log_rest, jnp.sum(outside & (log_probs == -jnp.inf))


def _logsumexp_parts(x: jax.Array) -> tuple[jax.Array, jax.Array]:
    """``(top, rest)`` with logsumexp over the last axis = top + rest: the shift (the
    largest entry, held fixed: the sum does not depend on it) kept apart from the rest, so
    that a difference with another large term is taken before any rounding. An all −inf row
    gives (0, −inf), with a zero gradient there (see :func:`_logsumexp`)."""
    live = jnp.any(x > -jnp.inf, axis=-1)
    safe = jnp.where(live[..., None], x, 0.0)
    top = jax.lax.stop_gradient(jnp.max(safe, axis=-1))
    rest = jnp.log(jnp.sum(jnp.exp(safe - top[..., None]), axis=-1))
    return top, jnp.where(live, rest, -jnp.inf)


def _logsumexp(x: jax.Array) -> jax.Array:
    """logsumexp over the last axis, −inf for an all −inf row WITH a zero gradient there
    (``jax.nn.logsumexp``'s gradient of an all −inf row is NaN, and a ``where`` after it
    does not stop the NaN in reverse mode)."""
    live = jnp.any(x > -jnp.inf, axis=-1)
    total = jax.nn.logsumexp(jnp.where(live[..., None], x, 0.0), axis=-1)
    return jnp.where(live, total, -jnp.inf)


def set_log_prob(log_probs: jax.Array, index: jax.Array) -> jax.Array:
    """log p^D(S) of the unordered set with indices ``index`` ``(k,)`` under ``log_probs``
    ``(K,)`` (logits, normalised here), as :func:`gumbel_top_k` draws it."""
    log_probs = jax.nn.log_softmax(log_probs)
    return subset_table(log_probs[index], *outside_set(log_probs, index))[0]


def inclusion_probabilities(log_probs: jax.Array, k: int) -> jax.Array:
    r"""P(i ∈ S) for a Gumbel-top-k sample S of size k, for every class i (exact).

    .. math:: P(i ∈ S) = \sum_{S ∋ i, |S| = k} p^D(S)

    by enumerating the C(K, k) sets, each p^D(S) from :func:`subset_table` (exact up to
    float32 rounding). Refused above ``MAX_SUBSETS`` sets or ``MAX_SET_SIZE`` elements.

    Args:
      log_probs: ``batch + (K,)`` logits (normalised here).
      k: the set size, 1 ≤ k ≤ K.

    Returns:
      ``batch + (K,)`` inclusion probabilities; each row sums to k. With m < k classes of
      positive probability, each of those is included with probability 1 and each class of
      probability 0 with (k − m)/(K − m) (see the module docstring).
    """
    num_classes = log_probs.shape[-1]
    check_set_size(k, num_classes)
    if k == num_classes:
        return jnp.ones(log_probs.shape, log_probs.dtype)
    count = math.comb(num_classes, k)
    if count > MAX_SUBSETS or k > MAX_SET_SIZE:
        raise ValueError(
            f"inclusion_probabilities: K={num_classes}, k={k} has {count} sets, more than "
            f"{MAX_SUBSETS} can be enumerated (or k > {MAX_SET_SIZE}); estimate the "
            "frequencies with sample_without_replacement over many keys instead."
        )
    return _enumerated_inclusion(log_probs, k)


@functools.partial(jax.jit, static_argnums=1)
def _enumerated_inclusion(log_probs: jax.Array, k: int) -> jax.Array:
    # Compiled: the subset table is k rounds of small ops, slow to dispatch one by one.
    num_classes = log_probs.shape[-1]
    sets = jnp.asarray(list(itertools.combinations(range(num_classes), k)), jnp.int32)
    flat = log_probs.reshape((-1, num_classes))

    def one_row(row: jax.Array) -> jax.Array:
        probs = jnp.exp(jax.vmap(lambda s: set_log_prob(row, s))(sets))
        return jnp.zeros(num_classes, row.dtype).at[sets].add(probs[:, None])

    return jax.vmap(one_row)(flat).reshape(log_probs.shape)
