"""The registry: one ordered tuple of estimator values, and what is derived from it.

``rx.methods()``, the README's table, ``method="auto"``, ``rx.variance_gradient``, the
diagnostics and the command line all read the :class:`~reparax.estimator.Estimator` values
here; no other list of method names exists. Adding a built-in estimator is one module in
``reparax/estimators/`` and one line in ``BUILTIN``; a user's own estimator is added with
:func:`register`.
"""

from __future__ import annotations

from typing import Any

from reparax._checks import did_you_mean
from reparax.capabilities import DistributionLike
from reparax.estimator import Estimator
from reparax.estimators import (
    arm,
    disarm,
    double_cv,
    dreg,
    exact,
    gapped_straight_through,
    gumbel_rao,
    gumbel_softmax,
    indecater,
    iwae,
    measure_valued,
    pathwise,
    rebar,
    reinmax,
    relax,
    rloo,
    rodeo,
    score_function,
    st_gumbel_softmax,
    stl,
    straight_through,
    sum_and_sample,
    unordered_set,
    vimco,
)

#: The built-in estimators, in the order ``methods()`` lists them: continuous, then
#: discrete, then relaxations.
BUILTIN: tuple[Estimator, ...] = (
    pathwise.pathwise,
    score_function.score_function,
    rloo.rloo,
    measure_valued.measure_valued,
    exact.exact,
    indecater.indecater,
    unordered_set.unordered_set,
    sum_and_sample.sum_and_sample,
    arm.arm,
    disarm.disarm,
    double_cv.double_cv,
    rodeo.rodeo,
    rebar.rebar,
    relax.relax,
    gumbel_softmax.gumbel_softmax,
    straight_through.straight_through,
    st_gumbel_softmax.st_gumbel_softmax,
    gumbel_rao.gumbel_rao,
    reinmax.reinmax,
    gapped_straight_through.gapped_straight_through,
    vimco.vimco,
    iwae.iwae,
    dreg.dreg,
    stl.stl,
)

# Estimators a user (or a test) added with `register`, after the built-in ones. This is the
# one piece of module state in reparax: a registry is a process-wide name space by nature.
_added: list[Estimator] = []


def register(estimator: Estimator) -> Estimator:
    """Adds ``estimator`` to the registry (``rx.methods()``, ``auto``, the dispatcher).

    Returns the estimator, so it can be used as ``my_method = rx.register(rx.Estimator(...))``.
    A name (or alias) already taken raises ``ValueError``; :func:`unregister` removes it.
    """
    if not isinstance(estimator, Estimator):
        raise TypeError(f"register() takes an rx.Estimator, got {type(estimator).__name__}.")
    taken = {n.lower() for e in estimators() for n in (e.name, *e.aliases)} | {"auto"}
    clash = [n for n in (estimator.name, *estimator.aliases) if n.lower() in taken]
    if clash:
        raise ValueError(f"method name(s) {clash} are already registered.")
    _added.append(estimator)
    return estimator


def unregister(name: str) -> None:
    """Removes an estimator added with :func:`register` (built-in ones cannot be removed)."""
    for estimator in _added:
        if estimator.name == name:
            _added.remove(estimator)
            return
    raise ValueError(f"no estimator named {name!r} was added with register().")


def estimators() -> tuple[Estimator, ...]:
    """Every registered estimator, built-in first, in order."""
    return BUILTIN + tuple(_added)


def methods() -> dict[str, Estimator]:
    """Every registered estimator (``"auto"`` excluded), by name, in order."""
    return {e.name: e for e in estimators()}


def _names() -> dict[str, Estimator]:
    return {n.lower(): e for e in estimators() for n in (e.name, *e.aliases)}


def lookup(name: Any) -> Estimator:
    """The estimator called ``name`` (or an alias), case-insensitively; a clear error
    with a suggestion if there is none. An :class:`Estimator` value is returned as is."""
    if isinstance(name, Estimator):
        return name
    if not isinstance(name, str):
        raise TypeError(
            f"`method` must be a method name (str) or an rx.Estimator, got {type(name).__name__}."
        )
    found = _names().get(name.lower())
    if found is None:
        known = sorted({*(n for e in estimators() for n in (e.name, *e.aliases)), "auto"})
        raise ValueError(
            f"Unknown method {name!r}.{did_you_mean(name, known)} Known methods: "
            f"{', '.join(known)}."
        )
    return found


def supported_methods(dist: Any, objective: str = "expectation") -> list[str]:
    """Names of the methods whose required capabilities ``dist`` has, among those with
    ``objective`` (``"expectation"``: for ``rx.expectation``; ``"bound"``: for
    ``rx.multisample_bound``).

    Raises ``TypeError`` when ``dist`` is not a reparax distribution (so a foreign object
    gets an answer, not an empty list).
    """
    from reparax._checks import check_distribution

    check_distribution(dist)
    return [e.name for e in estimators() if e.objective == objective and e.supports(dist)]


def auto_candidates() -> list[Estimator]:
    """The estimators ``method="auto"`` chooses from, in order of preference."""
    ranked = [e for e in estimators() if e.auto_rank is not None]
    return sorted(ranked, key=lambda e: e.auto_rank if e.auto_rank is not None else 0)


def _capabilities(estimator: Estimator) -> list[str]:
    names = [f"`{c.__name__}`" for c in estimator.requires if c is not DistributionLike]
    names = names or ["any distribution"]
    return names + (["fixed support"] if estimator.needs_fixed_support else [])


def methods_table(estimators_: tuple[Estimator, ...] | None = None) -> str:
    """The estimators as a Markdown table (the README's table is ``methods_table(BUILTIN)``,
    checked by a test)."""
    lines = [
        "| method | unbiased | f differentiable | f-evaluations per sample | needs | "
        "derivative orders | control variates | auto |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for e in estimators() if estimators_ is None else estimators_:
        alias = f" (alias `{'`, `'.join(e.aliases)}`)" if e.aliases else ""
        if e.objective == "bound":
            alias += " (bound: `rx.multisample_bound`)"
        order = "any" if e.max_order is None else f"≤ {e.max_order}"
        auto = "—" if e.auto_rank is None else str(e.auto_rank)
        lines.append(
            f"| `{e.name}`{alias} | {'yes' if e.unbiased else '**no**'} | "
            f"{'yes' if e.differentiable_f else 'no'} | {e.evaluations} | "
            f"{', '.join(_capabilities(e))} | {order} | "
            f"{'yes' if e.accepts_control_variate else 'no'} | {auto} |"
        )
    return "\n".join(lines)
