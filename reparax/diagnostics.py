"""Diagnostics for gradient estimators: variance, signal-to-noise, bias and cost.

All of them work on many independent estimates, drawn with :func:`estimator_samples` (one
``vmap`` over keys, no Python loop).
"""

from __future__ import annotations

import functools
import inspect
import time
from collections.abc import Callable
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from reparax._api import Estimate, auto_num_samples, gradient_estimate, resolve_method
from reparax._checks import check_count, check_distribution, check_options, check_supported
from reparax._keyed import is_keyed
from reparax.estimator import Estimator
from reparax.estimators.exact import exact as exact_estimator


def _is_array(x: Any) -> bool:
    return isinstance(x, (jax.Array, np.ndarray))


@functools.partial(
    jax.jit, static_argnames=("f", "method", "num_estimates", "num_samples", "static_options")
)
def _estimates(
    f: Callable,
    dist: Any,
    key: jax.Array,
    array_options: dict[str, Any],
    *,
    method: Any,
    num_estimates: int,
    num_samples: int,
    static_options: tuple[tuple[str, Any], ...],
) -> Estimate:
    def one(k: jax.Array) -> Estimate:
        return gradient_estimate(
            f,
            dist,
            k,
            method=method,
            num_samples=num_samples,
            **array_options,
            **dict(static_options),
        )

    return jax.vmap(one)(jax.random.split(key, num_estimates))


def estimator_samples(
    f: Callable,
    dist: Any,
    key: jax.Array,
    *,
    method: str | Estimator,
    num_estimates: int,
    num_samples: int = 1,
    **options: Any,
) -> Estimate:
    """``num_estimates`` independent estimates, stacked along a leading axis.

    One jit-compiled ``vmap`` over keys. The compilation is cached: a second call with the
    same ``f`` (the same function object), method, counts and non-array options reuses it,
    whatever the distribution's parameter values and the key. Options whose leaves are arrays
    (a baseline array, control-variate parameters) are passed as traced arguments; the rest
    (numbers, strings, functions) must be hashable.
    """
    array_options = {
        k: v
        for k, v in options.items()
        if jax.tree.leaves(v) and all(_is_array(leaf) for leaf in jax.tree.leaves(v))
    }
    static_options = tuple(sorted((k, v) for k, v in options.items() if k not in array_options))
    check_distribution(dist)
    check_count("num_estimates", num_estimates)
    dist.check_parameters()  # the concrete values, before they become traced arguments
    return _estimates(
        f,
        dist,
        key,
        array_options,
        method=method,
        num_estimates=num_estimates,
        num_samples=num_samples,
        static_options=static_options,
    )


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


def bias_z_score(samples: Any, exact: Any, *, atol: float = 1e-6) -> Any:
    """(mean − exact) / √(stderr² + atol²): |z| below ~5 is consistent with no bias.

    ``atol`` floors the denominator so that coordinates an estimator gets exactly (zero
    variance) are not flagged for float32 rounding.
    """
    summary = summarize(samples)
    return jax.tree.map(
        lambda m, s, e: (m - e) / jnp.sqrt(s**2 + atol**2), summary.mean, summary.stderr, exact
    )


def _evaluations_per_sample(estimator: Estimator, dist: Any, options: dict[str, Any]) -> int:
    """``estimator.count_evaluations(dist, **options)``, given only the options the count
    names (a count of ``dist`` alone, as a user's estimator may have, gets none)."""
    count = estimator.count_evaluations
    parameters = inspect.signature(count).parameters
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters.values()):
        return count(dist, **options)
    return count(dist, **{k: v for k, v in options.items() if k in parameters})


def f_evaluations(
    method: str | Estimator,
    dist: Any,
    num_samples: int,
    *,
    f: Callable | None = None,
    **options: Any,
) -> int:
    """f-evaluations one estimate costs (for ``"auto"``, with its share of the budget).

    ``num_samples`` times the method's evaluations per sample with ``options`` (e.g.
    ``gumbel_softmax`` with ``value="hard"`` evaluates f twice per sample). ``exact``
    enumerates the support once whatever ``num_samples``, which it reads only for an ``f``
    declared with ``rx.with_key`` (then as many inner keys, each over the whole support).

    Args:
      method: a method name, ``"auto"``, or an ``rx.Estimator``.
      dist: a reparax distribution.
      num_samples: as for ``rx.gradient_estimate``.
      f: the cost, optional: ``"auto"`` is then resolved as ``rx.gradient_estimate``
        resolves it for this ``f``, and a keyed ``f`` is counted for ``exact``.
      **options: the method's options, as for ``rx.gradient_estimate``.

    Example:
      >>> import jax.numpy as jnp, reparax as rx
      >>> dist = rx.Bernoulli(jnp.zeros(3))
      >>> rx.diagnostics.f_evaluations("disarm", dist, 4)  # 4 antithetic pairs
      8
      >>> rx.diagnostics.f_evaluations("gumbel_softmax", dist, 4, value="hard")
      8
      >>> rx.diagnostics.f_evaluations("exact", dist, 4)  # the 2³ outcomes, once
      8
    """
    check_distribution(dist)
    estimator = resolve_method(method, dist, num_samples, f, options)
    check_supported(estimator, dist)
    check_options(estimator, options, dist)
    if isinstance(method, str) and method.lower() == "auto":
        num_samples = auto_num_samples(estimator, dist, num_samples)
    else:
        check_count("num_samples", num_samples, minimum=estimator.min_samples, method=estimator)
    per_sample = _evaluations_per_sample(estimator, dist, options)
    if estimator is exact_estimator and not (f is not None and is_keyed(f)):
        return per_sample  # the support, enumerated once: no sampling
    return num_samples * per_sample


def time_per_estimate(
    f: Callable,
    dist: Any,
    key: jax.Array,
    *,
    method: str | Estimator,
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
