"""Sticking the landing: the single-sample ELBO's path-derivative gradient (STL)."""

from __future__ import annotations

from collections.abc import Callable

import jax
import jax.numpy as jnp

from reparax.capabilities import Reparameterized
from reparax.estimator import Estimator
from reparax.estimators._bound import log_weight
from reparax.estimators._sampling import map_samples, stop_parameters


def _stl(
    log_joint: Callable[[jax.Array], jax.Array],
    dist: Reparameterized,
    key: jax.Array,
    *,
    num_samples: int = 1,
    chunk_size: int | None = None,
) -> jax.Array:
    r"""The ELBO with the path-derivative gradient, "sticking the landing" (STL).

    STL estimates the SINGLE-sample bound, the ELBO L_1 = E_q[log p(x, z) − log q_φ(z)],
    whatever ``num_samples``: with N samples its value is the average of N independent
    single-sample terms, (1/N) Σ_k l_k, not the K-sample bound log (1/K) Σ_k w_k of
    ``iwae``/``dreg``/``vimco``. Its gradient differentiates l_k = log p(x, z_k) −
    log q_{φ̄}(z_k) with z_k = g_φ(ε_k) but φ̄ = stop_gradient(φ):

    .. math:: ĝ_φ = \frac1N \sum_k ∇_z \big(\log p(x, z) − \log q_φ(z)\big)\big|_{z_k}
              \frac{∂ z_k}{∂ φ},

    which drops the score term −∇_φ log q_φ(z_k), whose expectation is zero: unbiased for
    ∇L_1, and of ZERO variance when q is the exact posterior (then l is constant in z). The
    model's θ-gradient is the usual (1/N) Σ_k ∇_θ log p(x, z_k). First derivatives only: the
    surrogate's Hessian misses the derivative of the dropped term, so it is refused.

    Args:
      log_joint: maps ONE sample z to log p(x, z), a scalar, differentiable in z.
      dist: the variational distribution q, reparameterized.
      key: a PRNG key; sample k uses ``jax.random.split(key, num_samples)[k]``.
      num_samples: N ≥ 1 independent single-sample ELBO terms, averaged.
      chunk_size: evaluate the samples this many at a time (same result, bounded memory).

    Returns:
      A scalar equal to (1/N) Σ_k l_k whose derivative is the estimator.

    Example:
      >>> import jax, jax.numpy as jnp, reparax as rx
      >>> log_joint = lambda z: -0.5 * z**2 - 0.5 * (1.0 - z) ** 2   # posterior N(1/2, 1/2)
      >>> q = rx.Normal(0.5, jnp.sqrt(0.5))
      >>> g = jax.grad(lambda q: rx.multisample_bound(log_joint, q, jax.random.key(0),
      ...                                              method="stl", num_samples=4))(q)
      >>> bool(abs(g.loc) < 1e-5 and abs(g.scale) < 1e-5)
      True

    References:
      Roeder, Wu & Duvenaud (2017), https://arxiv.org/abs/1703.09194.
    """
    frozen = stop_parameters(dist)

    def one(sample_key: jax.Array) -> jax.Array:
        return log_weight(log_joint, frozen, dist.rsample(sample_key), sample_key)

    return jnp.mean(map_samples(one, key, num_samples, chunk_size))


stl = Estimator(
    name="stl",
    fn=_stl,
    unbiased=True,
    differentiable_f=True,
    evaluations="1",
    requires=(Reparameterized,),
    max_order=1,
    objective="bound",
    references=(
        "Roeder, Wu & Duvenaud 2017, Sticking the Landing: Simple, Lower-Variance Gradient "
        "Estimators for Variational Inference, NeurIPS, arXiv:1703.09194",
    ),
)
