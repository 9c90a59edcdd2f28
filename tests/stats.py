"""Statistical assertions with tolerances derived from the standard error."""

from __future__ import annotations

import numpy as np

#: Number of standard errors tolerated; with a fixed key the tests are deterministic, and
#: 5 standard errors keeps the false-alarm rate negligible even over many coordinates.
Z = 5.0


def assert_unbiased(estimates, exact, *, z: float = Z, atol: float = 1e-6) -> None:
    """``estimates`` has a leading axis of independent estimates of ``exact``.

    Checks |mean − exact| ≤ z·stderr + atol elementwise, stderr = std/√T.
    """
    estimates = np.asarray(estimates, dtype=np.float64)
    exact = np.broadcast_to(np.asarray(exact, dtype=np.float64), estimates.shape[1:])
    num = estimates.shape[0]
    mean = estimates.mean(axis=0)
    stderr = estimates.std(axis=0, ddof=1) / np.sqrt(num)
    bad = np.abs(mean - exact) > z * stderr + atol
    if np.any(bad):
        raise AssertionError(
            f"biased: mean {mean[bad]} vs exact {exact[bad]} (stderr {stderr[bad]}, "
            f"{num} estimates)"
        )


def assert_variance(samples, expected, *, z: float = Z) -> None:
    """The sample variance of ``samples`` (leading axis) matches ``expected``.

    The standard error of the sample variance is estimated from the fourth central moment:
    Var(s²) ≈ (m₄ − s⁴)/T.
    """
    samples = np.asarray(samples, dtype=np.float64)
    num = samples.shape[0]
    centred = samples - samples.mean(axis=0)
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
    var = (centred**2).mean(axis=0).sum()
    m4 = (centred**2).sum(axis=1)  # squared deviation of the whole vector, per estimate
    stderr = np.sqrt(np.var(m4) / len(samples))
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
