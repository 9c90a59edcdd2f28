"""The antithetic stick-breaking coupling of a categorical (Dong, Mnih & Tucker 2021, §4).

A K-class categorical is a sequence of K − 1 binary decisions: visit the classes in a fixed
order π(1), …, π(K) and stop at the first k with b_k = 1, where b_k ~ Bernoulli(σ_k) and

    σ_k = p_π(k) / T_k,   T_k = Σ_{j ≥ k} p_π(j)   (the stick that is left),

or at π(K) when no b_k is 1. Drawing b_k = 1[u_k < σ_k] and b̃_k = 1[1 − u_k < σ_k] from the
same uniforms gives two categorical draws z, z̃ with the right marginal q each: an antithetic
pair. The estimators need the importance weight w(z, z̃) = q(z) q(z̃) / p(z, z̃) of the pair.

Visiting the classes in *ascending* probability makes σ_k ≤ ½ for every k ≤ K − 1 (the
current class is the smallest of what is left), so two bits are never both 1, every pair
z ≠ z̃ has p(z, z̃) > 0, and for k = min(position of z, position of z̃)

    w = (1 − σ_k) Π_{i<k} (1 − σ_i)² / (1 − 2σ_i) = T_{k+1} Π_{i<k} T_{i+1} / (T_{i+1} − p_π(i))

(the bits before k are both 0, at k exactly one is 1, and the later bits of the other draw
cancel against its marginal). Everything is computed from log-probabilities, so classes of
probability 1e-30 or logits of ±50 stay finite.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp


def _first_true(bits: jax.Array) -> jax.Array:
    """Index of the first True along the last axis; ``bits.shape[-1]`` (the last class) if none."""
    stop = jnp.concatenate([bits, jnp.ones(bits.shape[:-1] + (1,), bool)], axis=-1)
    return jnp.argmax(stop, axis=-1)


def take_class(values: jax.Array, index: jax.Array) -> jax.Array:
    """``values[..., index]`` per element: ``batch + (K,)`` and ``batch`` -> ``batch``."""
    return jnp.take_along_axis(values, index[..., None], axis=-1)[..., 0]


def stick_breaking_pair(
    log_probs: jax.Array, log_u: jax.Array, log_1mu: jax.Array
) -> tuple[jax.Array, jax.Array, jax.Array]:
    """The antithetic pair of class indices and its log importance weight, per element.

    Args:
      log_probs: normalized class log-probabilities, ``batch + (K,)``.
      log_u: log u for K − 1 independent uniforms per element, ``batch + (K − 1,)``.
      log_1mu: log(1 − u) for the same uniforms.

    Returns:
      ``(index, antithetic_index, log_weight)``: two ``batch``-shaped integer arrays, each
      distributed as the categorical, and log q(z)q(z̃)/p(z, z̃) (``-inf`` where z = z̃, which
      happens only when both are the most probable class and contributes nothing).
    """
    log_probs = jax.lax.stop_gradient(log_probs)
    num_classes = log_probs.shape[-1]
    if num_classes == 2:
        return _binary_pair(log_probs, log_u[..., 0], log_1mu[..., 0])
    order = jnp.argsort(log_probs, axis=-1)  # ascending probability
    sorted_lp = jnp.take_along_axis(log_probs, order, axis=-1)
    log_tail = jax.lax.cumlogsumexp(sorted_lp, axis=sorted_lp.ndim - 1, reverse=True)
    log_sigma = sorted_lp[..., :-1] - log_tail[..., :-1]
    first = _first_true(log_u < log_sigma)
    second = _first_true(log_1mu < log_sigma)

    # log T_{i+1}/(T_{i+1} − p_i) = −log1p(−p_i/T_{i+1}) for i ≤ K − 3, where p_i/T_{i+1} ≤ ½
    # (T_{i+1} holds two classes at least as likely as class i); i = K − 2 is never needed.
    both_zero = -jnp.log1p(-jnp.exp(sorted_lp[..., :-2] - log_tail[..., 1:-1]))
    before = jnp.cumsum(both_zero, axis=-1)
    start = jnp.zeros(before.shape[:-1] + (1,), before.dtype)
    before = jnp.concatenate([start, before], axis=-1)  # Σ_{i<k}, k = 0, …, K − 2
    log_weights = log_tail[..., 1:] + before
    low = jnp.minimum(jnp.minimum(first, second), num_classes - 2)
    log_weight = jnp.where(first == second, -jnp.inf, take_class(log_weights, low))
    return take_class(order, first), take_class(order, second), log_weight


def _binary_pair(
    log_probs: jax.Array, log_u: jax.Array, log_1mu: jax.Array
) -> tuple[jax.Array, jax.Array, jax.Array]:
    """:func:`stick_breaking_pair` for K = 2 with comparisons instead of a sort and gathers.

    One decision: the less likely class ``low`` (class 0 on ties, as the stable ascending
    sort orders them) is taken when log u < log σ = log p_low − log(p_low + p_high); the
    weight of a pair z ≠ z̃ is T₁ = p_high (DisARM's σ(|θ|) for bits).
    """
    low_is_one = log_probs[..., 1] < log_probs[..., 0]
    log_low = jnp.where(low_is_one, log_probs[..., 1], log_probs[..., 0])
    log_high = jnp.where(low_is_one, log_probs[..., 0], log_probs[..., 1])
    log_sigma = log_low - jnp.logaddexp(log_low, log_high)
    first, second = log_u < log_sigma, log_1mu < log_sigma
    # Taking `low` is class 1 exactly when low is class 1: an equality of booleans.
    index = (first == low_is_one).astype(jnp.int32)
    antithetic = (second == low_is_one).astype(jnp.int32)
    log_weight = jnp.where(first == second, -jnp.inf, log_high)
    return index, antithetic, log_weight
