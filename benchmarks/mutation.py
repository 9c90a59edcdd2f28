"""Mutation score of the statistical tests: does scaling an unbiased estimator's gradient by
``--factor`` (default 1.05, value unchanged) make at least one test fail?

    python benchmarks/mutation.py [--factor 1.05] [--methods score_function rloo] [-n 2]

For every unbiased method in ``rx.methods()`` it runs the statistical test files with
``-p tests.mutation_plugin`` and ``REPARAX_MUTATION=<method>``, selecting only the tests whose
id mentions the method (``-k``) when there are any, and prints: method, tests run, tests
failed, killed, and the mutation score (killed / total).
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import time
from pathlib import Path

from reparax import _registry

ROOT = Path(__file__).resolve().parent.parent
FILES = [
    "tests/test_gaussian_unbiased.py",
    "tests/test_discrete_unbiased.py",
    "tests/test_control_variates.py",
    "tests/test_gaussian_variance_and_hessian.py",
    "tests/test_power_families.py",
    "tests/test_cv_every_estimator.py",
    "tests/test_coupling.py",
    "tests/test_multisample.py",
    "tests/test_cv_frontier.py",
    "tests/test_without_replacement.py",
]


def run(method: str, factor: float, workers: int, everything: bool) -> tuple[int, int, float]:
    env = dict(os.environ, REPARAX_MUTATION=method, REPARAX_MUTATION_FACTOR=str(factor))
    files = [f for f in FILES if (ROOT / f).exists()]
    command = [sys.executable, "-m", "pytest", "-q", "-p", "tests.mutation_plugin", "-p",
               "no:cacheprovider", "-k", method, *files]  # fmt: skip
    if workers > 1:
        command += ["-n", str(workers)]
    if everything:  # the slow power tier too (tests/test_power_families.py)
        command += ["-m", "slow or not slow"]
    start = time.perf_counter()
    out = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    counts = {k: 0 for k in ("passed", "failed", "error", "skipped")}
    summary = out.stdout.strip().splitlines()[-1] if out.stdout.strip() else ""
    for number, word in re.findall(r"(\d+) (passed|failed|errors?|skipped)", summary):
        counts[word.rstrip("s") if word.startswith("error") else word] += int(number)
    if out.returncode not in (0, 1):  # 5: nothing selected; other: a broken run
        print(out.stdout[-2000:], out.stderr[-2000:], file=sys.stderr)
    ran = counts["passed"] + counts["failed"] + counts["error"]
    return ran, counts["failed"] + counts["error"], seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--factor", type=float, default=1.05)
    parser.add_argument("--methods", nargs="*", default=None)
    parser.add_argument("-n", "--workers", type=int, default=2)
    parser.add_argument(
        "--all", action="store_true", help="include the slow power tier (about 15 more minutes)"
    )
    args = parser.parse_args()
    methods = args.methods or [e.name for e in _registry.BUILTIN if e.unbiased]
    rows, start = [], time.perf_counter()
    print(f"gradient × {args.factor}, files: {', '.join(FILES)}")
    print(f"{'method':<16} {'tests run':>9} {'failed':>7} {'killed':>7} {'seconds':>8}")
    for method in methods:
        ran, failed, seconds = run(method, args.factor, args.workers, args.all)
        killed = failed > 0
        rows.append(killed)
        print(f"{method:<16} {ran:>9} {failed:>7} {'yes' if killed else 'NO':>7} {seconds:>8.1f}")
    total = time.perf_counter() - start
    print(f"mutation score: {sum(rows)}/{len(rows)} = {sum(rows) / len(rows):.0%} ({total:.0f} s)")
    sys.exit(0 if all(rows) else 1)


if __name__ == "__main__":
    main()
