"""Shared maths of the multi-sample bounds: log-weights, the bound, VIMCO's baselines.

For a proposal q (the distribution) and an unnormalized target ``log_joint`` = log p(x, z),
the log-weights are l_k = log p(x, z_k) − log q(z_k), and the K-sample bound is

.. math:: L_K = E\\Big[\\log \\frac1K \\sum_{k=1}^K e^{l_k}\\Big],

computed in log space (``logsumexp``) so that weights of any magnitude neither overflow nor
vanish.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp

from reparax._keyed import bind_key

REFERENCES = (
    "Burda, Grosse & Salakhutdinov 2016, Importance Weighted Autoencoders, ICLR, arXiv:1509.00519",
)


def log_weight(log_joint: Callable, q: Any, z: jax.Array, key: jax.Array) -> jax.Array:
    """l = log p(x, z) − log q(z) for one sample z (a keyed ``log_joint`` gets the sample's
    key)."""
    return bind_key(log_joint, key)(z) - q.joint_log_prob(z)


def log_mean_exp(log_weights: jax.Array) -> jax.Array:
    """log (1/K) Σ_k exp(l_k): the bound's Monte Carlo estimate from K log-weights."""
    return jax.nn.logsumexp(log_weights) - math.log(log_weights.shape[0])


def normalized_weights(log_weights: jax.Array) -> jax.Array:
    """w̃_k = w_k / Σ_j w_j (no gradient: they multiply the per-sample terms)."""
    return jax.nn.softmax(jax.lax.stop_gradient(log_weights))


def vimco_signals(log_weights: jax.Array) -> jax.Array:
    """VIMCO's learning signals L̂ − L̂₋ₖ (no gradient), K ≥ 2.

    L̂₋ₖ is the bound's estimate with w_k replaced by the geometric mean of the other
    weights, ŵ₋ₖ = exp(mean_{j≠k} l_j): it does not depend on z_k, so it is a valid baseline
    for sample k's score. Computed as K logsumexps over the K × K matrix whose row k is l
    with entry k replaced (O(K²), but free of the cancellation in Σ_j w_j − w_k + ŵ₋ₖ when
    w_k dominates).
    """
    log_weights = jax.lax.stop_gradient(log_weights)
    num = log_weights.shape[0]
    others_mean = (jnp.sum(log_weights) - log_weights) / (num - 1)
    replaced = jnp.where(jnp.eye(num, dtype=bool), others_mean[:, None], log_weights[None, :])
    without = jax.vmap(log_mean_exp)(replaced)
    return log_mean_exp(log_weights) - without


def map_weighted(
    fn: Callable[[jax.Array, jax.Array], jax.Array],
    key: jax.Array,
    weights: jax.Array,
    chunk_size: int | None,
) -> jax.Array:
    """Stacks ``fn(key_k, weights[k])`` over ``key_k = split(key, K)[k]``, like
    ``_sampling.map_samples`` (same keys, same chunking under ``jax.checkpoint``) but with a
    per-sample weight passed in."""
    num = weights.shape[0]
    keys = jax.random.split(key, num)
    batched = jax.vmap(fn)
    if chunk_size is None or chunk_size >= num:
        return batched(keys, weights)
    chunks = num // chunk_size
    cut = chunks * chunk_size

    def fold(x: jax.Array) -> jax.Array:
        return x[:cut].reshape((chunks, chunk_size) + x.shape[1:])

    head = jax.lax.map(lambda kw: jax.checkpoint(batched)(*kw), (fold(keys), fold(weights)))
    head = head.reshape((cut,) + head.shape[2:])
    if cut == num:
        return head
    return jnp.concatenate([head, batched(keys[cut:], weights[cut:])])
