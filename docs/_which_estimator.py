"""The "Which estimator?" page: the registry's table, the measured variances read from the
README's benchmark tables, and a decision chart."""

from __future__ import annotations

from _readme_pages import readme_table

import reparax as rx
from reparax import _registry
from reparax.estimator import Estimator


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
        "**z discrete, f cheap enough for D·(K − 1) + 1 evaluations per sample**",
        ("indecater", "measure_valued"),
    ),
    (
        "**z discrete, a few f-evaluations per sample, unbiased**",
        ("disarm", "rloo", "unordered_set", "sum_and_sample", "arm", "double_cv", "rodeo"),
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
