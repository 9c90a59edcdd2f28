"""An adaptive choice of estimator from a short pilot run: ``rx.choose_method``.

``method="auto"`` follows a fixed, measured order (see :func:`reparax.resolve_method`).
Where the problem at hand may not follow the benchmarks, ``choose_method`` measures: it runs
every applicable unbiased estimator on ``num_pilots`` independent keys, each spending the
same budget of f-evaluations, and returns the one whose gradient has the lowest total
variance. Call it once, outside the training loop (it compiles every candidate), and pass
the result's ``method`` and ``num_samples`` on.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp

from reparax import _registry
from reparax._api import auto_num_samples, resolve_method
from reparax._checks import check_count, check_distribution, derivative_is_structurally_zero
from reparax._keyed import bind_key
from reparax.diagnostics import estimator_samples


class Choice(NamedTuple):
    """The pilot's result.

    Attributes:
      method: the name of the estimator with the lowest total gradient variance.
      num_samples: the samples it runs within the budget (pass it as ``num_samples``).
      variances: every candidate's total gradient variance (the sum over parameter
        coordinates of the per-estimate variance), by name; a non-finite one (NaN
        gradients in the pilot) is reported here and never chosen.
    """

    method: str
    num_samples: int
    variances: dict[str, float]


def _candidates(f: Callable, dist: Any, budget: int) -> list[tuple[str, int]]:
    """The unbiased estimators that apply to ``dist`` within ``budget`` evaluations."""
    example = jax.eval_shape(lambda: dist.sample(jax.random.key(0)))
    flat = derivative_is_structurally_zero(bind_key(f, jax.random.key(0)), example)
    chosen = []
    for estimator in _registry.estimators():
        if not (estimator.objective == "expectation" and estimator.unbiased):
            continue
        if not estimator.supports(dist):
            continue
        if flat and estimator.differentiable_f:
            continue
        if estimator.trainable is not None:  # untrained control variates: not comparable
            continue
        samples = auto_num_samples(estimator, dist, budget)
        if samples >= estimator.min_samples and estimator.count_evaluations(dist) <= budget:
            chosen.append((estimator.name, samples))
    return chosen


def choose_method(
    f: Callable,
    dist: Any,
    key: jax.Array,
    *,
    num_samples: int,
    num_pilots: int = 64,
) -> Choice:
    r"""The unbiased estimator with the lowest gradient variance for a budget, measured.

    Every unbiased estimator that supports ``dist`` (without trainable control variates) and
    fits the budget of ``num_samples`` f-evaluations per estimate (running
    ⌊num_samples / c⌋ samples when it evaluates f c times per sample) is run on
    ``num_pilots`` independent keys; the winner minimizes

    .. math:: \sum_j \widehat{\mathrm{Var}}[\hat g_j]

    over the gradient's coordinates j. With the same budget for all, this is the comparison
    of variance × cost. Exact enumeration fits only when its support does (it then has zero
    variance and wins).

    Args:
      f: the cost, as for :func:`reparax.gradient_estimate`.
      dist: a reparax distribution.
      key: a PRNG key for the pilot run.
      num_samples: the budget: f-evaluations per estimate.
      num_pilots: independent estimates per candidate (≥ 2).

    Returns:
      A :class:`Choice`.

    Example:
      >>> import jax, jax.numpy as jnp, reparax as rx
      >>> dist = rx.Bernoulli(jnp.linspace(-2.0, 2.0, 6))
      >>> f = lambda b: jnp.prod(b - 0.45)
      >>> choice = rx.choose_method(f, dist, jax.random.key(0), num_samples=4, num_pilots=8)
      >>> {"rloo", "disarm", "score_function"} <= set(choice.variances)
      True
    """
    check_distribution(dist)
    check_count("num_samples", num_samples)
    check_count("num_pilots", num_pilots, minimum=2)
    candidates = _candidates(f, dist, num_samples)
    if not candidates:
        fallback = resolve_method("auto", dist, num_samples, f)
        return Choice(fallback.name, auto_num_samples(fallback, dist, num_samples), {})
    variances = {}
    for name, samples in candidates:
        grads = estimator_samples(
            f, dist, key, method=name, num_estimates=num_pilots, num_samples=samples
        ).grad
        total = sum(jnp.sum(jnp.var(g, axis=0, ddof=1)) for g in jax.tree.leaves(grads))
        variances[name] = float(total)
    # A candidate whose pilot gradients are not finite (e.g. pathwise through sqrt at 0)
    # cannot win: min() over NaN would keep whichever came first.
    finite = {name: v for name, v in variances.items() if math.isfinite(v)}
    if not finite:
        raise ValueError(
            f"choose_method: every candidate's pilot gradient variance is non-finite "
            f"({variances}); check f for NaN/inf at the samples."
        )
    best = min(finite, key=finite.__getitem__)
    return Choice(best, dict(candidates)[best], variances)
