"""The importance-weighted bound with pathwise gradients (IWAE)."""

from __future__ import annotations

from collections.abc import Callable

import jax

from reparax.capabilities import Reparameterized
from reparax.estimator import Estimator
from reparax.estimators._bound import REFERENCES, log_mean_exp, log_weight
from reparax.estimators._sampling import map_samples


def _iwae(
    log_joint: Callable[[jax.Array], jax.Array],
    dist: Reparameterized,
    key: jax.Array,
    *,
    num_samples: int = 1,
    chunk_size: int | None = None,
) -> jax.Array:
    r"""The K-sample importance-weighted bound with its pathwise gradient (IWAE).

    With z_k = g_φ(ε_k) drawn from q = ``dist`` and l_k = log p(x, z_k) − log q_φ(z_k),

    .. math:: L_K = E\Big[\log \frac1K \sum_k e^{l_k}\Big], \qquad
              ∇ L_K ≈ \sum_k w̃_k ∇ l_k, \quad w̃_k = \frac{e^{l_k}}{\sum_j e^{l_j}},

    the derivative of the Monte Carlo bound through the reparameterized samples, for q's
    parameters φ and for anything ``log_joint`` closes over (the model's θ) alike. Unbiased
    for ∇L_K at every derivative order. Its φ-gradient's signal-to-noise ratio decays like
    1/√K as K grows (Rainforth et al. 2018); ``rx.dreg`` removes the score term responsible.
    At K = 1 it is the reparameterized ELBO gradient. Use it through
    ``rx.multisample_bound(log_joint, dist, key, method="iwae", num_samples=K)``.

    Args:
      log_joint: maps ONE sample z to log p(x, z), a scalar, differentiable in z.
      dist: the proposal q, a reparameterized distribution.
      key: a PRNG key; sample k uses ``jax.random.split(key, num_samples)[k]``.
      num_samples: K ≥ 1.
      chunk_size: evaluate the samples this many at a time (same result, bounded memory).

    Returns:
      A scalar equal to log (1/K) Σ_k w_k whose derivative is the estimator.

    Example:
      >>> import jax, jax.numpy as jnp, reparax as rx
      >>> log_joint = lambda z: -0.5 * z**2 - 0.5 * (1.0 - z) ** 2
      >>> q = rx.Normal(0.3, 0.8)
      >>> bound = rx.multisample_bound(log_joint, q, jax.random.key(0), method="iwae",
      ...                              num_samples=8)
      >>> bound.shape
      ()

    References:
      Burda, Grosse & Salakhutdinov (2016), https://arxiv.org/abs/1509.00519.
    """

    def one(sample_key: jax.Array) -> jax.Array:
        return log_weight(log_joint, dist, dist.rsample(sample_key), sample_key)

    return log_mean_exp(map_samples(one, key, num_samples, chunk_size))


iwae = Estimator(
    name="iwae",
    fn=_iwae,
    unbiased=True,
    differentiable_f=True,
    evaluations="1",
    requires=(Reparameterized,),
    objective="bound",
    references=REFERENCES,
)
