"""Doubly reparameterized gradients of the importance-weighted bound (DReG)."""

from __future__ import annotations

from collections.abc import Callable

import jax
import jax.numpy as jnp

from reparax.capabilities import Reparameterized
from reparax.estimator import Estimator
from reparax.estimators._bound import (
    REFERENCES,
    log_mean_exp,
    log_weight,
    map_weighted,
    normalized_weights,
)
from reparax.estimators._sampling import attach_gradient, map_samples, stop_parameters


def _dreg(
    log_joint: Callable[[jax.Array], jax.Array],
    dist: Reparameterized,
    key: jax.Array,
    *,
    num_samples: int = 1,
    chunk_size: int | None = None,
) -> jax.Array:
    r"""The K-sample importance-weighted bound with doubly reparameterized gradients (DReG).

    With z_k = g_φ(ε_k) from q = ``dist``, l_k = log p(x, z_k) − log q_φ(z_k) and
    w̃_k = w_k / Σ_j w_j, the gradients are

    .. math:: ĝ_φ = \sum_k w̃_k^2 \, \frac{∂ l_k}{∂ z_k} \frac{∂ z_k}{∂ φ}
              \quad(\text{log q's direct φ-dependence stopped}), \qquad
              ĝ_θ = \sum_k w̃_k ∇_θ \log p(x, z_k),

    for q's parameters φ (``dist``'s leaves) and for the model's θ (whatever ``log_joint``
    closes over). The φ-part rewrites IWAE's score term E[Σ_k w̃_k ∇_φ log q(z_k)] by a second
    reparameterization; both parts are unbiased for ∇L_K, and the φ-part's signal-to-noise
    ratio no longer decays with K.

    One scalar carries both: the log-weights' values give w̃ (without gradient), and then

    .. math:: S = \sum_k w̃_k \big(\log p(x, \tilde z_k) − \log q_{\bar φ}(\tilde z_k)\big),
              \qquad \tilde z_k = \bar z_k + w̃_k (z_k − \bar z_k),

    with bars for stop_gradient: z̃_k equals z_k but carries its φ-derivative scaled by w̃_k,
    so the path through z collects w̃_k², while θ, reached only inside ``log_joint``, collects
    w̃_k. ``log_joint`` is evaluated twice per sample, once without gradient (for w̃).

    Shared parameters: when θ and φ are the same arrays (an encoder and a decoder sharing
    weights, or a q built from the model's parameters), the gradient is the sum of the two
    parts above, the DReG estimate of the φ-role plus the IWAE estimate of the θ-role: by the
    chain rule, an unbiased estimate of the total derivative of L_K. First derivatives only:
    second derivatives of this surrogate are not those of L_K, so they are refused.

    Args:
      log_joint: maps ONE sample z to log p(x, z), a scalar, differentiable in z.
      dist: the proposal q, a reparameterized distribution.
      key: a PRNG key; sample k uses ``jax.random.split(key, num_samples)[k]``.
      num_samples: K ≥ 1 (at K = 1 the φ-gradient is STL's).
      chunk_size: evaluate the samples this many at a time (same result, bounded memory).

    Returns:
      A scalar equal to log (1/K) Σ_k w_k whose derivative is the estimator.

    Example:
      >>> import jax, jax.numpy as jnp, reparax as rx
      >>> log_joint = lambda z: -0.5 * z**2 - 0.5 * (1.0 - z) ** 2
      >>> q = rx.Normal(0.3, 0.8)
      >>> g = jax.grad(lambda q: rx.multisample_bound(log_joint, q, jax.random.key(0),
      ...                                              method="dreg", num_samples=8))(q)
      >>> g.loc.shape
      ()

    References:
      Tucker, Lawson, Gu & Maddison (2019), https://arxiv.org/abs/1810.04152.
    """
    frozen = stop_parameters(dist)

    def value(sample_key: jax.Array) -> jax.Array:
        z = frozen.rsample(sample_key)
        return jax.lax.stop_gradient(log_weight(log_joint, frozen, z, sample_key))

    log_weights = map_samples(value, key, num_samples, chunk_size)
    weights = normalized_weights(log_weights)

    def weighted(sample_key: jax.Array, weight: jax.Array) -> jax.Array:
        z = dist.rsample(sample_key)
        held = jax.lax.stop_gradient(z)
        scaled = held + weight.astype(z.dtype) * (z - held)
        return weight * log_weight(log_joint, frozen, scaled, sample_key)

    terms = map_weighted(weighted, key, weights, chunk_size)
    return attach_gradient(log_mean_exp(log_weights), jnp.sum(terms))


dreg = Estimator(
    name="dreg",
    fn=_dreg,
    unbiased=True,
    differentiable_f=True,
    evaluations="2 (one without gradient)",
    count_evaluations=lambda dist: 2,  # the weights pass, then the doubly reparameterized one
    requires=(Reparameterized,),
    max_order=1,
    objective="bound",
    references=(
        "Tucker, Lawson, Gu & Maddison 2019, Doubly Reparameterized Gradient Estimators for "
        "Monte Carlo Objectives, ICLR, arXiv:1810.04152",
        *REFERENCES,
    ),
)
