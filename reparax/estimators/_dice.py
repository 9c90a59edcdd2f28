"""The DiCE magic box and the score-function surrogate built on it."""

from __future__ import annotations

import jax
import jax.numpy as jnp


def magic_box(log_prob: jax.Array) -> jax.Array:
    """DiCE's □(l) = exp(l − stop_gradient(l)): value 1, derivative □(l)·∇l, to any order.

    The plain form, deliberately: a ``custom_jvp`` whose primal is the constant 1 (cheaper by
    one exp per sample) gave wrong derivatives inside ``lax.scan`` in JAX 0.10 (Hessians of 0,
    gradients multiplied by the vmapped batch size) and failed to transpose under a vmap
    inside ``lax.map``'s checkpoint.
    """
    return jnp.exp(log_prob - jax.lax.stop_gradient(log_prob))


def leave_one_out(values: jax.Array) -> jax.Array:
    """b_i = mean of the other N − 1 values (independent of sample i, hence unbiased)."""
    n = values.shape[0]
    return (jnp.sum(values) - values) / (n - 1)


def centre(values: jax.Array) -> tuple[jax.Array, jax.Array]:
    """``(values − c, c)`` with c = the first value, held fixed.

    Differences of nearby float32 numbers are exact (Sterbenz), so a large constant in f
    (f = 10⁶ + …) cancels exactly before baselines and weights are formed; c is added back
    to the value only.
    """
    reference = jax.lax.stop_gradient(values[0])
    return values - reference, reference


def dice_surrogate(
    values: jax.Array, log_probs: jax.Array, baseline: jax.Array | None
) -> jax.Array:
    """mean_i □(l_i)(f_i − b_i) + b_i: value mean f, derivatives the score-function ones."""
    if baseline is None:
        return jnp.mean(magic_box(log_probs) * values)
    baseline = jax.lax.stop_gradient(jnp.broadcast_to(baseline, values.shape))
    return jnp.mean(magic_box(log_probs) * (values - baseline) + baseline)
