"""``python -m reparax``: compare gradient estimators on Gaussian problems with exact answers.

For x ~ N(μ, σ²) at μ = σ = 1 and each problem f(x) = (x − k)², exp(−k x²), cos(k x), every
applicable method estimates ∂/∂μ and ∂/∂σ of E[f]; the table shows the estimate ± its
standard error over independent trials, the exact gradient, the per-sample variance
(num_samples × the variance of one estimate), the f-evaluations per estimate and the time
per estimate.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterator
from typing import NoReturn

import jax
import jax.numpy as jnp

import reparax as rx
from reparax import _registry, diagnostics
from reparax.problems import GAUSSIAN_PROBLEMS


class _Parser(argparse.ArgumentParser):
    """argparse, but a bad option is one line on stderr (no usage block, no traceback)."""

    def error(self, message: str) -> NoReturn:
        _fail(f"{message} (see --help)")


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="python -m reparax",
        description=__doc__.split("\n\n")[0].removeprefix("``python -m reparax``: "),
    )
    parser.add_argument(
        "--problem",
        choices=[*GAUSSIAN_PROBLEMS, "all"],
        default="all",
        help="which f to use (default: all three)",
    )
    parser.add_argument("--k", type=float, default=1.0, help="the constant k in f (default 1)")
    parser.add_argument("--loc", type=float, default=1.0, help="μ (default 1)")
    parser.add_argument("--scale", type=float, default=1.0, help="σ > 0 (default 1)")
    parser.add_argument(
        "--num-samples", type=int, default=10, help="samples per estimate (default 10)"
    )
    parser.add_argument(
        "--trials", type=int, default=2000, help="independent estimates (default 2000)"
    )
    parser.add_argument("--seed", type=int, default=0, help="PRNG seed (default 0)")
    parser.add_argument(
        "--methods",
        default="auto",
        help="comma-separated method names, or 'auto' for every applicable one",
    )
    return parser


def _fail(message: str) -> NoReturn:
    print(f"python -m reparax: error: {message}", file=sys.stderr)
    raise SystemExit(2)


def _methods(arg: str, dist: rx.Distribution, num_samples: int) -> list[str]:
    """The methods to run: every applicable one for "auto", else the named ones (read from
    the registry: names are case-insensitive, aliases work)."""
    supported = rx.supported_methods(dist)
    if arg == "auto":
        return [m for m in supported if rx.methods()[m].min_samples <= num_samples]
    names = []
    for name in (n.strip() for n in arg.split(",") if n.strip()):
        try:
            method = _registry.lookup(name)
        except ValueError as error:
            _fail(str(error))
        if method.name not in supported:
            _fail(f"method {name!r} does not apply to a Normal; choose from {', '.join(supported)}")
        if method.min_samples > num_samples:
            _fail(f"{method.name} needs --num-samples >= {method.min_samples}")
        names.append(method.name)
    return names


def rows(args: argparse.Namespace) -> Iterator[tuple]:
    dist = rx.Normal(jnp.asarray(args.loc), jnp.asarray(args.scale))
    problems = list(GAUSSIAN_PROBLEMS) if args.problem == "all" else [args.problem]
    key = jax.random.key(args.seed)
    for problem in problems:
        g, exact = GAUSSIAN_PROBLEMS[problem](args.k)
        exact_grad = jax.grad(exact, argnums=(0, 1))(dist.loc, dist.scale)
        for method in _methods(args.methods, dist, args.num_samples):
            samples = diagnostics.estimator_samples(
                g,
                dist,
                key,
                method=method,
                num_estimates=args.trials,
                num_samples=args.num_samples,
            )
            summary = diagnostics.summarize(samples.grad)
            seconds = diagnostics.time_per_estimate(
                g, dist, key, method=method, num_samples=args.num_samples
            )
            evals = diagnostics.f_evaluations(method, dist, args.num_samples)
            for name, exact_value in zip(("loc", "scale"), exact_grad):
                yield (
                    problem,
                    method,
                    name,
                    float(getattr(summary.mean, name)),
                    float(getattr(summary.stderr, name)),
                    float(exact_value),
                    args.num_samples * float(getattr(summary.variance, name)),
                    evals,
                    seconds * 1e6,
                )


def main(argv: list[str] | None = None) -> None:
    args = _parser().parse_args(argv)
    if args.scale <= 0:
        _fail("--scale must be > 0")
    if args.num_samples < 1:
        _fail("--num-samples must be >= 1")
    if args.trials < 2:
        _fail("--trials must be >= 2")
    _methods(
        args.methods, rx.Normal(jnp.zeros(()), jnp.ones(())), args.num_samples
    )  # fail before any output
    print(
        f"∇ E_N(μ={args.loc:g}, σ={args.scale:g})[f], k={args.k:g}, "
        f"{args.num_samples} samples per estimate, {args.trials} trials, seed {args.seed}"
    )
    header = (
        "problem",
        "method",
        "param",
        "estimate ± stderr",
        "exact",
        "var/sample",
        "f-evals",
        "µs/estimate",
    )
    print(
        f"{header[0]:<11}{header[1]:<16}{header[2]:<6}{header[3]:>22}{header[4]:>10}"
        f"{header[5]:>12}{header[6]:>9}{header[7]:>13}"
    )
    for problem, method, param, mean, err, exact, var, evals, micros in rows(args):
        estimate = f"{mean:+.4f} ± {err:.4f}"
        print(
            f"{problem:<11}{method:<16}{param:<6}{estimate:>22}{exact:>+10.4f}"
            f"{var:>12.4f}{evals:>9d}{micros:>13.1f}"
        )


if __name__ == "__main__":
    main()
