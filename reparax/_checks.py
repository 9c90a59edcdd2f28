"""Input validation shared by every estimator: fail at trace time with a clear message."""

from __future__ import annotations

import numbers
from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp

from reparax import _registry
from reparax.distributions._base import Distribution


def check_key(key: Any) -> jax.Array:
    """Accepts a typed key (``jax.random.key``) or a legacy ``uint32[2]`` ``PRNGKey``."""
    dtype = getattr(key, "dtype", None)
    shape = getattr(key, "shape", None)
    if dtype is not None and jnp.issubdtype(dtype, jax.dtypes.prng_key):
        if shape != ():
            raise TypeError(
                f"`key` must be a single PRNG key, got a key array of shape {shape}; "
                "split it and pass one key (or vmap over the keys)."
            )
        return key
    if dtype == jnp.uint32 and shape == (2,):
        return key
    raise TypeError(
        f"`key` must be a PRNG key from jax.random.key(seed) or jax.random.PRNGKey(seed), "
        f"got {type(key).__name__} with dtype {dtype} and shape {shape}."
    )


def check_count(name: str, value: Any, *, minimum: int = 1, allow_none: bool = False) -> None:
    if value is None and allow_none:
        return
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(
            f"`{name}` must be a Python int (a static count), got {type(value).__name__} {value!r}."
        )
    if value < minimum:
        raise ValueError(f"`{name}` must be >= {minimum}, got {value}.")


def check_distribution(dist: Any) -> None:
    if not isinstance(dist, Distribution):
        raise TypeError(
            f"`dist` must be a reparax distribution (e.g. rx.Normal(loc, scale)), got "
            f"{type(dist).__name__}."
        )


def check_cost(f: Callable, example: jax.Array) -> None:
    """``f`` maps ONE sample to a scalar; checked abstractly with ``jax.eval_shape``."""
    if not callable(f):
        raise TypeError(f"`f` must be a callable mapping one sample to a scalar, got {f!r}.")
    out = jax.eval_shape(f, jax.ShapeDtypeStruct(example.shape, example.dtype))
    shape = getattr(out, "shape", None)
    if shape != ():
        raise ValueError(
            f"`f` must map one sample (shape {example.shape}) to a scalar, but it returned "
            f"shape {shape}; reparax maps f over samples itself, so reduce inside f "
            "(e.g. jnp.sum)."
        )
    if not jnp.issubdtype(out.dtype, jnp.floating):
        raise TypeError(f"`f` must return a floating-point scalar, got dtype {out.dtype}.")


def validate(
    method: str, f: Callable, dist: Any, key: Any, num_samples: Any, chunk_size: Any = None
) -> None:
    """Every check an estimator needs before tracing anything; raises on the first failure."""
    info = _registry.lookup(method)
    check_distribution(dist)
    dist.check_parameters()
    _registry.check_supported(info, dist)
    check_key(key)
    check_count("num_samples", num_samples, minimum=info.min_samples)
    check_count("chunk_size", chunk_size, allow_none=True)
    check_cost(f, jax.eval_shape(dist.sample, key))
