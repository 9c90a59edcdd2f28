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
    values: jax.Array,
    log_probs: jax.Array,
    baseline: jax.Array | None,
    *,
    trainable_baseline: bool = False,
) -> jax.Array:
    """mean_i □(l_i)(f_i − b_i) + b_i: value mean f, derivatives the score-function ones.

    The baseline is held fixed. With ``trainable_baseline``, the zero-valued term
    mean_i (1 − □(l_i))(b_i − stop_gradient(b_i)) is added (in the style of the baseline term
    (1 − □(l)) b of Mao et al. 2019, arXiv:1809.05520):
    its first derivative is exactly 0 (both factors vanish), so ĝ is unchanged, while its
    mixed derivative in the baseline's own parameters ψ is −∇log p(z_i) ∂b_i/∂ψ = ∂ĝ/∂ψ,
    which ``rx.variance_gradient`` needs to train a learned baseline. Second derivatives in θ
    change only for a b that depends on θ, by a term of mean zero.
    """
    if baseline is None:
        return jnp.mean(magic_box(log_probs) * values)
    baseline = jnp.broadcast_to(baseline, values.shape)
    held = jax.lax.stop_gradient(baseline)
    out = jnp.mean(magic_box(log_probs) * (values - held) + held)
    if trainable_baseline:
        out = out + jnp.mean((1.0 - magic_box(log_probs)) * (baseline - held))
    return out
