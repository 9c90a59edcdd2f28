"""Work-normalized variance of every discrete estimator (issue #4).

Problems: a 200-bit Bernoulli, f(b) = Σ(b − t)² with t spread over [0.4, 0.6], and a 20×10
OneHotCategorical with a random cost table plus an interaction between the first two rows.
For every applicable method: time per estimate (jit-compiled, median), per-sample variance
(the summed variance over logits of a single-sample estimate, num_samples × variance for
RLOO with 2 samples) and their product, the work-normalized variance (lower is better).

    python benchmarks/discrete.py [--estimates 2000]
"""

from __future__ import annotations

import argparse

import jax
import jax.numpy as jnp

import reparax as rx
from reparax import diagnostics


def problems():
    targets = jnp.linspace(0.4, 0.6, 200)
    bits = rx.Bernoulli(jax.random.normal(jax.random.key(1), (200,)))
    costs = jax.random.normal(jax.random.key(2), (20, 10))

    def categorical_cost(z):
        return jnp.sum(costs * z) + 2.0 * jnp.sum(z[0] * z[1])

    cat = rx.OneHotCategorical(jax.random.normal(jax.random.key(3), (20, 10)))
    yield "bernoulli 200", bits, lambda b: jnp.sum((b - targets) ** 2)
    yield "categorical 20x10", cat, categorical_cost


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--estimates", type=int, default=2000)
    args = parser.parse_args()
    key = jax.random.key(0)
    print(f"{jax.devices()[0].platform} | {args.estimates} single-sample estimates per method")
    print("| problem | method | unbiased | f-evals | µs/estimate | var/sample | var × time |")
    print("|---|---|---|---|---|---|---|")
    for name, dist, f in problems():
        for method in rx.supported_methods(dist):
            if method == "exact":
                continue  # 2^200 / 10^20 outcomes: refused by design
            num_samples = rx.methods()[method].min_samples
            samples = diagnostics.estimator_samples(
                f,
                dist,
                key,
                method=method,
                num_estimates=args.estimates,
                num_samples=num_samples,
            )
            variance = num_samples * float(
                jnp.sum(diagnostics.summarize(samples.grad).variance.logits)
            )
            seconds = (
                diagnostics.time_per_estimate(f, dist, key, method=method, num_samples=num_samples)
                / num_samples
            )
            evals = diagnostics.f_evaluations(method, dist, 1)
            unbiased = "yes" if rx.methods()[method].unbiased else "no"
            print(
                f"| {name} | {method} | {unbiased} | {evals} | {seconds * 1e6:.1f} | "
                f"{variance:.4g} | {variance * seconds * 1e6:.4g} |"
            )


if __name__ == "__main__":
    main()
