"""Statistical assertions with tolerances derived from the standard error.

Every unbiasedness test goes through :func:`assert_unbiased`, which both tests and refuses
to test: a check whose standard error is too large to see a 5% bias is no check at all, so it
raises :class:`NoPowerError` (with the numbers needed to fix it) instead of passing.
"""

from __future__ import annotations

import itertools
import json
import os

import jax
import jax.numpy as jnp
import numpy as np

import reparax as rx

#: Number of standard errors tolerated; with a fixed key the tests are deterministic, and
#: 5 standard errors keeps the false-alarm rate negligible even over many coordinates.
Z = 5.0

#: The smallest relative bias every unbiasedness check must be able to see: z standard
#: errors must be below POWER·|exact| at every coordinate (DESIGN.md, "How correctness is
#: shown"; a gradient scaled by 1 + POWER must then fail).
POWER = 0.05

#: float32 rounding of the estimates (relative); 2000× below the power requirement, so it
#: cannot hide a bias the check claims to detect. Only zero-variance estimators need it.
ROUNDING = 1e-5


#: XLA options for the statistical programs, which draw millions of samples. conftest.py
#: compiles the suite at XLA's lowest backend optimization, since compilation dominates
#: everything else; there threefry sampling runs about 4× slower, which these programs feel.
EXECUTION_BOUND = {"xla_backend_optimization_level": 2}


def jit_many(fn, **kwargs):
    """``jax.jit`` for an execution-bound program (a vmap over thousands of estimates)."""
    return jax.jit(fn, compiler_options=EXECUTION_BOUND, **kwargs)


def estimator_samples(f, dist, key, *, method, num_estimates, num_samples=1, **options):
    """``rx.diagnostics.estimator_samples`` (the same keys, so the same estimates), compiled
    with :data:`EXECUTION_BOUND`."""

    def one(k):
        return rx.gradient_estimate(f, dist, k, method=method, num_samples=num_samples, **options)

    return jit_many(jax.vmap(one))(jax.random.split(key, num_estimates))


class NoPowerError(Exception):
    """An unbiasedness check that could not detect a bias of POWER·|exact| (or ``floor``).

    Deliberately not an ``AssertionError``: it is a defect of the test, not of the estimator,
    and ``except AssertionError`` wrappers must not relabel it.
    """


def _log(record: dict) -> None:
    """With REPARAX_STATS_LOG=<file>, append one JSON line per check (for power audits)."""
    path = os.environ.get("REPARAX_STATS_LOG")
    if not path:
        return
    record["test"] = os.environ.get("PYTEST_CURRENT_TEST", "?").rsplit(" ", 1)[0]
    with open(path, "a") as out:
        out.write(json.dumps(record) + "\n")


def assert_unbiased(
    estimates,
    exact,
    *,
    floor: float | None = None,
    z: float = Z,
    power: float = POWER,
    label: str = "",
) -> None:
    """``estimates`` has a leading axis of independent estimates of ``exact``.

    Checks |mean − exact| ≤ z·stderr (stderr = std/√T) at every coordinate, after checking
    that the test has power there: z·stderr ≤ max(power·|exact|, floor). ``floor`` is an
    absolute bias resolution the caller must state for coordinates whose exact value is (near)
    zero; without it such coordinates refuse. It may not exceed power·max|exact| (it would
    then mask a relative bias of the largest coordinate).

    Raises:
      NoPowerError: some coordinate's z standard errors exceed its power bound (raise the
        number of estimates or samples, or choose a problem with larger gradients).
      AssertionError: some coordinate's mean is more than z standard errors from ``exact``.
    """
    estimates = np.asarray(estimates, dtype=np.float64)
    exact = np.broadcast_to(np.asarray(exact, dtype=np.float64), estimates.shape[1:])
    num = estimates.shape[0]
    if num < 2:
        raise ValueError(f"need at least 2 independent estimates, got {num}")
    if not np.all(np.isfinite(estimates)):
        raise AssertionError(f"{label}: non-finite estimates")
    mean = estimates.mean(axis=0)
    stderr = estimates.std(axis=0, ddof=1) / np.sqrt(num)
    largest = float(np.max(np.abs(exact), initial=0.0))
    if floor is not None and largest > 0 and floor > power * largest * (1 + 1e-9):
        raise ValueError(
            f"{label}: floor {floor:.3g} exceeds {power:.0%} of the largest |exact| "
            f"({largest:.3g}); it would mask relative biases"
        )
    bound = power * np.abs(exact)
    if floor is not None:
        bound = np.maximum(bound, floor)
    underpowered = z * stderr > bound
    tol = z * stderr + ROUNDING * np.maximum(np.abs(exact), floor or 0.0)
    bad = np.abs(mean - exact) > tol
    ratio = np.where(bound > 0, z * stderr / np.where(bound > 0, bound, 1), np.inf)
    _log(
        {
            "label": label,
            "coords": int(exact.size),
            "underpowered": int(np.sum(underpowered)),
            "failed": int(np.sum(bad & ~underpowered)),
            "worst_power_ratio": float(np.max(ratio, initial=0.0)),
            "num": num,
        }
    )
    if np.any(underpowered):
        need = num * float(np.max(ratio[underpowered])) ** 2
        raise NoPowerError(
            f"{label}: the check has no power at {int(np.sum(underpowered))} of "
            f"{exact.size} coordinates: {z:g} stderr {z * stderr[underpowered]} > bound "
            f"{bound[underpowered]} (exact {exact[underpowered]}, floor {floor}, {num} "
            f"estimates; ≈{need:.3g} estimates would do, or state a floor where exact is 0)"
        )
    if np.any(bad):
        raise AssertionError(
            f"{label}: biased: mean {mean[bad]} vs exact {exact[bad]} (stderr {stderr[bad]}, "
            f"z {(mean[bad] - exact[bad]) / np.maximum(stderr[bad], 1e-300)}, {num} estimates)"
        )


def assert_variance(samples, expected, *, z: float = Z) -> None:
    """The sample variance of ``samples`` (leading axis) matches ``expected``.

    The standard error of the sample variance is estimated from the fourth central moment:
    Var(s²) ≈ (m₄ − s⁴)/T.
    """
    samples = np.asarray(samples, dtype=np.float64)
    num = samples.shape[0]
    centred = samples - samples.mean(axis=0)
    # ddof 0: where the squared deviations are all equal (a symmetric two-point estimator,
    # stderr 0) this is the population variance exactly; its bias, −var/T, is far below
    # z·stderr whenever stderr > 0.
    var = (centred**2).mean(axis=0)
    m4 = (centred**4).mean(axis=0)
    stderr = np.sqrt(np.maximum(m4 - var**2, 0.0) / num)
    expected = np.broadcast_to(np.asarray(expected, dtype=np.float64), var.shape)
    bad = np.abs(var - expected) > z * stderr + 1e-9
    if np.any(bad):
        raise AssertionError(
            f"variance {var[bad]} vs expected {expected[bad]} (stderr {stderr[bad]})"
        )


def _variance_and_stderr(samples):
    samples = np.asarray(samples, dtype=np.float64).reshape(len(samples), -1)
    centred = samples - samples.mean(axis=0)
    squared = (centred**2).sum(axis=1)  # squared deviation of the whole vector, per estimate
    var = squared.mean()  # the total variance Σ_c Var(x_c) (ddof 0; T ≫ 1)
    stderr = np.sqrt(np.var(squared, ddof=1) / len(samples))
    return var, stderr


def assert_variance_lower(lower, higher, *, z: float = Z) -> None:
    """The total variance of ``lower`` is below that of ``higher`` by more than z standard
    errors (each variance's standard error from the spread of the squared deviations)."""
    var_low, se_low = _variance_and_stderr(lower)
    var_high, se_high = _variance_and_stderr(higher)
    margin = z * np.hypot(se_low, se_high)
    if not var_low + margin < var_high:
        raise AssertionError(
            f"variance {var_low:.4g} is not significantly below {var_high:.4g} "
            f"(margin {margin:.3g})"
        )


# -- exact references for finite families ---------------------------------------------------


def joint_support(dist):
    """Every joint outcome of a factorized Bernoulli / Categorical / OneHotCategorical."""
    if isinstance(dist, rx.Bernoulli):
        return jnp.array(list(itertools.product([0.0, 1.0], repeat=dist.logits.shape[0])))
    d, k = dist.logits.shape
    index = jnp.array(list(itertools.product(range(k), repeat=d)))
    return index if isinstance(dist, rx.Categorical) else jax.nn.one_hot(index, k)


def enumerate_exact(f, dist):
    """(E[f], ∇_logits E[f]) = Σ_z p_θ(z) f(z) and its jax.grad, from ``log_prob`` alone."""
    support = joint_support(dist)
    family = type(dist)
    costs = jax.vmap(f)(support)

    def value(logits):
        log_probs = jax.vmap(lambda z: jnp.sum(family(logits).log_prob(z)))(support)
        return jnp.sum(jnp.exp(log_probs) * costs)

    return jax.value_and_grad(value)(dist.logits)
