"""The joint support as one categorical: what the without-replacement estimators share.

A distribution with the ``JointSupport`` capability (Categorical, OneHotCategorical,
Bernoulli, any batch shape) is read as ONE categorical over its M = K^D joint outcomes, whose
log-probabilities ``joint_support()`` returns (differentiable in the parameters). The
estimators pick k of those outcomes and evaluate ``f`` there only.
"""

from __future__ import annotations

from collections.abc import Callable

import jax

from reparax._checks import check_count
from reparax._keyed import bind_key
from reparax.capabilities import JointSupport

#: The largest joint support read as one categorical (its M log-probabilities are formed).
DEFAULT_MAX_SUPPORT = 2**16


def joint_categorical(
    dist: JointSupport, max_support: int, method: str
) -> tuple[jax.Array, jax.Array]:
    """``(outcomes (M, *sample_shape), log_probs (M,))``, refused above ``max_support``."""
    check_count("max_support", max_support)
    size = dist.support_size()
    if size > max_support:
        raise ValueError(
            f"method={method!r} reads the distribution as one categorical over its {size} "
            f"joint outcomes, more than max_support={max_support}. Raise `max_support` (the "
            "cost is linear in it), or use an estimator for factorized distributions such as "
            "'rloo', 'disarm' or 'indecater'."
        )
    return dist.joint_support()


def costs_at(
    f: Callable[[jax.Array], jax.Array],
    outcomes: jax.Array,
    index: jax.Array,
    key: jax.Array,
    chunk_size: int | None,
) -> jax.Array:
    """f at ``outcomes[index]``, ``chunk_size`` at a time; a keyed f gets ``key``'s inner
    key at every outcome (one draw of its own randomness, independent of the chosen set)."""
    cost = bind_key(f, key)
    chosen = outcomes[index]
    if chunk_size is None or chunk_size >= index.shape[0]:
        return jax.vmap(cost)(chosen)
    return jax.lax.map(cost, chosen, batch_size=chunk_size)
