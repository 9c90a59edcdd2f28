"""The surrogate shared by REBAR and RELAX: REINFORCE with a relaxation control variate.

Both use the continuous variable z = θ + noise whose hard threshold/argmax is the sample
b = H(z), and z̃ ~ p(z | b), a second relaxed variable conditioned on the same b. With a
control variate c (REBAR: η f(relax(·, λ)); RELAX: any learnable c_φ),

.. math:: ĝ = [f(b) − c(z̃)] ∇_θ \\log p(b) + ∇_θ c(z) − ∇_θ c(z̃)

is unbiased for every c, because E[∇c(z)] = ∇E[c(z)] = E[c(z̃)∇log p(b)] + E[∇c(z̃)]. The
control variate's parameters are trained by descending ∂ĝ²/∂φ, an unbiased estimate of
∂Var(ĝ)/∂φ (``rx.variance_gradient``).
"""

from __future__ import annotations

from collections.abc import Callable

import jax
import jax.numpy as jnp

from reparax.capabilities import ConditionalNoise
from reparax.estimators._sampling import map_samples, stop_parameters


def relaxed_control_variate_surrogate(
    f: Callable[[jax.Array], jax.Array],
    dist: ConditionalNoise,
    key: jax.Array,
    num_samples: int,
    chunk_size: int | None,
    control: Callable[[jax.Array], jax.Array],
) -> jax.Array:
    """The REBAR/RELAX surrogate; ``control(z)`` is the control variate on perturbed logits."""
    fixed = stop_parameters(dist)

    def one(sample_key: jax.Array) -> jax.Array:
        key_noise, key_cond = jax.random.split(sample_key)
        noise = jax.lax.stop_gradient(dist.noise(key_noise))
        hard = jax.lax.stop_gradient(dist.transform(noise))
        z, z_fixed = dist.perturbed(noise), fixed.perturbed(noise)
        z_cond = dist.conditional_perturbed(key_cond, hard)
        z_cond_fixed = fixed.conditional_perturbed(key_cond, hard)
        value = f(hard)
        log_prob = dist.joint_log_prob(hard)
        # c(·_fixed) carries no θ-gradient but keeps its dependence on the control variate's
        # parameters, so ∂ĝ/∂φ (the variance gradient) is exact; every added term is 0-valued.
        control_cond_fixed = control(z_cond_fixed)  # read twice, evaluated once
        signal = jax.lax.stop_gradient(value) - control_cond_fixed
        score_term = signal * (log_prob - jax.lax.stop_gradient(log_prob))
        reparam_term = (control(z) - control(z_fixed)) - (control(z_cond) - control_cond_fixed)
        return value + score_term + reparam_term

    return jnp.mean(map_samples(one, key, num_samples, chunk_size))
