"""Compiled temporary memory against num_samples, with and without chunking (issue #13).

For pathwise, score_function and measure_valued on a 100-dimensional diagonal Normal,
f(x) = Σ(x − 1)², and disarm on the 200-bit Bernoulli, f(b) = Σ(b − t)², the jitted
``jax.grad`` of ``rx.expectation`` is compiled for num_samples = 2^4 … 2^14, and XLA's
``memory_analysis().temp_size_in_bytes`` (the scratch memory of the compiled program, not
its inputs or outputs) is read; ``chunk_size=16`` should make it flat in num_samples.
Prints a Markdown table and, with ``--figure``, writes the figure (matplotlib: the
``bench`` extra).

    python benchmarks/memory.py [--figure docs/figures/memory.png]
"""

from __future__ import annotations

import argparse

import jax
import jax.numpy as jnp

import reparax as rx

CHUNK = 16
POWERS = range(4, 15, 2)


def normal_case():
    def loss(loc, key, method, num_samples, chunk_size):
        dist = rx.Normal(loc, jnp.ones_like(loc))
        f = lambda x: jnp.sum((x - 1.0) ** 2)
        options = {} if chunk_size is None else {"chunk_size": chunk_size}
        return rx.expectation(f, dist, key, method=method, num_samples=num_samples, **options)

    return loss, jnp.zeros(100)


def bernoulli_case():
    targets = jnp.linspace(0.4, 0.6, 200)

    def loss(logits, key, method, num_samples, chunk_size):
        f = lambda b: jnp.sum((b - targets) ** 2)
        options = {} if chunk_size is None else {"chunk_size": chunk_size}
        return rx.expectation(
            f, rx.Bernoulli(logits), key, method=method, num_samples=num_samples, **options
        )

    return loss, jnp.zeros(200)


CASES = {
    "pathwise": normal_case,
    "score_function": normal_case,
    "measure_valued": normal_case,
    "disarm": bernoulli_case,
}


def temp_bytes(loss, param, method, num_samples, chunk_size):
    grad = jax.grad(lambda p, k: loss(p, k, method, num_samples, chunk_size))
    compiled = jax.jit(grad).lower(param, jax.random.key(0)).compile()
    return compiled.memory_analysis().temp_size_in_bytes


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--figure", default="", help="write the PNG here")
    args = parser.parse_args()
    sizes = [2**p for p in POWERS]
    results = {}
    for method, case in CASES.items():
        loss, param = case()
        for chunk in (None, CHUNK):
            results[method, chunk] = [temp_bytes(loss, param, method, n, chunk) for n in sizes]
    print(f"{jax.devices()[0].platform} | compiled temp memory (KiB) of jitted jax.grad")
    print("| method | chunk_size | " + " | ".join(f"N={n}" for n in sizes) + " |")
    print("|---|---|" + "---|" * len(sizes))
    for (method, chunk), row in results.items():
        cells = " | ".join(f"{b / 1024:.0f}" for b in row)
        print(f"| {method} | {chunk or '—'} | {cells} |")
    if args.figure:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        fig, ax = plt.subplots(figsize=(6, 4))
        colours = {method: f"C{i}" for i, method in enumerate(CASES)}
        for (method, chunk), row in results.items():
            style = "-" if chunk is None else "--"
            label = f"{method}" + ("" if chunk is None else f", chunk_size={chunk}")
            kib = [max(b, 1) / 1024 for b in row]
            ax.loglog(sizes, kib, style, color=colours[method], marker="o", label=label)
        ax.set_xscale("log", base=2)
        ax.set_xlabel("num_samples")
        ax.set_ylabel("compiled temporary memory (KiB)")
        ax.set_title("Scratch memory of jit(grad(rx.expectation))")
        ax.legend(fontsize=7)
        fig.tight_layout()
        fig.savefig(args.figure, dpi=120)
        print(f"figure: {args.figure}")


if __name__ == "__main__":
    main()
