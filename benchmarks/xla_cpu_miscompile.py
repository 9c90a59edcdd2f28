"""Does this machine's XLA CPU miscompile a broadcast read by two reductions?

jaxlib 0.10.2's CPU backend fuses such programs with YNNPACK (``__ynn_fusion``, on by
default) and, above a few thousand rows, returns wrong sums (found while vectorizing ARM's
categorical swaps, whose vmapped form gave a biased gradient inside an ``rx.Joint``
program). This script compares the jitted program with NumPy in float64 at 2048 rows
(correct) and 4096 rows (wrong where the bug is present). The workaround is to set, before
JAX starts, ``XLA_FLAGS=--xla_cpu_experimental_ynn_fusion_type=``.

    python benchmarks/xla_cpu_miscompile.py
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np


def program(noise, weights, rows, xp):
    broadcast = noise[..., None] * xp.ones(3, noise.dtype)  # one broadcast...
    total = broadcast.sum(axis=(2, 3, 4, 5))  # ...read by two reductions
    weighted = (weights.reshape(1, 1, 2, 1, 1, 1) * broadcast).sum(2)
    return ((rows * weighted).sum(axis=(2, 3, 4)) - total).sum(1)


def error(num_rows: int) -> tuple[float, float]:
    rng = np.random.default_rng(0)
    noise = rng.normal(size=(1, num_rows, 2, 2, 1)).astype(np.float32)
    weights = rng.normal(size=(2,)).astype(np.float32)
    rows = rng.normal(size=(1, num_rows, 2, 1, 3)).astype(np.float32)
    exact = program(*(x.astype(np.float64) for x in (noise, weights, rows)), np)
    jitted = jax.jit(lambda *x: program(*x, jnp))(noise, weights, rows)
    return float(np.abs(np.asarray(jitted) - exact).max()), float(np.abs(exact).max())


def main() -> None:
    print(f"jax {jax.__version__}, backend {jax.default_backend()}")
    for num_rows in (2048, 4096):
        err, scale = error(num_rows)
        verdict = "ok" if err <= 1e-5 * scale * num_rows else "WRONG"
        print(f"{num_rows} rows: max |jit − float64| = {err:.3g} (values ≤ {scale:.3g}): {verdict}")


if __name__ == "__main__":
    main()
