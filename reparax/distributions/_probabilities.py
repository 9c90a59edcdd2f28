"""``logits=`` or ``probs=``: the two parameterizations of the logit-parameterized families.

The stored leaf is always ``logits`` (log space keeps probabilities of 1e-30 exact);
``probs`` is validated against its own constraint, then converted. Probabilities of exactly 0
and 1 become logits of −inf and +inf, which the families that admit them handle.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp

from reparax.constraints import Constraint
from reparax.distributions._base import _is_traced, check_concrete


def binary_logits(probs: jax.Array) -> jax.Array:
    """log p − log(1 − p), exact for probabilities down to the smallest normal float."""
    return jnp.log(probs) - jnp.log1p(-probs)


def categorical_logits(probs: jax.Array) -> jax.Array:
    """log p: probabilities of 1e-30 stay finite (−69), zeros become −inf (never sampled)."""
    return jnp.log(probs)


def logits_from(
    family: str,
    logits: Any,
    probs: Any,
    *,
    probs_constraint: Constraint,
    to_logits: Callable[[jax.Array], jax.Array],
) -> Any:
    """The ``logits`` leaf from exactly one of ``logits`` and ``probs``.

    ``probs`` is converted to a floating array and, when concrete, checked against
    ``probs_constraint`` (a ``ValueError`` naming ``probs``) before ``to_logits``. A traced
    ``probs`` that breaks the constraint becomes NaN (its event together), as invalid traced
    parameters do everywhere: the conversion would otherwise hide it (log p of an
    off-simplex row is a valid row of logits, silently renormalised).
    """
    if (logits is None) == (probs is None):
        given = "both" if logits is not None else "neither"
        raise TypeError(
            f"{family}: give exactly one of `logits` and `probs` (got {given}), e.g. "
            f"{family}(logits=...) or {family}(probs=...)."
        )
    if logits is not None:
        return logits
    try:
        probs = jnp.asarray(probs)
    except (TypeError, ValueError):
        raise TypeError(
            f"{family}: `probs` must be an array or a number, got {type(probs).__name__}."
        ) from None
    probs = probs.astype(jnp.result_type(probs, float))
    if not _is_traced(probs):
        check_concrete(family, "probs", probs_constraint, probs)
        return to_logits(probs)
    valid = probs_constraint.check(probs)
    valid = jnp.reshape(valid, valid.shape + (1,) * probs_constraint.event_ndims)
    return to_logits(jnp.where(valid, probs, jnp.nan))
