"""Time per pathwise gradient estimate of implicitly reparameterized families (issue #3).

Gamma, Beta and Dirichlet at num_samples = 10⁴ (batch of 10 variables, f = Σ z² + Σ log z
where defined), reparax's ``gradient_estimate(method="pathwise")`` against the same
estimator written by hand on jax.random's own gradient-carrying samplers
(``jax.random.gamma``/``beta``/``dirichlet``), jit-compiled and timed interleaved in the
same run. Target: ratio ≤ 1.2. VonMises has no gradient-carrying sampler in jax.random:
its row reports reparax's time alone (f = Σ cos z).

    python benchmarks/implicit.py [--repeats 30]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import jax
import jax.numpy as jnp

import reparax as rx

sys.path.insert(0, str(Path(__file__).parent))
from speed import median_seconds  # noqa: E402

NUM_SAMPLES, DIM = 10_000, 10


def f(z):
    return jnp.sum(z**2) + jnp.sum(jnp.log(z + 1e-3))


def cases():
    conc = jnp.linspace(0.5, 3.0, DIM)
    rate = jnp.linspace(1.0, 2.0, DIM)

    def gamma_hand(params, key):
        def objective(p):
            z = jax.random.gamma(key, p["concentration"], (NUM_SAMPLES, DIM)) / p["rate"]
            return jnp.mean(jax.vmap(f)(z))

        return jax.value_and_grad(objective)(params)

    def beta_hand(params, key):
        def objective(p):
            z = jax.random.beta(key, p["a"], p["b"], (NUM_SAMPLES, DIM))
            return jnp.mean(jax.vmap(f)(z))

        return jax.value_and_grad(objective)(params)

    def dirichlet_hand(params, key):
        def objective(p):
            z = jax.random.dirichlet(key, p["alpha"], (NUM_SAMPLES,))
            return jnp.mean(jax.vmap(f)(z))

        return jax.value_and_grad(objective)(params)

    def ours(make):
        def run(params, key):
            est = rx.gradient_estimate(
                f, make(params), key, method="pathwise", num_samples=NUM_SAMPLES
            )
            return est.value, est.grad

        return run

    yield (
        "Gamma",
        {"concentration": conc, "rate": rate},
        ours(lambda p: rx.Gamma(p["concentration"], p["rate"])),
        gamma_hand,
    )
    yield ("Beta", {"a": conc, "b": rate}, ours(lambda p: rx.Beta(p["a"], p["b"])), beta_hand)
    yield ("Dirichlet", {"alpha": conc}, ours(lambda p: rx.Dirichlet(p["alpha"])), dirichlet_hand)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=30)
    args = parser.parse_args()
    key = jax.random.key(0)
    print(
        f"{jax.devices()[0].platform} | num_samples={NUM_SAMPLES}, {DIM} variables, median "
        f"of {args.repeats} runs"
    )
    print("| family | reparax (ms) | jax.random sampler (ms) | ratio |")
    print("|---|---|---|---|")
    for name, params, mine, hand in cases():
        ours_s, theirs_s = median_seconds([mine, hand], (params, key), args.repeats)
        print(f"| {name} | {ours_s * 1e3:.2f} | {theirs_s * 1e3:.2f} | {ours_s / theirs_s:.2f} |")
    von_mises = rx.VonMises(jnp.zeros(DIM), jnp.linspace(0.5, 30.0, DIM))

    def von_mises_run(dist, key):
        est = rx.gradient_estimate(
            lambda z: jnp.sum(jnp.cos(z)), dist, key, method="pathwise", num_samples=NUM_SAMPLES
        )
        return est.value, est.grad

    (seconds,) = median_seconds([von_mises_run], (von_mises, key), args.repeats)
    print(f"| VonMises | {seconds * 1e3:.2f} | — | — |")


if __name__ == "__main__":
    main()
