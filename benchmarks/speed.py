"""Time per gradient estimate: reparax against a minimal hand-written JAX estimator.

Problem (issue #2): a 100-dimensional diagonal Normal, f(x) = Σ(x − 1)², num_samples=1000,
everything jit-compiled. Both sides are timed in the same run, interleaved, and the table
prints the ratio reparax / hand-written (target ≤ 1.10).

    python benchmarks/speed.py [--repeats 200]
"""

from __future__ import annotations

import argparse
import math
import time

import jax
import jax.numpy as jnp

import reparax as rx

DIM, NUM_SAMPLES = 100, 1000


def f(x):
    return jnp.sum((x - 1.0) ** 2)


def hand_pathwise(loc, scale, key):
    eps = jax.random.normal(key, (NUM_SAMPLES, DIM))

    def objective(loc, scale):
        return jnp.mean(jax.vmap(f)(loc + scale * eps))

    return jax.value_and_grad(objective, argnums=(0, 1))(loc, scale)


def hand_score_function(loc, scale, key):
    z = loc + scale * jax.random.normal(key, (NUM_SAMPLES, DIM))
    values = jax.vmap(f)(z)

    def surrogate(loc, scale):
        log_prob = -0.5 * ((z - loc) / scale) ** 2 - jnp.log(scale)
        return jnp.mean(values * jnp.sum(log_prob, axis=-1))

    return jnp.mean(values), jax.grad(surrogate, argnums=(0, 1))(loc, scale)


def hand_measure_valued(loc, scale, key):
    k_z, k_w, k_m, k_s, k_u = jax.random.split(key, 5)
    shape = (NUM_SAMPLES, DIM)
    z = loc + scale * jax.random.normal(k_z, shape)
    weibull = jnp.sqrt(-2.0 * jnp.log(jax.random.uniform(k_w, shape, minval=1e-30)))
    radius = jnp.linalg.norm(jax.random.normal(k_m, shape + (3,)), axis=-1)
    maxwell = jnp.where(jax.random.bernoulli(k_s, 0.5, shape), radius, -radius)
    coupled_normal = maxwell * jax.random.uniform(k_u, shape)
    eye = jnp.eye(DIM, dtype=bool)

    def f_replaced(values):  # f at z with coordinate j replaced by values[:, j], for every j
        rows = jnp.where(eye, values[:, :, None], z[:, None, :])
        return jax.vmap(jax.vmap(f))(rows)

    grad_loc = (f_replaced(loc + scale * weibull) - f_replaced(loc - scale * weibull)) / (
        scale * math.sqrt(2 * math.pi)
    )
    grad_scale = (
        f_replaced(loc + scale * maxwell) - f_replaced(loc + scale * coupled_normal)
    ) / scale
    return jnp.mean(jax.vmap(f)(z)), (grad_loc.mean(0), grad_scale.mean(0))


def reparax_estimator(method):
    def run(loc, scale, key):
        est = rx.gradient_estimate(
            f, rx.Normal(loc, scale), key, method=method, num_samples=NUM_SAMPLES
        )
        return est.value, (est.grad.loc, est.grad.scale)

    return run


def median_seconds(fns, args, repeats):
    """Median time of each jitted function, timed in interleaved rounds."""
    compiled = [jax.jit(fn) for fn in fns]
    for fn in compiled:
        jax.block_until_ready(fn(*args))
    times = [[] for _ in fns]
    for _ in range(repeats):
        for fn, bucket in zip(compiled, times):
            start = time.perf_counter()
            jax.block_until_ready(fn(*args))
            bucket.append(time.perf_counter() - start)
    return [sorted(t)[len(t) // 2] for t in times]


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=100)
    args = parser.parse_args()
    loc, scale = jnp.zeros(DIM), jnp.ones(DIM)
    key = jax.random.key(0)
    cases = [
        ("pathwise", hand_pathwise),
        ("score_function", hand_score_function),
        ("measure_valued", hand_measure_valued),
    ]
    print(
        f"{jax.devices()[0].platform} | D={DIM}, num_samples={NUM_SAMPLES}, median of "
        f"{args.repeats} runs"
    )
    print(f"| {'method':<15}| {'reparax (ms)':>13}| {'hand-written (ms)':>18}| {'ratio':>6}|")
    print(f"|{'-' * 16}|{'-' * 14}|{'-' * 19}|{'-' * 7}|")
    for method, hand in cases:
        ours, theirs = median_seconds(
            [reparax_estimator(method), hand], (loc, scale, key), args.repeats
        )
        print(f"| {method:<15}| {ours * 1e3:>13.3f}| {theirs * 1e3:>18.3f}| {ours / theirs:>6.2f}|")


if __name__ == "__main__":
    main()
