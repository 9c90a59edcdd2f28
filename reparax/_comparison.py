r"""One row of ``python -m reparax``: an estimator's many independent estimates on a problem
with an exact answer, and whether they agree with it.

The estimates come from ONE compiled function per (problem, method): ``lax.map`` over the
keys of a single ``gradient_estimate``. A sequential map compiles several times faster than
a ``vmap`` over a thousand keys (XLA's compile time grows with the batch), and compilation,
not running, is most of the main job's time on the toy problems.

The agreement test: with m̄ the mean of N estimates and s their standard deviation,

.. math:: z = \frac{\bar m - g}{\sqrt{s^2 / N + τ^2}}, \qquad \text{agrees} ⟺ |z| ≤ 5,

where g is the exact gradient and τ = 10⁻⁵(1 + |g|) absorbs float32 rounding for methods
with no variance (exact enumeration). For a vector parameter every coordinate must agree.
"""

from __future__ import annotations

import dataclasses
import re
import time

import jax
import numpy as np

from reparax import _registry, diagnostics
from reparax._api import gradient_estimate
from reparax.problems import Problem

#: |z| at most this agrees with the exact gradient (a correct unbiased estimator exceeds it
#: with probability 6·10⁻⁷ per coordinate).
Z_THRESHOLD = 5.0

_ROUNDING = 1e-5  # τ = _ROUNDING · (1 + |exact|), float32 rounding of a zero-variance method


@dataclasses.dataclass(frozen=True)
class ParameterResult:
    """The gradient estimates for one parameter field (``loc``, ``scale``, ``logits``).

    ``mean``, ``stderr``, ``exact`` and ``z`` have the field's shape; ``variance_per_sample``
    is num_samples × the variance of one estimate, summed over coordinates; ``noise_free``:
    every coordinate's standard error is within float32 rounding (exact enumeration).
    """

    name: str
    symbol: str
    mean: np.ndarray
    stderr: np.ndarray
    exact: np.ndarray
    z: np.ndarray
    variance_per_sample: float
    noise_free: bool

    @property
    def worst(self) -> int:
        """The flat index of the coordinate with the largest |z|."""
        return int(np.argmax(np.abs(np.nan_to_num(self.z, nan=np.inf)).ravel()))

    @property
    def agrees(self) -> bool:
        return bool(np.all(np.abs(self.z) <= Z_THRESHOLD))


@dataclasses.dataclass(frozen=True)
class Comparison:
    """One method on one problem: the statistics of its estimates and what they cost.

    ``skipped`` is the method's own refusal (for example exact enumeration of 2²⁰⁰
    outcomes), in which case there are no statistics.
    """

    problem: str
    method: str
    unbiased: bool
    num_samples: int
    num_estimates: int
    f_evaluations: int
    value_mean: float
    value_stderr: float
    parameters: tuple[ParameterResult, ...]
    compile_seconds: float
    seconds_per_estimate: float
    skipped: str | None = None

    @property
    def agrees(self) -> bool:
        return self.skipped is None and all(p.agrees for p in self.parameters)


def _reason(message: str) -> str:
    """A refusal's first sentence, with huge integers (2²⁰⁰ outcomes) in scientific form."""
    head = message.split(". ")[0].strip()
    head = re.sub(r"\d{13,}", lambda m: f"{float(m.group()):.3g}", head)
    return head if head.endswith(".") else head + "."


def compare(
    problem: Problem, method: str, key: jax.Array, *, num_samples: int, num_estimates: int
) -> Comparison:
    """``num_estimates`` independent estimates of ``method`` on ``problem``, summarized."""
    estimator = _registry.lookup(method)

    def estimates(dist: object, keys: jax.Array) -> tuple[jax.Array, object]:
        def one(k: jax.Array) -> tuple[jax.Array, object]:
            estimate = gradient_estimate(
                problem.f, dist, k, method=estimator, num_samples=num_samples
            )
            return estimate.value, estimate.grad

        return jax.lax.map(one, keys)

    keys = jax.random.split(key, num_estimates)
    start = time.perf_counter()
    try:
        compiled = jax.jit(estimates).lower(problem.dist, keys).compile()
    except ValueError as refusal:  # the estimator's own refusal, said at trace time
        return Comparison(
            problem.name, estimator.name, estimator.unbiased, num_samples, num_estimates,
            0, float("nan"), float("nan"), (), 0.0, 0.0, _reason(str(refusal)),
        )  # fmt: skip
    compile_seconds = time.perf_counter() - start
    start = time.perf_counter()
    values, grads = jax.block_until_ready(compiled(problem.dist, keys))
    seconds = time.perf_counter() - start
    values = np.asarray(values, np.float64)
    parameters = tuple(
        _summarize(name, problem, np.asarray(getattr(grads, name), np.float64), num_samples)
        for name in problem.exact_grad
    )
    return Comparison(
        problem=problem.name,
        method=estimator.name,
        unbiased=estimator.unbiased,
        num_samples=num_samples,
        num_estimates=num_estimates,
        f_evaluations=diagnostics.f_evaluations(estimator, problem.dist, num_samples),
        value_mean=float(values.mean()),
        value_stderr=float(values.std(ddof=1) / np.sqrt(len(values))),
        parameters=parameters,
        compile_seconds=compile_seconds,
        seconds_per_estimate=seconds / num_estimates,
    )


def _summarize(
    name: str, problem: Problem, samples: np.ndarray, num_samples: int
) -> ParameterResult:
    exact = np.asarray(problem.exact_grad[name], np.float64)
    mean = samples.mean(axis=0)
    variance = samples.var(axis=0, ddof=1)
    stderr = np.sqrt(variance / samples.shape[0])
    rounding = _ROUNDING * (1.0 + np.abs(exact))
    return ParameterResult(
        name=name,
        symbol=problem.symbols[name],
        mean=mean,
        stderr=stderr,
        exact=exact,
        z=(mean - exact) / np.sqrt(stderr**2 + rounding**2),
        variance_per_sample=float(num_samples * variance.sum()),
        noise_free=bool(np.all(stderr <= rounding)),
    )
