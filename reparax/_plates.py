"""Plates: one cost per independent batch element, each element credited with its own.

With ``plates=k`` the leading ``k`` batch axes of the distribution are independent elements
(data points of a minibatch, say) and ``f`` returns one cost per element, of shape
``dist.batch_shape[:k]``. The estimate is then, exactly, a ``jax.vmap`` of the single-site
estimator over the elements: element b has its own key (``jax.random.split(key, B)[b]``
over the flattened plate axes), its own samples, scores, leave-one-out baselines,
ARM/DisARM pairs, IndeCateR rows and measure-valued rows, and its gradient reads its own
cost c_b only:

.. math:: \\hat g_b = \\hat G\\big[z_b ↦ c_b(z)\\big] \\quad\\text{for } θ_b, \\qquad
          \\text{value} = \\sum_b \\widehat{E}[c_b].

Crediting element b with c_b alone is unbiased when c_b does not depend on the other
elements' samples (what a plate declares); summing f over the batch instead is unbiased but
adds every other element's noise to each element's gradient.

``f`` is still evaluated once per evaluation on the whole batch, not once per element: inside
the vmap over elements, ``jax.lax.all_gather`` assembles the elements' values into the full
batch, unbatched along the plate axis, so ``f`` runs once and each element takes its entry
of the cost vector (``jax.lax.axis_index``). The local-evaluation estimators therefore
replace coordinate d of every element at once: IndeCateR costs L·K + 1 batched evaluations
for L latents per element, not B·L·K.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp

from reparax._keyed import KeyedCost, is_keyed

#: The vmap axis of plate elements (collectives inside f's wrapper refer to it).
AXIS = "reparax_plate"


def check_plates(plates: Any, dist: Any) -> int:
    """``plates`` as an int in [0, len(batch_shape)], or ``TypeError``/``ValueError``."""
    if isinstance(plates, bool) or not isinstance(plates, int):
        raise TypeError(
            f"`plates` must be a Python int (the number of leading batch axes that are "
            f"independent elements, each with its own cost), got {plates!r}."
        )
    batch_shape = tuple(dist.batch_shape)
    if not 0 <= plates <= len(batch_shape):
        raise ValueError(
            f"`plates` must be between 0 and the number of batch axes of the distribution "
            f"({len(batch_shape)}, batch_shape {batch_shape}), got {plates}."
        )
    if plates and not hasattr(type(dist), "_declared"):
        raise TypeError(
            f"`plates` needs a distribution built with reparax's declared parameters "
            f"(rx.distribution / rx.param), got {type(dist).__name__}."
        )
    return plates


def describe_output(out: Any) -> str:
    """How an abstract output of ``f`` (from ``jax.eval_shape``) reads in an error: its shape,
    or, for a container (a forgotten ``has_aux=True``, a pytree of costs), its type."""
    if out is None:
        return "None"
    if isinstance(out, (tuple, list)):
        return f"a {type(out).__name__} of length {len(out)}"
    if isinstance(out, dict):
        return f"a dict with keys {sorted(map(str, out))}"
    shape = getattr(out, "shape", None)
    if shape is None:
        return f"a {type(out).__name__}"
    return f"shape {tuple(shape)}"


def aux_hint(out: Any) -> str:
    """A hint for an ``f`` that returns a pair: ``has_aux=True`` is how reparax takes it."""
    if isinstance(out, tuple) and len(out) == 2:
        return (
            " If f returns (cost, aux) with aux values to log, pass has_aux=True to "
            "rx.expectation or rx.gradient_estimate."
        )
    return ""


def cost_shape_error(out: Any, example_shape: tuple, plate_shape: tuple) -> ValueError:
    """The error for an ``f`` whose output (abstract: from ``jax.eval_shape``) is not of the
    shape ``plates`` implies."""
    returned = describe_output(out)
    if plate_shape:
        return ValueError(
            f"With plates={len(plate_shape)}, `f` must return one cost per element of the "
            f"leading batch axes, shape {plate_shape}; for a sample of shape {example_shape} "
            f"it returned {returned}.{aux_hint(out)}"
        )
    hint = aux_hint(out)
    shape = getattr(out, "shape", None)
    if shape and tuple(example_shape[: len(shape)]) == tuple(shape):
        hint = (
            f" If the entries are costs of independent batch elements (a minibatch), pass "
            f"plates={len(shape)}: each element is then credited with its own cost."
        )
    reduce = (
        "; reparax maps f over samples itself, so reduce inside f (e.g. jnp.sum)" if shape else ""
    )
    return ValueError(
        f"`f` must map one sample (shape {example_shape}) to a scalar, but it returned "
        f"{returned}{reduce}.{hint}"
    )


def _elements(dist: Any, plates: int) -> tuple[Any, tuple[int, ...]]:
    """``dist`` with every parameter broadcast to the batch shape and its plate axes
    flattened into one leading axis (for ``jax.vmap``), and the plate shape."""
    batch_shape = tuple(dist.batch_shape)
    plate_shape = batch_shape[:plates]
    flat = (math.prod(plate_shape),)
    updated = {}
    for p in type(dist)._declared:
        value = jnp.asarray(getattr(dist, p.name))
        event = value.shape[value.ndim - p.event_ndims :] if p.event_ndims else ()
        value = jnp.broadcast_to(value, batch_shape + event)
        updated[p.name] = value.reshape(flat + value.shape[plates:])
    return dist.replace(**updated), plate_shape


def _gather(value: jax.Array, plate_shape: tuple[int, ...]) -> jax.Array:
    """The whole batch from one element's value (inside the vmap over elements)."""
    gathered = jax.lax.all_gather(value, AXIS)
    return gathered.reshape(plate_shape + gathered.shape[1:])


def _shared_key(key: jax.Array) -> jax.Array:
    """One key for the whole batch: the first element's (so ``f`` runs once, unbatched)."""
    if jnp.issubdtype(key.dtype, jax.dtypes.prng_key):
        data = jax.lax.all_gather(jax.random.key_data(key), AXIS)[0]
        return jax.random.wrap_key_data(data, impl=jax.random.key_impl(key))
    return jax.lax.all_gather(key, AXIS)[0]


def _element_cost(f: Callable, plate_shape: tuple[int, ...]) -> Callable:
    """Element b's cost function: f on the gathered batch, entry b of its output."""

    def pick(costs: jax.Array) -> jax.Array:
        # A selection, not costs[axis_index]: a gather whose operand and index are both
        # batched (keys vmapped around a Joint) crashed XLA's CPU backend under jit (JAX 0.10).
        flat = costs.reshape(-1)
        mine = jnp.arange(flat.shape[0]) == jax.lax.axis_index(AXIS)
        return jnp.sum(jnp.where(mine, flat, 0.0))

    if is_keyed(f):
        keyed: KeyedCost = f  # type: ignore[assignment]
        return KeyedCost(lambda z, key: pick(keyed.fn(_gather(z, plate_shape), _shared_key(key))))
    return lambda z: pick(f(_gather(z, plate_shape)))


def plated(
    surrogate: Callable[[Callable, Any, jax.Array], jax.Array],
    f: Callable,
    dist: Any,
    key: jax.Array,
    plates: int,
) -> jax.Array:
    """Σ_b surrogate(f_b, dist_b, key_b) over the plate elements b, as one vmap.

    Args:
      surrogate: ``surrogate(f, dist, key)``, the single-site estimator's surrogate.
      f: maps the whole batch's sample to costs of shape ``dist.batch_shape[:plates]``.
      dist: the distribution (its leading ``plates`` batch axes are the elements).
      key: a PRNG key; element b uses ``jax.random.split(key, B)[b]`` (flattened order).
      plates: the number of leading batch axes that are elements (≥ 1).
    """
    elements, plate_shape = _elements(dist, plates)
    keys = jax.random.split(key, math.prod(plate_shape))
    cost = _element_cost(f, plate_shape)

    def one(element: Any, element_key: jax.Array) -> jax.Array:
        return surrogate(cost, element, element_key)

    return jnp.sum(jax.vmap(one, axis_name=AXIS)(elements, keys))
