"""Writes the documentation pages that are derived from the library, never kept by hand.

Everything here reads ``reparax.__all__``, the registry (``reparax._registry.BUILTIN`` and
the :class:`~reparax.Estimator` values' metadata) and the README's generated benchmark
tables, so a name or an estimator added to the library appears on the site without an
edit here. ``docs/conf.py`` calls :func:`write_all` before Sphinx reads the sources;
``tests/test_docs.py`` calls :func:`api_pages` and :func:`public_names` to check that every
public name has a docstring and a page, without building the site.

Generated pages go to ``docs/generated/`` (git-ignored).
"""

from __future__ import annotations

import inspect
import pathlib
import re
import shutil
import types
from collections.abc import Callable
from typing import Any, NamedTuple

import reparax as rx
from reparax import _registry
from reparax.estimator import Estimator

DOCS = pathlib.Path(__file__).resolve().parent
ROOT = DOCS.parent
GENERATED = DOCS / "generated"


# -- the API reference ---------------------------------------------------------------------


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


# -- "Which estimator?" ----------------------------------------------------------------------


def _readme() -> str:
    return (ROOT / "README.md").read_text()


def readme_table(marker: str) -> list[dict[str, str]]:
    """Rows of the first Markdown table between ``<!-- marker:start/end -->`` in the README."""
    match = re.search(rf"<!-- {marker}:start -->\n(.*?)<!-- {marker}:end -->", _readme(), re.S)
    if match is None:
        return []
    lines = [ln for ln in match.group(1).splitlines() if ln.startswith("|")]
    if len(lines) < 2:
        return []
    header = [c.strip() for c in lines[0].strip("|").split("|")]
    rows = []
    for line in lines[2:]:
        cells = [c.strip() for c in line.strip("|").split("|")]
        if len(cells) == len(header) and not set(cells[0]) <= set("-"):
            rows.append(dict(zip(header, cells)))
        elif cells and set("".join(cells)) <= set("-| "):
            break  # a second table starts after this one
    return rows


def _variance_columns() -> tuple[list[str], dict[str, dict[str, str]]]:
    """Measured variance per method and benchmark problem, read from the README's tables
    (written by ``benchmarks/discrete.py`` and ``benchmarks/vae_digits.py``)."""
    columns: list[str] = []
    cells: dict[str, dict[str, str]] = {}
    for row in readme_table("discrete-table"):
        column = f"{row['problem']}: var × µs"
        columns += [column] if column not in columns else []
        cells.setdefault(row["method"], {})[column] = row["var × time"]
    for row in readme_table("vae-table"):
        column = f"VAE {row['model']}: encoder-grad var"
        columns += [column] if column not in columns else []
        cells.setdefault(row["method"], {})[column] = row["encoder-grad variance"]
    return columns, cells


# The decision chart: each step names the methods it recommends, in order. A method that is
# not registered (yet) is left out; every registered method the chart does not name is
# listed after it, by its metadata, so a new estimator is never missing from the page.
DECISIONS: tuple[tuple[str, tuple[str, ...]], ...] = (
    (
        "**z continuous and reparameterized** (`pathwise` in `rx.supported_methods(dist)`), "
        "f differentiable",
        ("pathwise",),
    ),
    (
        "**z continuous, f not differentiable** (a comparison, an integer cast, a simulator), "
        "or a family without a transform",
        ("rloo", "score_function", "measure_valued"),
    ),
    (
        "**a multi-sample bound** log (1/K) Σ p(x, z_k)/q(z_k) (IWAE/VIMCO objectives, through "
        "`rx.multisample_bound`, not `rx.expectation`)",
        ("vimco", "iwae", "dreg", "stl"),
    ),
    ("**z discrete, the whole joint support is small** (≤ 2¹⁰ outcomes): no sampling", ("exact",)),
    (
        "**z discrete, f cheap enough for D·K + 1 evaluations per sample**",
        ("indecater", "measure_valued"),
    ),
    (
        "**z discrete, a few f-evaluations per sample, unbiased**",
        ("disarm", "rloo", "unordered_set", "arm", "double_cv", "rodeo"),
    ),
    (
        "**z discrete, f differentiable, unbiased with a learned control variate**",
        ("relax", "rebar"),
    ),
    (
        "**z discrete, f differentiable, bias acceptable** (relaxations: cheapest, lowest "
        "variance, never chosen by `auto`)",
        (
            "reinmax",
            "gumbel_softmax",
            "st_gumbel_softmax",
            "gapped_straight_through",
            "gumbel_rao",
            "straight_through",
        ),
    ),
)


def _decision_chart(registered: dict[str, Estimator]) -> str:
    lines = []
    named: set[str] = set()
    for condition, candidates in DECISIONS:
        present = [m for m in candidates if m in registered]
        if not present:
            continue
        named |= set(present)
        methods = " → ".join(f"`{m}`" for m in present)
        lines.append(f"{len(lines) + 1}. {condition}: {methods}")
    rest = [e for name, e in registered.items() if name not in named]
    if rest:
        listed = ", ".join(f"`{e.name}` ({'unbiased' if e.unbiased else 'biased'})" for e in rest)
        lines.append(f"{len(lines) + 1}. Also registered, not placed in this chart: {listed}.")
    return "\n".join(lines)


def which_estimator_page() -> str:
    """The "Which estimator?" page: the registry's table, measured variances, the chart."""
    registered = {e.name: e for e in _registry.BUILTIN}
    columns, cells = _variance_columns()
    header = "| method | unbiased | f differentiable | f-evals / sample | " + " | ".join(columns)
    rows = [header + " |", "|" + "---|" * (4 + len(columns))]
    for e in registered.values():
        measured = [cells.get(e.name, {}).get(c, "—") for c in columns]
        rows.append(
            f"| `{e.name}` | {'yes' if e.unbiased else '**no**'} | "
            f"{'yes' if e.differentiable_f else 'no'} | {e.evaluations} | "
            + " | ".join(measured)
            + " |"
        )
    auto = ", ".join(f"`{e.name}`" for e in _registry.auto_candidates())
    return f"""# Which estimator?

Generated from the registry (`reparax._registry.BUILTIN`) and from the benchmark tables in the
README (written by `benchmarks/discrete.py` and `benchmarks/vae_digits.py`; see
{{doc}}`benchmarks`): every number below is read from those tables, not typed here.

## Decision chart

Go down the list; take the first step that matches, and within it the first method that
`rx.supported_methods(dist)` lists. `method="auto"` follows the unbiased part of this order
({auto}), never a relaxation.

{_decision_chart(registered)}

A method that cannot handle your case says so at trace time and names the ones that can.

## Every estimator

{_registry_table_markdown()}

*derivative orders*: "≤ 1" methods raise `rx.DerivativeOrderError` for a second derivative
instead of returning a silent 0; *control variates*: whether `control_variate=` applies;
*auto*: the rank in `method="auto"`'s preference.

## Measured variance on the benchmark problems

Lower is better. "var × µs" is the per-sample variance (summed over the logits) times the
time per single-sample estimate, on a 2-core CPU shared with other jobs (work-normalized
variance: it charges a method for its extra f-evaluations). The VAE columns are the
variance of the encoder gradient at one shared checkpoint of a discrete VAE trained on the
digits, each method with 2 decoder evaluations per image (`indecater`: 65). "—": not
measured on that problem.

{chr(10).join(rows)}
"""


def _registry_table_markdown() -> str:
    return rx.methods_table(_registry.BUILTIN)


# -- benchmarks ------------------------------------------------------------------------------


def readme_sections() -> list[tuple[str, str]]:
    """The README's ``## `` sections as (title, body), fenced code blocks kept whole."""
    sections: list[tuple[str, list[str]]] = []
    fenced = False
    for line in _readme().splitlines():
        if line.startswith("```"):
            fenced = not fenced
        if not fenced and line.startswith("## "):
            sections.append((line[3:].strip(), []))
        elif sections:
            sections[-1][1].append(line)
    return [(title, "\n".join(body).strip() + "\n") for title, body in sections]


def benchmarks_page() -> str:
    """Every README section that holds a generated benchmark table (``<!-- *-table:start``),
    except the estimators' own table, embedded as it is."""
    parts = [
        "# Benchmarks\n",
        "The README's benchmark sections, embedded as they are (each table is written by the "
        "script named above it; rerun the script to refresh it). Timings are on a 2-core CPU "
        "shared with other jobs: compare ratios measured in the same run, not absolute "
        "times across sections.\n",
    ]
    for title, body in readme_sections():
        markers = re.findall(r"<!-- ([\w-]+)-table:start -->", body)
        if markers and markers != ["methods"]:
            parts.append(f"## {title}\n\n{body}")
    return "\n".join(parts)


# -- writing ---------------------------------------------------------------------------------


def all_pages() -> dict[str, str]:
    pages = api_pages()
    pages["which_estimator.md"] = which_estimator_page()
    pages["benchmarks.md"] = benchmarks_page()
    return pages


def write_all() -> None:
    """(Re)writes ``docs/generated/``: the pages above and the notebooks (the gallery)."""
    shutil.rmtree(GENERATED, ignore_errors=True)
    for path, text in all_pages().items():
        target = GENERATED / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text)
    gallery = GENERATED / "gallery"
    gallery.mkdir(parents=True, exist_ok=True)
    notebooks = sorted((ROOT / "notebooks").glob("*.ipynb"))
    for notebook in notebooks:
        shutil.copy(notebook, gallery / notebook.name)
    entries = "\n".join(n.stem for n in notebooks)
    (gallery / "index.md").write_text(
        "# Example gallery\n\nThe notebooks in `notebooks/` (Colab-ready; the test suite runs "
        "each top to bottom). Shown as stored, without running them here.\n\n"
        f"```{{toctree}}\n:maxdepth: 1\n\n{entries}\n```\n"
    )
