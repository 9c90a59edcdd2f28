"""``python -m reparax``: compare gradient estimators on problems with exact answers.

Five problems (``reparax.problems``): three Gaussian ones, x ~ N(μ, σ²) with f(x) = (x − k)²,
exp(−k x²) and cos(k x), and two Bernoulli ones, the 1-bit toy f(b) = (b − t)² and 200
independent bits with f(b) = Σ(b_i − t)². Every applicable method (registry order; the
multi-sample bounds vimco/iwae/dreg/stl are not expectations and are left out) draws many
independent estimates of ∇θ E[f]; each problem's table states f, the distribution and the
exact gradient's closed form, then per method and parameter: the mean estimate ± its
standard error, the exact value, z = (mean − exact)/stderr and whether |z| ≤ 5 ("agrees"),
the per-sample variance, the f-evaluations and the time per estimate. Relaxations are
labelled "biased": their disagreement is their bias, not a fault.

``--json`` prints one JSON document instead, ``--plot FILE`` draws per-sample variance
against the number of samples k (needs matplotlib: ``pip install "reparax[plot]"``).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable
from typing import Any, NoReturn

import jax
import numpy as np
from tqdm import tqdm

import reparax as rx
from reparax import _comparison_report as report
from reparax import _registry, problems
from reparax._comparison import Comparison, compare
from reparax._comparison_plot import check_matplotlib, draw

PROBLEM_NAMES = ("square", "exp_square", "cosine", "bit", "bits200")
#: Independent estimates per (problem, method) unless --estimates says otherwise. The 200-bit
#: problem gets fewer: measure_valued evaluates f 2·200 + 1 times per sample and RODEO's Stein
#: operator visits all 2·200 neighbours (≈ 9 ms per estimate on 2 cores).
DEFAULT_ESTIMATES = {"bits200": 200}
DEFAULT_ESTIMATES_OTHERS = 2000
QUICK_PROBLEMS = ("square", "bit")
QUICK_ESTIMATES = 500


class _Parser(argparse.ArgumentParser):
    """argparse, but a bad option is one line on stderr (no usage block, no traceback)."""

    def error(self, message: str) -> NoReturn:
        _fail(f"{message} (see --help)")


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="python -m reparax",
        description=__doc__.split("\n\n")[0].removeprefix("``python -m reparax``: "),
    )
    add = parser.add_argument
    add(
        "--problems",
        "--problem",
        default="all",
        help=f"comma-separated, from {', '.join(PROBLEM_NAMES)} (default: all)",
    )
    add(
        "--methods",
        default="all",
        help="comma-separated method names (case-insensitive, aliases work), or 'all' for "
        "every applicable one (default)",
    )
    add(
        "--estimates",
        "--trials",
        type=int,
        help=f"independent estimates per method (default {DEFAULT_ESTIMATES_OTHERS}; "
        f"{DEFAULT_ESTIMATES['bits200']} for bits200)",
    )
    add("--num-samples", type=int, default=10, help="samples per estimate, k (default 10)")
    add("--seed", type=int, default=0, help="PRNG seed (default 0)")
    add("--k", type=float, default=1.0, help="the constant k in the Gaussian f (default 1)")
    add("--loc", type=float, default=1.0, help="μ of the Gaussian problems (default 1)")
    add("--scale", type=float, default=1.0, help="σ > 0 of the Gaussian problems (default 1)")
    add("--logit", type=float, default=1.0, help="θ of the 1-bit toy (default 1)")
    add("--target", type=float, default=0.45, help="t of the Bernoulli problems (default 0.45)")
    add(
        "--quick",
        action="store_true",
        help=f"a smaller run: problems {','.join(QUICK_PROBLEMS)} (unless --problems), "
        f"{QUICK_ESTIMATES} estimates (unless --estimates), the plot at k = 1, 4, 16",
    )
    add("--json", action="store_true", help="print one JSON document (for scripts), no table")
    add(
        "--plot",
        metavar="FILE",
        help="draw per-sample variance against k for each method (log-log) into FILE (one "
        "more compilation per method and k: about a minute for all methods on a problem)",
    )
    add("--plot-problem", help="the problem --plot draws (default: the first one run)")
    add("--quiet", action="store_true", help="no progress bar (it is off when not a TTY)")
    return parser


def _fail(message: str) -> NoReturn:
    print(f"python -m reparax: error: {message}", file=sys.stderr)
    raise SystemExit(2)


def _split(arg: str) -> list[str]:
    return [name.strip() for name in arg.split(",") if name.strip()]


def _problems(args: argparse.Namespace) -> list[problems.Problem]:
    names = _split(args.problems)
    if args.problems == "all":
        names = list(QUICK_PROBLEMS if args.quick else PROBLEM_NAMES)
    for name in names:
        if name not in PROBLEM_NAMES:
            _fail(f"unknown problem {name!r} in --problems; choose from {', '.join(PROBLEM_NAMES)}")
    if not names:
        _fail("--problems is empty")
    build: dict[str, Callable[[], problems.Problem]] = {
        "bit": lambda: problems.one_bit(logit=args.logit, target=args.target),
        "bits200": lambda: problems.many_bits(num_bits=200, target=args.target),
    }
    gaussian = lambda name: problems.gaussian(name, k=args.k, loc=args.loc, scale=args.scale)
    return [build[name]() if name in build else gaussian(name) for name in dict.fromkeys(names)]


def _applicable(problem: problems.Problem, num_samples: int) -> list[str]:
    """Every registered expectation method that supports the problem's distribution."""
    return [
        name
        for name in rx.supported_methods(problem.dist)
        if rx.methods()[name].objective == "expectation"
        and rx.methods()[name].min_samples <= num_samples
    ]


def _methods(arg: str, chosen: list[problems.Problem], num_samples: int) -> dict[str, list[str]]:
    """The methods to run per problem: every applicable one for "all", else the named ones,
    each of which must apply to every chosen problem (a named method is a request)."""
    if arg in ("all", "auto"):  # "auto": the spelling before "all"
        return {p.name: _applicable(p, num_samples) for p in chosen}
    names = []
    for name in _split(arg):
        try:
            method = _registry.lookup(name)
        except ValueError as error:
            _fail(str(error))
        if method.objective != "expectation":
            _fail(
                f"{method.name} estimates a multi-sample bound, not an expectation "
                "(rx.multisample_bound runs it); the main job compares expectations"
            )
        if method.min_samples > num_samples:
            _fail(f"{method.name} needs --num-samples >= {method.min_samples}")
        refused = [p.name for p in chosen if method.name not in rx.supported_methods(p.dist)]
        if refused:
            takers = [n for n in PROBLEM_NAMES if n not in refused]
            _fail(
                f"method {method.name!r} does not apply to problem(s) {', '.join(refused)}; "
                f"leave them out with --problems (e.g. --problems {','.join(takers) or '…'})"
            )
        names.append(method.name)
    if not names:
        _fail("--methods is empty")
    return {p.name: list(dict.fromkeys(names)) for p in chosen}


def _check(args: argparse.Namespace) -> None:
    if args.scale <= 0:
        _fail("--scale must be > 0")
    if args.num_samples < 1:
        _fail("--num-samples must be >= 1")
    if args.estimates is not None and args.estimates < 2:
        _fail("--estimates must be >= 2 (the standard error needs two)")
    if not 0 <= args.target <= 1:
        _fail("--target must be in [0, 1] (t of f(b) = (b − t)²)")
    if args.plot is not None:
        try:
            check_matplotlib()
        except ImportError as error:
            _fail(str(error))


def _num_estimates(args: argparse.Namespace, problem: str) -> int:
    if args.estimates is not None:
        return int(args.estimates)
    if args.quick:
        return QUICK_ESTIMATES
    return DEFAULT_ESTIMATES.get(problem, DEFAULT_ESTIMATES_OTHERS)


def _key(args: argparse.Namespace, problem: problems.Problem) -> jax.Array:
    """The problem's own key: its numbers do not depend on which other problems run."""
    return jax.random.fold_in(jax.random.key(args.seed), PROBLEM_NAMES.index(problem.name))


def _run_tables(
    args: argparse.Namespace,
    chosen: list[problems.Problem],
    methods: dict[str, list[str]],
    out: report.Table,
    bar: Any,
) -> dict[str, list[Comparison]]:
    results: dict[str, list[Comparison]] = {}
    for problem in chosen:
        num_estimates = _num_estimates(args, problem.name)
        out.problem(problem, num_estimates)
        rows = results.setdefault(problem.name, [])
        for method in methods[problem.name]:
            bar.set_description(f"{problem.name}: {method}")
            row = compare(
                problem,
                method,
                _key(args, problem),
                num_samples=args.num_samples,
                num_estimates=num_estimates,
            )
            rows.append(row)
            out.row(row)
            bar.update()
    return results


def main(argv: list[str] | None = None) -> None:
    """Runs the comparison (``argv``: the command-line arguments, default ``sys.argv[1:]``)."""
    args = _parser().parse_args(argv)
    _check(args)
    chosen = _problems(args)
    methods = _methods(args.methods, chosen, args.num_samples)  # fail before any output
    plot_problem = _plot_problem(args, chosen)
    plot_jobs = _plot_jobs(args, plot_problem, methods) if plot_problem else []
    out = report.Table(args, enabled=not args.json)
    start = time.perf_counter()
    total = sum(map(len, methods.values())) + len(plot_jobs)
    with tqdm(total=total, file=sys.stderr, disable=True if args.quiet else None) as bar:
        out.preamble()
        results = _run_tables(args, chosen, methods, out, bar)
        variances = _run_plot(args, plot_problem, plot_jobs, results, bar) if plot_problem else {}
    seconds = time.perf_counter() - start
    if plot_problem is not None:
        draw(args.plot, plot_problem, variances, rx.methods())
    if args.json:
        document = report.json_document(args, chosen, results, variances, seconds)
        print(json.dumps(document, indent=1, ensure_ascii=False, allow_nan=False))
    else:
        out.footer(results, seconds)


def _plot_problem(
    args: argparse.Namespace, chosen: list[problems.Problem]
) -> problems.Problem | None:
    if args.plot is None:
        if args.plot_problem is not None:
            _fail("--plot-problem needs --plot FILE")
        return None
    if args.plot_problem is None:
        return chosen[0]
    for problem in chosen:
        if problem.name == args.plot_problem:
            return problem
    _fail(
        f"--plot-problem {args.plot_problem!r} is not among --problems "
        f"({', '.join(p.name for p in chosen)})"
    )


def plot_ks(args: argparse.Namespace) -> tuple[int, ...]:
    """The numbers of samples k the plot draws."""
    return (1, 4, 16) if args.quick else (1, 2, 4, 8, 16, 32)


def _plot_jobs(
    args: argparse.Namespace, problem: problems.Problem, methods: dict[str, list[str]]
) -> list[tuple[str, int]]:
    """(method, k) pairs still to run for the plot (k = --num-samples is already run)."""
    return [
        (method, k)
        for method in methods[problem.name]
        for k in plot_ks(args)
        if k != args.num_samples and k >= rx.methods()[method].min_samples
    ]


def _run_plot(
    args: argparse.Namespace,
    problem: problems.Problem,
    jobs: list[tuple[str, int]],
    results: dict[str, list[Comparison]],
    bar: Any,
) -> dict[str, dict[int, float]]:
    """Per-sample variance (summed over the parameters' coordinates) by method and k."""
    variances: dict[str, dict[int, float]] = {}
    for row in results[problem.name]:
        if row.skipped is None:  # noise-free methods (exact enumeration): nothing to draw
            noise_free = all(p.noise_free for p in row.parameters)
            variances[row.method] = {} if noise_free else {row.num_samples: _total_variance(row)}
    for method, k in jobs:
        bar.set_description(f"plot {problem.name}: {method}, k={k}")
        if variances.get(method):
            row = compare(
                problem,
                method,
                _key(args, problem),
                num_samples=k,
                num_estimates=_num_estimates(args, problem.name),
            )
            variances[method][k] = _total_variance(row)
        bar.update()
    return {m: dict(sorted(v.items())) for m, v in variances.items()}


def _total_variance(row: Comparison) -> float:
    return float(np.sum([p.variance_per_sample for p in row.parameters]))


if __name__ == "__main__":
    main()
