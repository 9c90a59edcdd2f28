"""Diagnostics for gradient estimators: variance, signal-to-noise, bias and cost.

All of them work on many independent estimates, drawn with :func:`estimator_samples` (one
``vmap`` over keys, no Python loop).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp

from reparax import _registry
from reparax._api import Estimate, gradient_estimate, resolve_method


def estimator_samples(
    f: Callable,
    dist: Any,
    key: jax.Array,
    *,
    method: str,
    num_estimates: int,
    num_samples: int = 1,
    **options: Any,
) -> Estimate:
    """``num_estimates`` independent estimates, stacked along a leading axis."""
    keys = jax.random.split(key, num_estimates)

    def one(k):
        return gradient_estimate(f, dist, k, method=method, num_samples=num_samples, **options)

    return jax.jit(jax.vmap(one))(keys)


class Summary(NamedTuple):
    """Mean, its standard error, and the variance of one estimate, leaf by leaf."""

    mean: Any
    stderr: Any
    variance: Any


def summarize(samples: Any) -> Summary:
    """Summary statistics over the leading axis of every leaf of ``samples``."""
    num = jax.tree.leaves(samples)[0].shape[0]
    variance = jax.tree.map(lambda x: jnp.var(x, axis=0, ddof=1), samples)
    return Summary(
        jax.tree.map(lambda x: jnp.mean(x, axis=0), samples),
        jax.tree.map(lambda v: jnp.sqrt(v / num), variance),
        variance,
    )


def signal_to_noise(samples: Any) -> Any:
    """|mean| / standard deviation of one estimate, leaf by leaf."""
    summary = summarize(samples)
    return jax.tree.map(lambda m, v: jnp.abs(m) / jnp.sqrt(v), summary.mean, summary.variance)


def bias_z_score(samples: Any, exact: Any, *, atol: float = 1e-6) -> Any:
    """(mean − exact) / √(stderr² + atol²): |z| below ~5 is consistent with no bias.

    ``atol`` floors the denominator so that coordinates an estimator gets exactly (zero
    variance) are not flagged for float32 rounding.
    """
    summary = summarize(samples)
    return jax.tree.map(
        lambda m, s, e: (m - e) / jnp.sqrt(s**2 + atol**2), summary.mean, summary.stderr, exact
    )


def f_evaluations(method: str, dist: Any, num_samples: int) -> int:
    """f-evaluations one estimate costs."""
    name = resolve_method(method, dist, num_samples)
    return num_samples * _registry.lookup(name).count_evaluations(dist)


def time_per_estimate(
    f: Callable,
    dist: Any,
    key: jax.Array,
    *,
    method: str,
    num_samples: int = 1,
    repeats: int = 20,
    **options: Any,
) -> float:
    """Median wall-clock seconds of one jit-compiled ``gradient_estimate`` (compile excluded)."""
    run = jax.jit(
        lambda d, k: gradient_estimate(f, d, k, method=method, num_samples=num_samples, **options)
    )
    jax.block_until_ready(run(dist, key))
    times = []
    for i in range(repeats):
        k = jax.random.fold_in(key, i)
        start = time.perf_counter()
        jax.block_until_ready(run(dist, k))
        times.append(time.perf_counter() - start)
    return sorted(times)[len(times) // 2]
