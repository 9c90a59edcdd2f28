"""Per-sample evaluation: sample i uses key ``split(key, num_samples)[i]``, vmapped or chunked."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp

from reparax import _sharding


def map_samples(
    fn: Callable[[jax.Array], Any], key: jax.Array, num_samples: int, chunk_size: int | None
) -> Any:
    """Stacks ``fn(key_i)`` over ``key_i = split(key, num_samples)[i]``.

    With ``chunk_size`` the samples are evaluated ``chunk_size`` at a time under
    ``jax.checkpoint`` inside ``lax.map``, so neither the forward pass nor the backward pass
    holds more than one chunk's intermediates: memory is bounded for any ``num_samples``,
    and the per-sample values are those of the unchunked evaluation. Under the estimator's
    ``sample_sharding`` the keys (each chunk's, when chunked) are split over devices and XLA
    splits the work computed from them (``reparax._sharding``): the same per-sample values.
    """
    keys = jax.random.split(key, num_samples)
    sharding = _sharding.active()
    batched = _sharding.spread(jax.vmap(_sharding.unsharded(fn)), sharding)
    if chunk_size is None or chunk_size >= num_samples:
        return batched(keys)
    num_chunks = num_samples // chunk_size
    keys = _sharding.replicate(keys, sharding)  # each chunk is split over devices, not these
    head = keys[: num_chunks * chunk_size].reshape((num_chunks, chunk_size) + keys.shape[1:])
    out = _sharding.replicate(jax.lax.map(jax.checkpoint(batched), head), sharding)
    out = jax.tree.map(lambda x: x.reshape((num_chunks * chunk_size,) + x.shape[2:]), out)
    if num_chunks * chunk_size == num_samples:
        return out
    tail = batched(keys[num_chunks * chunk_size :])
    return jax.tree.map(lambda a, b: jnp.concatenate([a, b]), out, tail)


def attach_gradient(value: jax.Array, surrogate: jax.Array) -> jax.Array:
    """A scalar whose value is ``value`` and whose derivative is ``surrogate``'s."""
    return value + (surrogate - jax.lax.stop_gradient(surrogate))


def linear_probe(param: jax.Array, grad: jax.Array) -> jax.Array:
    """Zero-valued scalar whose derivative in ``param`` is ``grad`` (a fixed estimate)."""
    param = jnp.broadcast_to(param, grad.shape)
    grad = jax.lax.stop_gradient(grad)
    held = jax.lax.stop_gradient(param)
    # param − sg(param) is 0 with derivative 1, but inf − inf is NaN at a ±inf logit (a
    # probability of exactly 0 or 1, with a finite estimate), so there it is dropped. At a
    # NaN parameter it is NaN, and kept: the poisoning of an invalid parameter
    # (Distribution.checked) must reach the value and, added to ``grad``, the derivative,
    # which an estimate computed from comparisons with NaN (ARM's) would leave finite.
    delta = jnp.where(jnp.isinf(held), 0.0, param - held)
    return jnp.sum(delta * (grad + jax.lax.stop_gradient(delta)))


def finite_or_zero(x: jax.Array) -> jax.Array:
    """``x`` where its value is finite, else 0 (with no derivative there).

    A class of probability exactly 0 has logit −inf, and its derivative is 0: terms that would
    form 0 · inf or inf − inf from it are dropped instead of turning the estimate into NaN.
    """
    return jnp.where(jnp.isfinite(jax.lax.stop_gradient(x)), x, 0.0)


def stop_parameters(dist: Any) -> Any:
    """The same distribution with every parameter behind ``stop_gradient``."""
    return jax.tree.map(jax.lax.stop_gradient, dist)
