"""Throughput of one estimate against device count, samples split with ``sample_sharding``.

For each device count (1, 2, 4, 8 by default) a fresh process is started with
``XLA_FLAGS=--xla_force_host_platform_device_count=<count>`` (the flag must be set before
JAX starts). In it, one jitted ``value_and_grad`` of a fixed estimate (a 64-dim latent,
f a small two-layer network, N = 4096 samples) is timed twice, interleaved: on one device
with no sharding (the baseline of that same run), and with the samples split over all the
process's devices. It prints samples per second and the ratio split / one device.

On a CPU the forced host devices share the same cores: the numbers show the mechanism (the
partitioned program runs, its overhead is measured) and not a speed-up, which needs
devices with their own compute (GPUs, TPU cores, hosts). On such a machine run it without
the forced devices, e.g. ``--counts 8`` on 8 GPUs (the flag only affects the CPU platform).

    python benchmarks/devices.py [--counts 1 2 4 8] [--num-samples 4096] [--repeats 20]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time

DIM, HIDDEN = 64, 256
METHODS = ("pathwise", "rloo")


def worker(num_samples: int, repeats: int) -> dict[str, dict[str, float]]:
    """Times each method on one device and split over every device of this process."""
    import jax
    import jax.numpy as jnp
    from jax.sharding import AxisType, NamedSharding, PartitionSpec

    import reparax as rx

    count = jax.device_count()
    mesh = jax.make_mesh((count,), ("samples",), axis_types=(AxisType.Auto,))
    split = NamedSharding(mesh, PartitionSpec("samples"))
    k1, k2 = jax.random.split(jax.random.key(0))
    w1 = jax.random.normal(k1, (DIM, HIDDEN)) / DIM**0.5
    w2 = jax.random.normal(k2, (HIDDEN,)) / HIDDEN**0.5

    def f(z: jax.Array) -> jax.Array:
        return jnp.tanh(jnp.tanh(z @ w1) @ w2)

    dists = {
        "pathwise": rx.Normal(jnp.zeros(DIM), jnp.ones(DIM)),
        "rloo": rx.Bernoulli(jnp.zeros(DIM)),
    }
    results: dict[str, dict[str, float]] = {}
    for method in METHODS:
        runs = {}
        for label, sharding in (("one", None), ("split", split)):

            def estimate(d, key, sharding=sharding, method=method):
                return rx.gradient_estimate(
                    f, d, key, method=method, num_samples=num_samples, sample_sharding=sharding
                )

            start = time.perf_counter()
            compiled = jax.jit(estimate).lower(dists[method], jax.random.key(1)).compile()
            compile_s = time.perf_counter() - start
            jax.block_until_ready(compiled(dists[method], jax.random.key(1)))
            runs[label] = (compiled, compile_s)
        times: dict[str, list[float]] = {"one": [], "split": []}
        for i in range(repeats):
            for label in ("one", "split") if i % 2 == 0 else ("split", "one"):
                compiled = runs[label][0]
                start = time.perf_counter()
                jax.block_until_ready(compiled(dists[method], jax.random.key(i)))
                times[label].append(time.perf_counter() - start)
        one, split_s = statistics.median(times["one"]), statistics.median(times["split"])
        results[method] = {
            "devices": count,
            "one_device_samples_per_s": num_samples / one,
            "split_samples_per_s": num_samples / split_s,
            "split_compile_s": runs["split"][1],
        }
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--counts", type=int, nargs="+", default=[1, 2, 4, 8])
    parser.add_argument("--num-samples", type=int, default=4096)
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        print(json.dumps(worker(args.num_samples, args.repeats)))
        return
    rows = []
    for count in args.counts:
        env = dict(os.environ)
        env["XLA_FLAGS"] = (
            f"{env.get('XLA_FLAGS', '')} --xla_force_host_platform_device_count={count}"
        ).strip()
        command = [sys.executable, __file__, "--worker"]
        command += ["--num-samples", str(args.num_samples), "--repeats", str(args.repeats)]
        out = subprocess.run(command, env=env, capture_output=True, text=True, check=True)
        rows.append(json.loads(out.stdout.strip().splitlines()[-1]))
    print(f"N = {args.num_samples} samples per estimate, median of {args.repeats} timed runs")
    header = ["method", "devices", "one device (samples/s)", "split (samples/s)", "split / one"]
    print("| " + " | ".join([*header, "compile (s)"]) + " |")
    print("|---|---|---|---|---|---|")
    for method in METHODS:
        for row in rows:
            r = row[method]
            ratio = r["split_samples_per_s"] / r["one_device_samples_per_s"]
            print(
                f"| {method} | {r['devices']} | {r['one_device_samples_per_s']:,.0f} | "
                f"{r['split_samples_per_s']:,.0f} | {ratio:.2f} | {r['split_compile_s']:.2f} |"
            )


if __name__ == "__main__":
    main()
