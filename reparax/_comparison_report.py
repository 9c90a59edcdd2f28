"""What ``python -m reparax`` prints: a table per problem (formulas first), or one JSON
document for scripts."""

from __future__ import annotations

import argparse
import math
import sys
from typing import Any

import numpy as np
from tqdm import tqdm

import reparax
from reparax._comparison import Z_THRESHOLD, Comparison, ParameterResult
from reparax.problems import Problem

_COLUMNS = (
    f"{'method':<24}{'param':<8}{'estimate ± stderr':>22}{'exact':>10}{'z':>8}  "
    f"{'verdict':<20}{'var/sample':>11}{'f-evals':>9}{'µs/est':>9}"
)

_FOOTNOTES = (
    "z = (mean − exact)/stderr over the independent estimates (stderr floored at "
    "10⁻⁵(1 + |exact|) for float32 rounding);",
    f"|z| ≤ {Z_THRESHOLD:g} → agrees (a correct unbiased estimator exceeds it with "
    "probability 6·10⁻⁷ per coordinate).",
    "(biased): a relaxation, whose expected gradient is not the exact one; its "
    "disagreement is that bias, not a fault.",
    "var/sample: k × the variance of one estimate, summed over coordinates; a vector θ's row "
    "shows its coordinate with the largest |z|.",
    "µs/est: one jit-compiled estimate (a loop over estimates), compilation excluded.",
)


def verdict(parameter: ParameterResult, unbiased: bool) -> str:
    """ "agrees" or "DISAGREES" (an unbiased method: alarming), "(biased)" for relaxations."""
    if unbiased:
        return "agrees" if parameter.agrees else "DISAGREES"
    return ("agrees" if parameter.agrees else "disagrees") + " (biased)"


class Table:
    """The human-readable report, written row by row above the progress bar."""

    def __init__(self, args: argparse.Namespace, *, enabled: bool) -> None:
        self.args = args
        self.enabled = enabled

    def _write(self, line: str = "") -> None:
        if self.enabled:
            tqdm.write(line, file=sys.stdout)  # clears the progress bar, then redraws it

    def preamble(self) -> None:
        self._write(
            f"∇θ E_p[f] on problems with exact answers: k = {self.args.num_samples} samples "
            f"per estimate, seed {self.args.seed}."
        )

    def problem(self, problem: Problem, num_estimates: int) -> None:
        self._write()
        self._write(f"── {problem.name} ({num_estimates} independent estimates per method) ──")
        for line in problem.formula:
            self._write(f"  {line}")
        self._write(_COLUMNS)

    def row(self, row: Comparison) -> None:
        if row.skipped is not None:
            reason = row.skipped if len(row.skipped) <= 130 else row.skipped[:129] + "…"
            self._write(f"{row.method:<24}skipped: {reason}")
            return
        for parameter in row.parameters:
            index = parameter.worst
            label = parameter.symbol
            if parameter.mean.ndim:
                label += f"[{index}]"
            mean, stderr, exact, z = (
                float(np.ravel(x)[index])
                for x in (parameter.mean, parameter.stderr, parameter.exact, parameter.z)
            )
            self._write(
                f"{row.method:<24}{label:<8}{f'{mean:+.4g} ± {stderr:.4g}':>22}{exact:>+10.4g}"
                f"{z:>+8.2f}  {verdict(parameter, row.unbiased):<20}"
                f"{parameter.variance_per_sample:>11.4g}{row.f_evaluations:>9d}"
                f"{row.seconds_per_estimate * 1e6:>9.1f}"
            )

    def footer(self, results: dict[str, list[Comparison]], seconds: float) -> None:
        self._write()
        for line in _FOOTNOTES:
            self._write(line)
        rows = [row for rows in results.values() for row in rows]
        untrained = [m for m in dict.fromkeys(r.method for r in rows) if _trainable(m)]
        if untrained:
            self._write(
                f"{', '.join(untrained)}: at their initial control-variate parameters "
                "(rx.variance_trainer trains them)."
            )
        skipped = sum(r.skipped is not None for r in rows)
        disagreeing = [
            f"{r.problem}/{r.method}"
            for r in rows
            if r.unbiased and r.skipped is None and not r.agrees
        ]
        if disagreeing:
            self._write(
                f"WARNING: unbiased method(s) disagree with the exact gradient: "
                f"{', '.join(disagreeing)}. Please report it with this command line."
            )
        else:
            self._write(
                f"Every unbiased method agrees with the exact gradient "
                f"({len(rows) - skipped} rows run, {skipped} skipped)."
            )
        compiling = sum(r.compile_seconds for r in rows)
        self._write(f"Done in {seconds:.1f} s (compilation {compiling:.1f} s).")


def _trainable(method: str) -> bool:
    return reparax.methods()[method].trainable is not None


def _number(x: float) -> float | None:
    """JSON has no NaN or infinity: those become null."""
    return float(x) if math.isfinite(x) else None


def _array(x: np.ndarray) -> Any:
    if x.ndim == 0:
        return _number(float(x))
    return [_number(float(v)) for v in x.ravel()]


def _parameter(parameter: ParameterResult, unbiased: bool) -> dict[str, Any]:
    return {
        "name": parameter.name,
        "symbol": parameter.symbol,
        "estimate": _array(parameter.mean),
        "stderr": _array(parameter.stderr),
        "exact": _array(parameter.exact),
        "z": _array(parameter.z),
        "max_abs_z": _number(float(np.max(np.abs(parameter.z)))),
        "agrees": parameter.agrees,
        "verdict": verdict(parameter, unbiased),
        "variance_per_sample": _number(parameter.variance_per_sample),
    }


def _comparison(row: Comparison) -> dict[str, Any]:
    document: dict[str, Any] = {"method": row.method, "unbiased": row.unbiased}
    if row.skipped is not None:
        return {**document, "skipped": row.skipped}
    return {
        **document,
        "skipped": None,
        "agrees": row.agrees,
        "num_samples": row.num_samples,
        "num_estimates": row.num_estimates,
        "f_evaluations": row.f_evaluations,
        "value": {"estimate": _number(row.value_mean), "stderr": _number(row.value_stderr)},
        "parameters": [_parameter(p, row.unbiased) for p in row.parameters],
        "seconds": {
            "compile": _number(row.compile_seconds),
            "per_estimate": _number(row.seconds_per_estimate),
        },
    }


def json_document(
    args: argparse.Namespace,
    chosen: list[Problem],
    results: dict[str, list[Comparison]],
    variances: dict[str, dict[int, float]],
    seconds: float,
) -> dict[str, Any]:
    """The whole run as plain JSON types (NaN and infinity as null)."""
    config = {
        name: getattr(args, name)
        for name in ("num_samples", "estimates", "seed", "k", "loc", "scale", "logit", "target")
    }
    return {
        "reparax_version": reparax.__version__,
        "config": config,
        "z_threshold": Z_THRESHOLD,
        "problems": [
            {
                "name": problem.name,
                "formula": dict(zip(("f", "distribution", "exact"), problem.formula)),
                "exact_value": _number(float(problem.exact_value)),
                "exact_gradient": {
                    name: _array(np.asarray(value, np.float64))
                    for name, value in problem.exact_grad.items()
                },
                "methods": [_comparison(row) for row in results[problem.name]],
            }
            for problem in chosen
        ],
        "plot": None
        if args.plot is None
        else {
            "file": args.plot,
            "per_sample_variance": {
                method: {str(k): _number(v) for k, v in by_k.items()}
                for method, by_k in variances.items()
            },
        },
        "seconds": _number(seconds),
    }
