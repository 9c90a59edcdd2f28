r"""The estimate of a program (``rx.Joint``): per-site estimators, Rao-Blackwellized costs.

Sample i of the program uses key k_i = ``split(key, N)[i]`` and site s within it the key
``fold_in(k_i, index of s)``. Sites are visited in order; each site's method decides how its
value reaches the rest of the program:

* **score-family sites** (``score_function``, ``rloo``): z_s is sampled without gradient and
  its log-probability l_s = log p(z_s | parents) enters DiCE's magic box □;
* **every other site** (pathwise, relaxations, exact, indecater, arm, disarm,
  measure_valued, rebar, relax) calls its single-site estimator with, as ``f``, the
  *continuation* z_s ↦ (the rest of the program: descendants sampled with the same per-site
  keys, then f). The estimator evaluates it wherever it evaluates f: at the pathwise sample,
  at relaxed values, at every alternative value (common random numbers downstream).

Such a site runs ONE sample of its estimator per program sample, so estimators whose samples
only work together are refused at a site (with the methods that would work): those with
``min_samples`` > 1 outside the score family (double_cv, rodeo: their leave-one-out control
variates would divide by zero), and the set estimators (``SET_METHODS``: unordered_set,
sum_and_sample), whose ``num_samples`` is the size of one set of outcomes drawn without
replacement: a set of one is REINFORCE without a baseline.

At the end of the program, f returns a scalar or a pytree of named costs c. Each cost is
multiplied only by the boxes of the score-family sites it depends on — sites it reads
(found from f's jaxpr) and their ancestors in the joint's parent graph (Rao-Blackwellization;
Schulman et al. 2015, Weber et al. 2019):

.. math:: S = \frac1N \sum_i \Big[\sum_c c_i\, □\big(\textstyle\sum_{s ∈ B(c)} l_{s,i}\big)
          + \sum_{s} (1 − □(l_{s,i}))\, b_{s,i}\Big]

with baselines b_{s,i} (``rloo``: the mean over the other samples of the costs that depend on
s; a ``baseline`` option of ``score_function``), which change no expectation at any order.
Every single-site estimator is linear in f, so the program is evaluated once per sample for
all costs at once: a ``vmap`` over "slots" (one per cost, one per baseline term) in which
everything but the final selection is unbatched, so f and the site samplers run once.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp

from reparax import _checks
from reparax._keyed import bind_key
from reparax.estimator import COMMON_OPTIONS, Estimator
from reparax.estimators._dice import leave_one_out, magic_box
from reparax.estimators._sampling import map_samples
from reparax.joint import Joint

#: Sites with these methods enter the magic box; all others get the continuation.
SCORE_FAMILY = ("score_function", "rloo")
#: Estimators whose ``num_samples`` is the size of one set of outcomes drawn without
#: replacement and weighted together, not a number of independent repetitions: refused at a
#: site, which runs one sample per program sample (a set of one: REINFORCE, no baseline).
SET_METHODS = ("unordered_set", "sum_and_sample")


def _why_not_at_a_site(estimator: Estimator) -> str | None:
    """Why ``estimator`` cannot estimate a site (one sample per program sample), or None."""
    if estimator.name in SCORE_FAMILY:
        return None  # boxed: its baseline (rloo's leave-one-out) runs over program samples
    if estimator.name in SET_METHODS:
        return (
            "its num_samples is the size of one set of outcomes drawn without replacement, "
            "and a site draws one outcome per program sample: a set of one is REINFORCE "
            "without a baseline"
        )
    if estimator.min_samples > 1:
        return (
            f"it needs at least {estimator.min_samples} samples evaluated together (its "
            "control variate reads the other samples), and a site draws one per program "
            "sample"
        )
    return None


def accepted_at_a_site(estimator: Estimator) -> bool:
    """Whether ``estimator`` can estimate a site of an ``rx.Joint``."""
    return _why_not_at_a_site(estimator) is None


def _site_alternatives(dist: Any) -> str:
    """The methods that support ``dist`` and work at a site."""
    from reparax._registry import methods

    names = [
        e.name
        for e in methods().values()
        if e.objective == "expectation" and e.supports(dist) and _why_not_at_a_site(e) is None
    ]
    return ", ".join(names)


class Site(NamedTuple):
    """How one site is estimated."""

    name: str
    estimator: Estimator
    options: dict[str, Any]
    score: bool
    baseline: Any  # score-family only: None, "leave_one_out", or a constant


class Plan(NamedTuple):
    """Everything the surrogate needs, decided once at validation."""

    sites: tuple[Site, ...]
    cost_names: tuple[str, ...]
    boxed: tuple[frozenset[str], ...]  # per cost: the score-family sites it depends on


def _site_method(method: Any, name: str, names: tuple[str, ...]) -> Any:
    if isinstance(method, Mapping):
        unknown = [m for m in method if m not in names]
        if unknown:
            raise ValueError(
                f"`method` names site {unknown[0]!r}, which the joint does not have."
                f"{_checks.did_you_mean(str(unknown[0]), names)} Its sites: {', '.join(names)}."
            )
        return method.get(name, "auto")
    return method


def _cost_structure(
    f: Callable, joint: Joint, values: dict[str, Any]
) -> tuple[tuple[str, ...], tuple[frozenset[str], ...]]:
    """The costs' names and, per cost, the sites it reads (from f's jaxpr)."""
    cost = bind_key(f, jax.random.key(0))
    names = joint.names
    out = jax.eval_shape(cost, values)
    leaves = jax.tree_util.tree_leaves_with_path(out)
    for path, leaf in leaves:
        if getattr(leaf, "shape", None) != () or not jnp.issubdtype(leaf.dtype, jnp.floating):
            where = jax.tree_util.keystr(path) or "f's output"
            raise ValueError(
                f"`f` must map a joint sample (a dict of site values) to a floating scalar or "
                f"a pytree of named floating scalar costs; {where} has shape "
                f"{getattr(leaf, 'shape', None)} and dtype {getattr(leaf, 'dtype', None)}."
            )
    flat_values = [values[n] for n in names]

    def flat(*site_values: Any) -> list[jax.Array]:
        return jax.tree_util.tree_leaves(cost(dict(zip(names, site_values))))

    jaxpr = jax.make_jaxpr(flat)(*flat_values).jaxpr
    # One boolean per input leaf: a site's value may itself be a pytree (it is an array here).
    reads: list[set[str]] = [set() for _ in leaves]
    for index, name in enumerate(names):
        flags = [i == index for i in range(len(names))]
        for c, depends in enumerate(_checks._depends(jaxpr, flags)):
            if depends:
                reads[c].add(name)
    cost_names = tuple(jax.tree_util.keystr(path) or "f" for path, _ in leaves)
    return cost_names, tuple(frozenset(r) for r in reads)


def _flat_in(f: Callable, values: dict[str, Any], name: str) -> bool:
    """Whether f's derivative with respect to site ``name``'s value is structurally zero
    while its value depends on it (the other sites held at zeros of their shapes)."""
    others = {n: jnp.zeros(v.shape, v.dtype) for n, v in values.items() if n != name}
    cost = bind_key(f, jax.random.key(0))

    def total(value: jax.Array) -> jax.Array:
        leaves = jax.tree_util.tree_leaves(cost({**others, name: value}))
        return sum(leaves, start=jnp.zeros(()))

    example = values[name]
    return _checks.derivative_is_structurally_zero(total, example)


def _auto(dist: Any, num_samples: int, flat: bool, nested: int, name: str) -> Estimator:
    """``"auto"`` for one site: the first ranked unbiased candidate that supports it, takes
    ``num_samples``, needs no differentiable f where f's derivative is structurally zero, and
    keeps the program's evaluations per sample (a product over nested local sites) within
    ``AUTO_MAX_EVALUATIONS``. Unlike single-site ``auto``, a site does not split the
    program's ``num_samples`` as a budget (every site runs the same samples), so estimators
    with several evaluations per sample (DisARM, IndeCateR) are left to an explicit choice."""
    from reparax._api import AUTO_MAX_EVALUATIONS, _auto_num_samples
    from reparax._registry import auto_candidates, supported_methods

    for candidate in auto_candidates():
        if (
            candidate.supports(dist)
            and candidate.min_samples <= num_samples
            and _auto_num_samples(candidate, dist, num_samples) == num_samples
            and not (flat and candidate.differentiable_f)
            and nested * candidate.count_evaluations(dist) <= AUTO_MAX_EVALUATIONS
            and _why_not_at_a_site(candidate) is None
        ):
            return candidate
    raise ValueError(
        f"site {name!r}: method='auto' found no unbiased method for {type(dist).__name__} with "
        f"num_samples={num_samples} within {AUTO_MAX_EVALUATIONS} evaluations per sample; name "
        f"one of {', '.join(supported_methods(dist))}."
    )


def plan(
    f: Callable,
    joint: Joint,
    key: jax.Array,
    method: Any,
    num_samples: int,
    site_options: Mapping[str, Mapping[str, Any]] | None,
) -> Plan:
    """Validates the program and decides each site's estimator (``"auto"`` per site)."""
    from reparax._api import resolve_method

    _checks.check_key(key)
    _checks.check_count("num_samples", num_samples)
    if not callable(f):
        raise TypeError(f"`f` must map a joint sample (a dict of site values) to costs, got {f!r}.")
    if not (method is None or isinstance(method, (str, Estimator, Mapping))):
        raise TypeError(
            f"`method` for a joint must be a method name, an rx.Estimator or a mapping of site "
            f"names to those, got {method!r}."
        )
    site_options = dict(site_options or {})
    for name in site_options:
        if name not in joint.names:
            raise ValueError(
                f"`site_options` names site {name!r}, which the joint does not have; its sites: "
                f"{', '.join(joint.names)}."
            )

    dists: dict[str, Any] = {}

    def forward(key: jax.Array) -> dict[str, jax.Array]:
        values: dict[str, jax.Array] = {}
        for name in joint.names:
            dists[name] = joint.distribution(name, values)
            values[name] = dists[name].sample(joint.site_key(key, name))
        return values

    # Abstract forward pass: the site distributions' families and shapes (nothing computed).
    values = jax.eval_shape(forward, key)
    values = {n: jax.ShapeDtypeStruct(v.shape, v.dtype) for n, v in values.items()}

    children = {parent for site in joint.names for parent in joint.parents(site)}
    sites = []
    nested = 1  # continuation evaluations per sample so far (local sites multiply them)
    for name in joint.names:
        dist = dists[name]
        requested = _site_method(method, name, joint.names)
        # A site's gradient through f alone is structurally zero when f reads it only through
        # comparisons, casts or stop_gradient and no later site's distribution reads it.
        flat = name not in children and _flat_in(f, values, name)
        if requested is None or (isinstance(requested, str) and requested.lower() == "auto"):
            estimator = _auto(dist, num_samples, flat, nested, name)
        else:
            estimator = resolve_method(requested, dist, num_samples)
        refusal = _why_not_at_a_site(estimator)
        if refusal is not None:
            raise ValueError(
                f"site {name!r}: method={estimator.name!r} does not work at an rx.Joint site: "
                f"{refusal}. Methods for this site: {_site_alternatives(dist)}."
            )
        if flat and estimator.differentiable_f:
            raise ValueError(
                f"site {name!r}: method={estimator.name!r} needs a differentiable f, but f reads "
                f"this site only through a comparison, an integer cast or stop_gradient (and no "
                f"later site reads it): its gradient would be a silent 0. Use a method that does "
                f"not differentiate f (e.g. 'disarm', 'rloo', 'score_function'), or 'auto'."
            )
        if not estimator.supports(dist):
            from reparax._registry import supported_methods

            raise ValueError(
                f"site {name!r}: method={estimator.name!r} does not support "
                f"{type(dist).__name__} (it lacks {', '.join(estimator.missing(dist))}); "
                f"methods that do: {', '.join(supported_methods(dist))}."
            )
        options = dict(site_options.get(name, {}))
        if "control_variate" in options or "cv_coefficient" in options:
            raise ValueError(
                f"site {name!r}: control variates are not supported inside a joint; use a "
                "baseline ('rloo', or score_function with baseline=...)."
            )
        _checks.check_options(estimator, options, dist)
        for common in COMMON_OPTIONS:
            if common in options:
                scope = (
                    "is not supported for an rx.Joint yet"
                    if common == "sample_sharding"
                    else "belongs to the whole program"
                )
                raise ValueError(f"site {name!r}: `{common}` {scope}, not a site option.")
        score = estimator.name in SCORE_FAMILY
        baseline = None
        if score:
            baseline = "leave_one_out" if estimator.name == "rloo" else options.get("baseline")
            if isinstance(baseline, str) and baseline != "leave_one_out":
                raise ValueError(
                    f"site {name!r}: inside a joint, score_function's `baseline` must be None, "
                    f"a number, an array of shape (num_samples,) or 'leave_one_out'; got "
                    f"{baseline!r}."
                )
            if baseline is not None and not isinstance(baseline, str):
                baseline = jnp.asarray(baseline, jnp.float32)
                if baseline.shape not in ((), (num_samples,)):
                    raise ValueError(
                        f"site {name!r}: `baseline` must be a scalar or have shape "
                        f"(num_samples,) = ({num_samples},); got shape {baseline.shape}."
                    )
                baseline = jnp.broadcast_to(baseline, (num_samples,))
        _checks.check_count(
            "num_samples",
            num_samples,
            minimum=2 if baseline == "leave_one_out" else estimator.min_samples,
            method=estimator,
        )
        sites.append(Site(name, estimator, options, score, baseline))
        if not score:
            from reparax.diagnostics import _evaluations_per_sample  # imports the dispatcher

            nested *= _evaluations_per_sample(estimator, dist, options)

    cost_names, reads = _cost_structure(f, joint, values)
    score_sites = {s.name for s in sites if s.score}
    boxed = tuple(
        frozenset(s for s in score_sites if s in r or any(s in joint.ancestors(x) for x in r))
        for r in reads
    )
    return Plan(tuple(sites), cost_names, boxed)


def surrogate(
    f: Callable,
    joint: Joint,
    key: jax.Array,
    program: Plan,
    *,
    num_samples: int,
    chunk_size: int | None = None,
) -> jax.Array:
    """The program's surrogate: value the Monte Carlo estimate of E[Σ costs], derivatives the
    per-site estimators' (see the module docstring)."""
    sites = program.sites
    baselined = [s for s in sites if s.score and s.baseline is not None]
    num_costs = len(program.cost_names)
    num_slots = num_costs + len(baselined)

    def one_sample(sample_key: jax.Array) -> jax.Array:
        cost = bind_key(f, sample_key)

        def leaf(values: dict[str, Any], log_probs: dict[str, Any], slot: jax.Array) -> jax.Array:
            costs = jax.tree_util.tree_leaves(cost(values))
            candidates = [
                c * magic_box(sum((log_probs[s] for s in boxed), start=jnp.zeros(())))
                for c, boxed in zip(costs, program.boxed)
            ]
            candidates += [1.0 - magic_box(log_probs[s.name]) for s in baselined]
            # A sum of products, not a stacked dot: the selection must stay elementwise (a
            # stack of boxes fails to transpose inside lax.map's checkpoint in JAX 0.10).
            weights = jax.nn.one_hot(slot, num_slots)
            return sum((w * c for w, c in zip(weights, candidates)), start=jnp.zeros(()))

        def run(
            index: int, values: dict[str, Any], log_probs: dict[str, Any], slot: jax.Array
        ) -> jax.Array:
            if index == len(sites):
                return leaf(values, log_probs, slot)
            site = sites[index]
            dist = joint.distribution(site.name, values)
            site_key = joint.site_key(sample_key, site.name)
            if site.score:
                dist = dist.checked(
                    report=False
                )  # no checkify effect: C++ dispatch (see estimator.py)
                z = jax.lax.stop_gradient(dist.sample(site_key))
                log_prob = dist.joint_log_prob(z)
                return run(
                    index + 1, {**values, site.name: z}, {**log_probs, site.name: log_prob}, slot
                )

            def continuation(z: jax.Array) -> jax.Array:
                return run(index + 1, {**values, site.name: z}, log_probs, slot)

            return site.estimator.surrogate(
                continuation, dist, site_key, num_samples=1, site=site.name, **site.options
            )

        return jax.vmap(lambda slot: run(0, {}, {}, slot))(jnp.arange(num_slots))

    out = map_samples(one_sample, key, num_samples, chunk_size)  # (N, slots)
    total = jnp.mean(jnp.sum(out[:, :num_costs], axis=1))
    values = jax.lax.stop_gradient(out[:, :num_costs])
    for j, site in enumerate(baselined):
        depends = jnp.array([site.name in boxed for boxed in program.boxed], values.dtype)
        signal = values @ depends  # per sample: the costs that depend on this site
        if isinstance(site.baseline, str):
            baseline = leave_one_out(signal)
        else:
            baseline = site.baseline
        total = total + jnp.mean(jax.lax.stop_gradient(baseline) * out[:, num_costs + j])
    return total
