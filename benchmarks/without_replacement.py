"""Kool, van Hoof & Welling's (2020, §6.1) Bernoulli toy: gradient variance against the number
of f-evaluations k = 1…8, sampling without replacement against rloo, reproduced with reparax.

Three Bernoulli(σ(η)) bits share ONE logit η, f(x) = Σ_i (x_i − t_i)² with targets
t = (0.6, 0.51, 0.48) (the experiment of Liu et al. 2019 that Kool et al. adapt), at
η = 0 (high entropy) and η = −4 (low entropy). The joint support has 8 outcomes, so
``unordered_set`` and ``sum_and_sample`` are exact at k = 8. For each k, the variance of
d/dη over ``--estimates`` independent estimates (fixed keys), for unordered_set,
sum_and_sample, rloo (k ≥ 2) and score_function (no baseline; k samples with replacement).
Prints a Markdown table and writes ``docs/figures/without_replacement.png``.

    pip install -e ".[bench]"
    python benchmarks/without_replacement.py [--estimates 20000] [--out docs/figures/...]

Variances are statistics of fixed-key estimates (not timings), so the machine's load does
not change them.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np

import reparax as rx

TARGETS = jnp.array([0.6, 0.51, 0.48])
ETAS = {"η = 0 (high entropy)": 0.0, "η = −4 (low entropy)": -4.0}
METHODS = ("unordered_set", "sum_and_sample", "rloo", "score_function")
SIZES = range(1, 9)


def f(x: jax.Array) -> jax.Array:
    return jnp.sum((x - TARGETS) ** 2)


def gradient(eta: jax.Array, key: jax.Array, method: str, k: int) -> jax.Array:
    def loss(eta: jax.Array) -> jax.Array:
        return rx.expectation(f, rx.Bernoulli(jnp.full(3, eta)), key, method=method, num_samples=k)

    return jax.grad(loss)(eta)


def variances(estimates: int) -> dict[tuple[str, int], np.ndarray]:
    """Var[d/dη] per (method, k), one entry per η, from ``estimates`` fixed keys."""
    keys = jax.random.split(jax.random.key(0), estimates)
    etas = jnp.array(list(ETAS.values()))
    out = {}
    for method in METHODS:
        for k in SIZES:
            if rx.methods()[method].min_samples > k:
                continue
            per_key = jax.vmap(lambda e, key, m=method, k=k: gradient(e, key, m, k), (None, 0))
            grads = jax.jit(jax.vmap(per_key, (0, None)))(etas, keys)
            out[method, k] = np.var(np.asarray(grads, np.float64), axis=1, ddof=1)
    return out


def table(results: dict[tuple[str, int], np.ndarray], exact: np.ndarray) -> str:
    lines = []
    for j, name in enumerate(ETAS):
        lines += [
            f"**{name}**, exact d/dη = {exact[j]:.4g}; Var[d/dη] by f-evaluations k:",
            "",
            "| method | " + " | ".join(f"k={k}" for k in SIZES) + " |",
            "|---|" + "---|" * len(SIZES),
        ]
        for method in METHODS:
            cells = [
                f"{results[method, k][j]:.3g}" if (method, k) in results else "—" for k in SIZES
            ]
            lines.append(f"| `{method}` | " + " | ".join(cells) + " |")
        lines.append("")
    return "\n".join(lines)


def plot(results: dict[tuple[str, int], np.ndarray], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(ETAS), figsize=(10, 4), sharey=False)
    for j, (name, ax) in enumerate(zip(ETAS, axes)):
        for method in METHODS:
            # k = 8 is exact for the without-replacement methods: variance 0 (rounding
            # only), left off the log axis and stated in the title.
            ks = [k for k in SIZES if (method, k) in results and results[method, k][j] > 1e-14]
            ax.semilogy(ks, [results[method, k][j] for k in ks], marker="o", label=method)
        ax.set_title(f"{name}; k = 8: exact (variance 0)", fontsize=10)
        ax.set_xlabel("f-evaluations k")
        ax.set_ylabel("Var[d/dη]")
        ax.grid(True, which="both", alpha=0.3)
    axes[0].legend()
    fig.suptitle("Kool et al. (2020) Bernoulli toy: 3 bits, f = Σ(x − t)², t = (0.6, 0.51, 0.48)")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--estimates", type=int, default=20000)
    parser.add_argument("--out", type=Path, default=Path("docs/figures/without_replacement.png"))
    args = parser.parse_args()
    exact = np.array(
        [float(gradient(jnp.asarray(e), jax.random.key(0), "exact", 1)) for e in ETAS.values()]
    )
    results = variances(args.estimates)
    print(table(results, exact))
    plot(results, args.out)
    print(f"figure: {args.out}")


if __name__ == "__main__":
    main()
