"""Refusing derivative orders an estimator cannot give without bias.

A surrogate whose first derivative is an unbiased estimator may have biased (often
zero) higher derivatives: the measure-valued and coupled estimators attach a fixed gradient
estimate to the parameters, so their Hessian is silently 0. ``limit_order`` wraps the
surrogate in an identity whose derivatives pass through ``max_order`` times and whose next
derivative raises :class:`DerivativeOrderError`, in any mode (``grad``, ``jacfwd``,
``hessian``) and under ``jit``/``vmap``. The error names the registered methods that do give
that order without bias for the same objective (E[f], or a multi-sample bound) and, when the
distribution is known, that support it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jax

#: Options whose value 'optimal' is estimated from the samples and held fixed, which limits
#: the derivative order whatever the method gives: (what it is, what to use instead).
_OPTIMAL_OPTIONS = {
    "cv_coefficient": ("coefficient", "a numeric cv_coefficient (or none)"),
    "baseline": ("baseline", "a numeric baseline, 'leave_one_out' (or none)"),
}

#: Where each objective's methods are called (``Estimator.objective``).
_ENTRY_POINTS = {"expectation": "rx.expectation", "bound": "rx.multisample_bound"}


class DerivativeOrderError(ValueError):
    """A derivative of an order the estimator cannot give without bias was requested."""


def alternatives(
    order: int, objective: str = "expectation", dist: Any = None, *, at_site: bool = False
) -> list[str]:
    """The registered unbiased methods with ``objective`` whose derivatives of ``order``
    are unbiased (``max_order`` ``None`` or at least ``order``), among those that support
    ``dist`` when it is given, and with ``at_site`` among those an ``rx.Joint`` site
    accepts (not the set estimators, nor those needing several samples together)."""
    # Imported here: the registry imports every estimator module, which imports this one,
    # and the program module imports the estimator module.
    from reparax._program import accepted_at_a_site
    from reparax._registry import estimators

    return [
        e.name
        for e in estimators()
        if e.objective == objective
        and e.unbiased
        and (e.max_order is None or e.max_order >= order)
        and (dist is None or e.supports(dist))
        and (not at_site or accepted_at_a_site(e))
    ]


def _message(
    name: str, order: int, objective: str, dist: Any, site: str | None, optimal: str | None
) -> str:
    wanted = order + 1
    entry = _ENTRY_POINTS.get(objective, f"objective {objective!r}")
    family = "" if dist is None else f" for {type(dist).__name__}"
    where = "" if site is None else f"site {site!r}: "
    method = f"method={name!r}" + (f" with {optimal}='optimal'" if optimal else "")
    if optimal:  # the method itself gives the order: only the estimated option limits it
        advice = (
            f"The 'optimal' {_OPTIMAL_OPTIONS[optimal][0]} is estimated from the same samples "
            f"and held fixed: use {_OPTIMAL_OPTIONS[optimal][1]} for order {wanted}."
        )
    else:
        names = alternatives(wanted, objective, dist, at_site=site is not None)
        scope = f"Methods of {entry}" if site is None else "Methods for this site"
        if names:
            listed = ", ".join(repr(n) for n in names)
            advice = f"{scope} that give order {wanted} without bias{family}: {listed}."
        else:
            advice = f"No method of {entry} gives order {wanted} without bias{family}"
            advice += "." if site is None else " at a site."
        if dist is None:
            advice += " (rx.supported_methods(dist) lists those your distribution supports.)"
    return (
        f"{where}{method} gives derivatives up to order {order} only; order {wanted} was "
        f"requested (e.g. jax.hessian). {advice}"
    )


def _refuse(name: str, order: int, describe: Callable[[], str]) -> jax.custom_jvp:
    @jax.custom_jvp
    def refuse(x: jax.Array) -> jax.Array:
        return x

    @refuse.defjvp
    def _refuse_jvp(primals: tuple, tangents: tuple) -> tuple:
        raise DerivativeOrderError(describe())

    return refuse


def _passing(name: str, remaining: int, order: int, describe: Callable[[], str]) -> jax.custom_jvp:
    @jax.custom_jvp
    def passing(x: jax.Array) -> jax.Array:
        return x

    @passing.defjvp
    def _passing_jvp(primals: tuple, tangents: tuple) -> tuple:
        (x,), (dx,) = primals, tangents
        inner = _limit(name, remaining - 1, order, describe)
        return inner(x), inner(dx)

    return passing


def _limit(name: str, remaining: int, order: int, describe: Callable[[], str]) -> jax.custom_jvp:
    if remaining == 0:
        return _refuse(name, order, describe)
    return _passing(name, remaining, order, describe)


def limit_order(
    surrogate: jax.Array,
    max_order: int | None,
    name: str,
    *,
    objective: str = "expectation",
    dist: Any = None,
    site: str | None = None,
    optimal: str | None = None,
) -> jax.Array:
    """``surrogate`` unchanged in value and in its first ``max_order`` derivatives; the next
    derivative raises. ``max_order=None`` leaves it alone.

    The rest selects what the error says, read only when it is raised: ``objective``
    (``Estimator.objective``) and ``dist`` (the distribution the surrogate estimates with,
    optional) the alternatives it names; ``site``, the ``rx.Joint`` site estimated (then
    only methods a site accepts are named); ``optimal``, the option (``"cv_coefficient"``
    or ``"baseline"``) whose value ``'optimal'`` alone sets the limit (then a fixed value is
    the advice)."""
    if max_order is None:
        return surrogate

    def describe() -> str:
        return _message(name, max_order, objective, dist, site, optimal)

    return _limit(name, max_order, max_order, describe)(surrogate)
