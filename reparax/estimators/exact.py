"""Exact expectation and gradient by enumerating a finite joint support."""

from __future__ import annotations

from collections.abc import Callable

import jax
import jax.numpy as jnp

from reparax._checks import check_count
from reparax._keyed import bind_key, is_keyed
from reparax.capabilities import JointSupport
from reparax.estimator import Estimator

DEFAULT_MAX_SUPPORT = 2**16


def _exact(
    f: Callable[[jax.Array], jax.Array],
    dist: JointSupport,
    key: jax.Array,
    *,
    num_samples: int = 1,
    chunk_size: int | None = None,
    max_support: int = DEFAULT_MAX_SUPPORT,
) -> jax.Array:
    r"""Exact expectation and gradient by enumerating the joint support.

    .. math:: E_{p_θ}[f] = c + \sum_z p_θ(z) (f(z) − c), \qquad
              ∇_θ E = \sum_z ∇_θ p_θ(z) (f(z) − c) + p_θ(z) ∇f(z)

    with c = f at the first outcome, held fixed: the same value and gradient as Σ p f (since
    Σ p = 1), but a large constant in f cancels exactly in float32 instead of swamping the
    differences. Deterministic (``key`` and ``num_samples`` do not change the result, unless
    ``f`` takes a key);
    derivatives of every order are exact. Refuses when the joint support has more than
    ``max_support`` outcomes (K^D for D elements of K classes).

    Args:
      f: maps ONE sample to a scalar.
      dist: a finite factorized distribution (Bernoulli, Categorical, OneHotCategorical).
      key: a PRNG key (validated, unused).
      num_samples: unused, except for an ``f`` declared with ``rx.with_key``: the number
        of inner keys its value is averaged over (z is still summed exactly).
      chunk_size: evaluate f on this many outcomes at a time.
      max_support: the largest joint support to enumerate (default 2¹⁶).

    Returns:
      The exact E[f] as a scalar whose derivative is the exact gradient.

    Example:
      >>> import jax, jax.numpy as jnp, reparax as rx
      >>> dist = rx.Bernoulli(logits=jnp.zeros(3))
      >>> rx.exact(lambda b: jnp.sum(b), dist, jax.random.key(0))
      Array(1.5, dtype=float32)
    """
    check_count("max_support", max_support)
    size = dist.support_size()
    if size > max_support:
        raise ValueError(
            f"method='exact' would enumerate {size} joint outcomes, more than "
            f"max_support={max_support}. Raise `max_support`, or use a sampling estimator "
            "such as 'indecater', 'rloo' or 'disarm'."
        )
    values, log_probs = dist.joint_support()

    def over_support(cost: Callable[[jax.Array], jax.Array]) -> jax.Array:
        if chunk_size is None:
            return jax.vmap(cost)(values)
        return jax.lax.map(cost, values, batch_size=chunk_size)

    if is_keyed(f):
        # E_z E_u[f(z, u)]: z summed exactly, u averaged over num_samples inner keys.
        keys = jax.random.split(key, num_samples)
        f_values = jnp.mean(jax.vmap(lambda k: over_support(bind_key(f, k)))(keys), 0)
    else:
        f_values = over_support(f)
    reference = jax.lax.stop_gradient(f_values[0])
    return reference + jnp.sum(jnp.exp(log_probs) * (f_values - reference))


exact = Estimator(
    name="exact",
    fn=_exact,
    unbiased=True,
    differentiable_f=False,
    evaluations="K^D (the whole joint support; no sampling)",
    requires=(JointSupport,),
    count_evaluations=lambda dist: dist.support_size(),
    auto_rank=10,
    references=("Exact enumeration: E[f] = Σ_z p_θ(z) f(z), differentiated by jax.grad",),
)
