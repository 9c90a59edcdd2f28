"""The log of a standard Gamma draw with its implicit derivative in the concentration.

Gamma, Beta, Dirichlet and StudentT are built on it. Computed in log space so that
concentrations from 1e-3 (whose draws underflow float32: z ≈ e^{−1000}) to 1e4 give finite,
accurate gradients.
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
from jax.scipy.special import digamma

# Below e^{-30} a standard Gamma draw satisfies P(α, z) = z^α/Γ(α+1)·(1 + O(z)), whence
# d log z/dα = −(log z − ψ(α + 1))/α to relative accuracy 1e-13.
_TINY_LOG_Z = -30.0


@jax.custom_jvp
def log_standard_gamma(concentration: jax.Array, key: jax.Array) -> jax.Array:
    """log G, G ~ Gamma(concentration, 1), shaped like ``concentration``; differentiable in
    the concentration by implicit reparameterization (d log G/dα = −∂αP(α, G)/(G p(G)))."""
    return jax.lax.stop_gradient(jax.random.loggamma(key, concentration, concentration.shape))


@log_standard_gamma.defjvp
def _log_standard_gamma_jvp(
    primals: tuple[Any, ...], tangents: tuple[Any, ...]
) -> tuple[jax.Array, jax.Array]:
    concentration, key = primals
    concentration_dot, _ = tangents
    log_z = log_standard_gamma(concentration, key)
    z = jnp.exp(log_z)
    tiny = log_z < _TINY_LOG_Z
    safe_z = jnp.where(tiny, 1.0, z)
    # jax.random's own implicit derivative dz/dα (accurate away from underflow), over z.
    general = jax.lax.random_gamma_grad(concentration, safe_z) / safe_z
    asymptotic = -(log_z - digamma(concentration + 1.0)) / concentration
    return log_z, jnp.where(tiny, asymptotic, general) * concentration_dot
