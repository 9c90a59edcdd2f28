"""``python -m reparax --plot FILE``: per-sample variance against the number of samples k.

Per-sample variance is k × Var[ĝ_k] (summed over the gradient's coordinates): flat for an
estimator that averages k independent terms, falling for those whose samples help each other
(leave-one-out baselines, antithetic pairs). matplotlib is an optional dependency (the
``plot`` extra); the figure is drawn without pyplot, so no GUI backend is touched.
"""

from __future__ import annotations

from collections.abc import Mapping

from reparax.estimator import Estimator
from reparax.problems import Problem

_INSTALL = 'pip install "reparax[plot]"'


def check_matplotlib() -> None:
    """Raises ImportError naming the install command when matplotlib is missing."""
    try:
        import matplotlib  # noqa: F401
    except ImportError as error:
        raise ImportError(f"--plot needs matplotlib: {_INSTALL}") from error


def draw(
    file: str,
    problem: Problem,
    variances: Mapping[str, Mapping[int, float]],
    estimators: Mapping[str, Estimator],
) -> None:
    """Writes the log-log figure to ``file`` (format from its extension: png, pdf, svg).

    ``variances[method][k]`` is the per-sample variance at k samples; an empty mapping marks
    a method without variance (listed under the axes, not drawn)."""
    from matplotlib import colormaps
    from matplotlib.figure import Figure

    figure = Figure(figsize=(9.0, 5.0), layout="constrained")
    axes = figure.add_subplot()
    colors = colormaps["tab20"]  # an integer picks one of its 20 colours: one per method
    not_drawn = []
    for index, (method, by_k) in enumerate(variances.items()):
        points = list(by_k.items())
        if not points:  # no variance (exact enumeration): nothing to draw on log axes
            not_drawn.append(method)
            continue
        unbiased = estimators[method].unbiased
        axes.plot(
            *zip(*points),
            color=colors(index % 20),
            marker="os^vD<>ph*"[index % 10],
            linestyle="-" if unbiased else "--",
            label=method if unbiased else f"{method} (biased)",
        )
    axes.set_xscale("log", base=2)
    axes.set_yscale("log")
    axes.set_xlabel("k (samples per estimate)")
    axes.set_ylabel("per-sample variance  k · tr Var[ĝ]")
    axes.set_title(f"{problem.name}: {problem.formula[0]};  {problem.formula[1]}", fontsize=9)
    axes.grid(True, which="both", alpha=0.3)
    # Outside the axes: methods that coincide here (untrained control variates equal their
    # base estimator) overlap on the axes but stay legible in the legend.
    axes.legend(fontsize=7, loc="center left", bbox_to_anchor=(1.01, 0.5))
    if not_drawn:
        figure.supxlabel(f"no variance, not drawn: {', '.join(not_drawn)}", fontsize=8)
    figure.savefig(file, dpi=120)
