"""Constraints: the set of valid values of a distribution parameter.

Each distribution declares its parameters with :func:`reparax.param`, giving each a
constraint from this module; validation is derived from these declarations (no family writes
its own checks). A constraint is a frozen, hashable value with

* ``description``: the words used in error messages ("> 0 (positive)"), and
* ``check(value)``: a jit-safe boolean array, ``True`` where ``value`` is valid. For a
  constraint on events (``event_ndims > 0``: ``simplex`` on the last axis, ``lower_cholesky``
  on the last two), the result has the event axes reduced away.

Infinities: NaN is invalid everywhere. ±inf is invalid everywhere except where an infinite
value means something:

* ``extended_real`` admits ±inf: TruncatedNormal's ``low = -inf``/``high = inf`` (a one-sided
  or untruncated window) and Bernoulli's ``logits = ∓inf`` (probability exactly 0 or 1, what
  ``from_probs`` gives for probabilities 0 and 1).
* ``categorical_logits`` admits −inf entries (a class of probability exactly 0) but not +inf,
  and needs at least one finite entry per row (some class must have positive probability).

Example:
    >>> import jax.numpy as jnp
    >>> from reparax import constraints
    >>> constraints.positive.check(jnp.array([1.0, 0.0, jnp.nan]))
    Array([ True, False, False], dtype=bool)
    >>> constraints.positive.description
    '> 0 (positive)'
"""

from __future__ import annotations

import dataclasses
import math
from types import ModuleType
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

__all__ = [
    "Constraint",
    "categorical_logits",
    "extended_real",
    "greater_than",
    "integer_interval",
    "lower_cholesky",
    "nonnegative",
    "nonnegative_integer",
    "open_unit_interval",
    "positive",
    "real",
    "simplex",
    "unit_interval",
]


@dataclasses.dataclass(frozen=True)
class Constraint:
    """Base class of constraints.

    Attributes:
      description: completes "`name` must be ..." in error messages.
      event_ndims: trailing axes checked together (0: elementwise).
    """

    description: str
    event_ndims: int = 0

    def check(self, value: Any) -> jax.Array:
        """``True`` where ``value`` satisfies the constraint (event axes reduced); jit-safe."""
        return jnp.asarray(self.valid(jnp, jnp.asarray(value)))

    def valid(self, xp: ModuleType, value: Any) -> Any:
        """The check written against an array namespace ``xp`` (``jax.numpy`` or ``numpy``),
        so that concrete values can be checked in NumPy without being staged into a trace."""
        raise NotImplementedError


def _floating(xp: ModuleType, value: Any) -> Any:
    return xp.asarray(value).astype(np.float64 if xp is np else jnp.result_type(value, float))


@dataclasses.dataclass(frozen=True)
class _Real(Constraint):
    allow_infinite: bool = False

    def valid(self, xp: ModuleType, value: Any) -> Any:
        return ~xp.isnan(value) if self.allow_infinite else xp.isfinite(value)


@dataclasses.dataclass(frozen=True)
class _GreaterThan(Constraint):
    lower: float = 0.0
    inclusive: bool = False

    def valid(self, xp: ModuleType, value: Any) -> Any:
        above = value >= self.lower if self.inclusive else value > self.lower
        return xp.isfinite(value) & above


@dataclasses.dataclass(frozen=True)
class _Interval(Constraint):
    lower: float = 0.0
    upper: float = 1.0
    closed: bool = True

    def valid(self, xp: ModuleType, value: Any) -> Any:
        if self.closed:
            return (value >= self.lower) & (value <= self.upper)
        return (value > self.lower) & (value < self.upper)  # NaN compares False


@dataclasses.dataclass(frozen=True)
class _IntegerInterval(Constraint):
    lower: float = 0.0
    upper: float = math.inf

    def valid(self, xp: ModuleType, value: Any) -> Any:
        integral = xp.isfinite(value) & (value == xp.round(value))
        return integral & (value >= self.lower) & (value <= self.upper)


@dataclasses.dataclass(frozen=True)
class _Simplex(Constraint):
    def valid(self, xp: ModuleType, value: Any) -> Any:
        value = _floating(xp, value)
        num_classes = value.shape[-1]
        # Rounding of a sum of K terms: a few ulps per term, and never tighter than 1e-6.
        eps = float(np.finfo(value.dtype).eps)
        tolerance = max(1e-6, 16.0 * num_classes * eps)
        nonnegative = xp.all((value >= 0) & xp.isfinite(value), axis=-1)
        return nonnegative & (xp.abs(xp.sum(value, axis=-1) - 1.0) <= tolerance)


@dataclasses.dataclass(frozen=True)
class _CategoricalLogits(Constraint):
    def valid(self, xp: ModuleType, value: Any) -> Any:
        entries = ~xp.isnan(value) & (value < xp.inf)
        return xp.all(entries, axis=-1) & xp.any(xp.isfinite(value), axis=-1)


@dataclasses.dataclass(frozen=True)
class _LowerCholesky(Constraint):
    def valid(self, xp: ModuleType, value: Any) -> Any:
        # The upper triangle is never read (families use tril(value)), so it is not checked.
        diagonal = xp.diagonal(value, axis1=-2, axis2=-1)
        finite = xp.all(xp.isfinite(xp.tril(value)), axis=(-2, -1))
        return finite & xp.all(diagonal > 0, axis=-1)


#: Any finite real number.
real: Constraint = _Real("finite (not NaN or ±inf)")
#: Any real number or ±inf (not NaN): infinite bounds, logits of probability 0 or 1.
extended_real: Constraint = _Real("a number or ±inf (not NaN)", allow_infinite=True)
#: Finite and > 0.
positive: Constraint = _GreaterThan("> 0 (positive)", lower=0.0)
#: Finite and >= 0.
nonnegative: Constraint = _GreaterThan(">= 0 (nonnegative)", lower=0.0, inclusive=True)
#: A probability, in the closed interval [0, 1].
unit_interval: Constraint = _Interval("in [0, 1] (a probability)")
#: A probability strictly between 0 and 1.
open_unit_interval: Constraint = _Interval(
    "in (0, 1) (a probability, 0 and 1 excluded)", closed=False
)
#: Last axis: nonnegative entries summing to 1 (to rounding).
simplex: Constraint = _Simplex("on the simplex (last axis >= 0, summing to 1)", event_ndims=1)
#: Last axis: logits in [−inf, inf) with at least one finite entry.
categorical_logits: Constraint = _CategoricalLogits(
    "logits in [-inf, inf) with at least one finite entry per row (not NaN or +inf)",
    event_ndims=1,
)
#: Last two axes: a finite lower triangle with a positive diagonal (the upper is ignored).
lower_cholesky: Constraint = _LowerCholesky(
    "a Cholesky factor (finite lower triangle, diagonal > 0; the upper triangle is ignored)",
    event_ndims=2,
)


def greater_than(lower: float) -> Constraint:
    """Finite and strictly greater than ``lower``."""
    return _GreaterThan(f"> {lower}", lower=float(lower))


def integer_interval(low: float, high: float) -> Constraint:
    """Integers in the closed interval [low, high] (stored as floats or ints)."""
    return _IntegerInterval(f"an integer in [{low}, {high}]", lower=float(low), upper=float(high))


#: Integers >= 0.
nonnegative_integer: Constraint = _IntegerInterval("an integer >= 0", lower=0.0)
