"""The API reference pages, generated from ``reparax.__all__``.

Each public name goes to the first :class:`Group` whose rule accepts the object (rules read
what the object is and the module that defines it, never a list of names); a public
submodule gets a page of its own; a name no rule knows lands on "Other public names".
"""

from __future__ import annotations

import inspect
import types
from collections.abc import Callable
from typing import Any, NamedTuple

import reparax as rx
from reparax import _registry
from reparax.estimator import Estimator


class Group(NamedTuple):
    """One API page: the public names ``belongs`` accepts, in ``__all__`` order."""

    slug: str
    title: str
    intro: str
    belongs: Callable[[str, Any], bool]


def _module_of(obj: Any) -> str:
    return getattr(obj, "__module__", None) or ""


def _from(*prefixes: str) -> Callable[[str, Any], bool]:
    """Objects defined in a module whose name starts with one of ``prefixes``."""

    def belongs(name: str, obj: Any) -> bool:
        del name
        return _module_of(obj).startswith(prefixes)

    return belongs


def _is_estimator(name: str, obj: Any) -> bool:
    del name
    return isinstance(obj, Estimator) or _module_of(obj).startswith("reparax.estimators")


def _is_distribution(name: str, obj: Any) -> bool:
    del name
    return (inspect.isclass(obj) and issubclass(obj, rx.Distribution)) or _module_of(
        obj
    ).startswith("reparax.distributions")


# Order matters: a name goes to the first group that accepts it; submodules (``rx.diagnostics``
# ...) get a page each, and a name no rule knows lands on "Other", never nowhere.
GROUPS: tuple[Group, ...] = (
    Group(
        "estimators",
        "Estimators",
        "Every estimator is an ``rx.Estimator`` value: calling it is "
        "``rx.expectation(f, dist, key, method=name, ...)``. Which one to use: "
        "{doc}`../which_estimator`.",
        _is_estimator,
    ),
    Group(
        "entry_points",
        "Entry points and the registry",
        "How to call an estimator (``rx.expectation``, ``rx.gradient_estimate``, and "
        "``rx.multisample_bound`` where it exists), the ``Estimator`` value, the registry "
        "that ``method=`` names resolve through, and how a method is chosen.",
        _from(
            "reparax._api",
            "reparax._registry",
            "reparax.estimator",
            "reparax._order",
            "reparax._variance",
            "reparax.pilot",
            "reparax.multisample",
        ),
    ),
    Group(
        "adapters",
        "Adapters: NumPyro, TFP, distrax",
        "Distributions from other libraries as reparax distributions.",
        _from("reparax.adapters"),
    ),
    Group(
        "distributions",
        "Distributions",
        "Frozen dataclass pytrees whose leaves are the parameters; the methods a family "
        "supports follow from its capabilities ({doc}`module_capabilities`).",
        _is_distribution,
    ),
    Group(
        "programs",
        "Programs: plates, keys, joints, sequences",
        "Costs that sample with their own key, joint models with a method per site, and the "
        "scan-friendly DiCE nodes.",
        _from("reparax.joint", "reparax.sequential", "reparax._keyed", "reparax._program"),
    ),
)
OTHER = Group("other", "Other public names", "Public names no other page claims.", _from(""))


def public_names() -> dict[str, Any]:
    """``reparax.__all__``, name → object."""
    return {name: getattr(rx, name) for name in rx.__all__}


def _aliases() -> dict[str, str]:
    """Public names bound to the same object as another public name (``reinforce``), to
    the name the object calls itself (``score_function``)."""
    by_object: dict[int, list[str]] = {}
    for name, obj in public_names().items():
        if not isinstance(obj, (types.ModuleType, type(None), bool, int, float, str)):
            by_object.setdefault(id(obj), []).append(name)
    aliases = {}
    for names in by_object.values():
        obj = getattr(rx, names[0])
        own = (
            getattr(obj, "name", None)
            if isinstance(obj, Estimator)
            else getattr(obj, "__name__", None)
        )
        primary = own if own in names else names[0]
        aliases.update({n: primary for n in names if n != primary})
    return aliases


def group_names() -> dict[str, list[str]]:
    """Page slug → the public names documented there (every name exactly once)."""
    pages: dict[str, list[str]] = {g.slug: [] for g in (*GROUPS, OTHER)}
    for name, obj in public_names().items():
        if isinstance(obj, types.ModuleType):
            pages.setdefault(f"module_{name}", []).append(name)
            continue
        group = next((g for g in GROUPS if g.belongs(name, obj)), OTHER)
        pages[group.slug].append(name)
    # Estimators in the registry's order (then their helpers), the rest alphabetically.
    order = {e.name: i for i, e in enumerate(_registry.estimators())}
    for slug, names in pages.items():
        names.sort(
            key=lambda n: (
                order.get(getattr(rx, n).name, len(order))
                if slug == "estimators" and isinstance(getattr(rx, n), Estimator)
                else len(order),
                n,
            )
        )
    return {slug: names for slug, names in pages.items() if names}


def _rst(directive: str, target: str, *lines: str) -> str:
    """An RST directive in a MyST page (autodoc writes RST, so it must be parsed as RST)."""
    body = "".join(f"   {line}\n" if line else "\n" for line in lines)
    return f"```{{eval-rst}}\n.. {directive}:: {target}\n{body}```\n"


def _directive(name: str, obj: Any, aliases: dict[str, str]) -> str:
    target = f"reparax.{name}"
    if name in aliases:
        return _rst(
            "py:data",
            target,
            "",
            f"An alias of :py:obj:`reparax.{aliases[name]}` (the same object; "
            f"``method={name!r}`` works too).",
        )
    if isinstance(obj, Estimator):
        return _rst("autofunction", target) + "\n" + _estimator_facts(obj)
    if inspect.isclass(obj):
        return _rst("autoclass", target, ":members:")
    if callable(obj):
        return _rst("autofunction", target)
    return _rst("autodata", target)


def _estimator_facts(e: Estimator) -> str:
    """The registry's metadata of one estimator, as a definition list under its docstring."""
    options = ", ".join(f"``{k}={v!r}``" for k, v in e.options.items()) or "none"
    order = "any" if e.max_order is None else f"≤ {e.max_order}"
    # Metadata a newer Estimator may carry (e.g. ``objective``) is shown when present.
    objective = getattr(e, "objective", None)
    objective = f"objective: {objective}; " if objective else ""
    return (
        f"Registry metadata of ``{e.name}``: {objective}"
        f"unbiased **{'yes' if e.unbiased else 'no'}**; "
        f"f differentiable: {'yes' if e.differentiable_f else 'no'}; f-evaluations per "
        f"sample: {e.evaluations}; needs: {', '.join(_registry._capabilities(e))}; "
        f"min samples: {e.min_samples}; derivative orders: {order}; own options: "
        f"{options}.\n"
    )


def _module_page(name: str, module: types.ModuleType) -> str:
    """``automodule`` of a public submodule, less what is also a top-level name (documented
    on its group's page; twice would be a duplicate object description)."""
    top_level = {id(getattr(rx, n)) for n in rx.__all__ if n != name}
    shared = sorted(
        n for n in getattr(module, "__all__", ()) if id(getattr(module, n, None)) in top_level
    )
    exclude = f"   :exclude-members: {', '.join(shared)}\n" if shared else ""
    return (
        f"# `rx.{name}`\n\n```{{eval-rst}}\n.. automodule:: reparax.{name}\n"
        f"   :members:\n{exclude}```\n"
    )


def _distribution_kit() -> list[str]:
    """``rx.distributions`` names that are not top-level (the authoring kit)."""
    from reparax import distributions

    return [n for n in distributions.__all__ if n not in rx.__all__]


def api_pages() -> dict[str, str]:
    """Relative path (under ``generated/``) → MyST text of every API page and its index."""
    aliases = _aliases()
    names = public_names()
    titles = {g.slug: g for g in (*GROUPS, OTHER)}
    pages: dict[str, str] = {}
    for slug, members in group_names().items():
        if slug.startswith("module_"):
            module_name = slug.removeprefix("module_")
            pages[f"api/{slug}.md"] = _module_page(module_name, names[module_name])
            continue
        group = titles[slug]
        body = [f"# {group.title}\n", f"{group.intro}\n"]
        body += [_directive(n, names[n], aliases) for n in members]
        if slug == "distributions":
            body.append(
                "## Authoring kit (`rx.distributions`)\n\nFor your own families: "
                "{doc}`../../guide/custom`.\n"
            )
            body += [
                _rst("autofunction", f"reparax.distributions.{n}")
                if inspect.isfunction(getattr(rx.distributions, n))
                else _rst("autoclass", f"reparax.distributions.{n}", ":members:")
                for n in _distribution_kit()
            ]
        pages[f"api/{slug}.md"] = "\n".join(body)
    entries = "\n".join(f"{path.removeprefix('api/').removesuffix('.md')}" for path in pages)
    pages["api/index.md"] = (
        "# API reference\n\nEvery name in `reparax.__all__` (`import reparax as rx`), "
        "generated from the package; grouped by what it is.\n\n"
        f"```{{toctree}}\n:maxdepth: 1\n\n{entries}\n```\n"
    )
    return pages
