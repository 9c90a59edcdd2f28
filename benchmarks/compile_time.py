"""Compile time of one optax training step: reparax against hand-written JAX (issue #13).

The model: 20 Bernoulli latents with trainable logits, an MLP decoder 20 → 64 (tanh) → 64
as the cost, f(b) = ‖x − decoder(b)‖², N = 16 samples, Adam on the logits and the decoder
together. For every discrete method the step is traced, lowered and compiled from scratch
(``jax.jit(step).lower(...).compile()`` after ``jax.clear_caches()``, so no trace or
executable is reused: a user's first step) with ``rx.expectation`` and with the hand-written
estimator of ``benchmarks/discrete_speed.py``, in alternating rounds; the table prints the
medians and the median of the per-round ratios (target ≤ 1.5). Tracing is included (a
user waits for it too); the first run of the compiled step is not.

    python benchmarks/compile_time.py [--repeats 5]
"""

from __future__ import annotations

import argparse
import time

import discrete_speed as ds
import jax
import jax.numpy as jnp
import numpy as np
import optax

import reparax as rx

LATENTS, HIDDEN, OUTPUTS = 20, 64, 64


def init(key):
    k1, k2, k3 = jax.random.split(key, 3)
    return {
        "logits": jnp.zeros(LATENTS),
        "w1": jax.random.normal(k1, (LATENTS, HIDDEN)) / np.sqrt(LATENTS),
        "b1": jnp.zeros(HIDDEN),
        "w2": jax.random.normal(k2, (HIDDEN, OUTPUTS)) / np.sqrt(HIDDEN),
        "b2": jnp.zeros(OUTPUTS),
        "x": jax.random.uniform(k3, (OUTPUTS,)),
    }


def decoder_cost(params):
    def cost(b):
        hidden = jnp.tanh(b @ params["w1"] + params["b1"])
        return jnp.sum((params["x"] - (hidden @ params["w2"] + params["b2"])) ** 2)

    return cost


def reparax_loss(method):
    def loss(params, key, *extra):
        options = {"cv_params": extra[0]} if method == "relax" else {}
        dist = rx.Bernoulli(params["logits"])
        return rx.expectation(
            decoder_cost(params), dist, key, method=method, num_samples=ds.N, **options
        )

    return loss


def hand_loss(method):
    hand = ds.HAND["bernoulli 200"][method]

    def loss(params, key, *extra):
        return hand(params["logits"], key, *extra, cost=decoder_cost(params))

    return loss


def step_for(loss, optimizer):
    def step(params, state, key, *extra):
        grads = jax.grad(loss)(params, key, *extra)
        updates, state = optimizer.update(grads, state, params)
        return optax.apply_updates(params, updates), state

    return step


def compile_seconds(step, args):
    # A new jax.jit of the same function reuses JAX's trace and executable caches (0.00 s):
    # clear them, so each timing is what a user's first step costs.
    jax.clear_caches()
    start = time.perf_counter()
    jax.jit(step).lower(*args).compile()
    return time.perf_counter() - start


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--only", default="", help="comma-separated methods")
    args = parser.parse_args()
    only = set(filter(None, args.only.split(",")))
    params = init(jax.random.key(0))
    optimizer = optax.adam(1e-3)
    state = optimizer.init(params)
    key = jax.random.key(1)
    print(
        f"{jax.devices()[0].platform} | one Adam step, 20 latents → 64 → 64, N={ds.N}; "
        f"median of {args.repeats} fresh compilations each, alternating"
    )
    print("| method | reparax (s) | hand-written (s) | ratio (median) | ratio range |")
    print("|---|---|---|---|---|")
    for method in ds.HAND["bernoulli 200"]:
        if only and method not in only:
            continue
        extra = ()
        if method == "relax":
            extra = (rx.relax_init(rx.Bernoulli(params["logits"]), jax.random.key(7)),)
        steps = [step_for(reparax_loss(method), optimizer), step_for(hand_loss(method), optimizer)]
        call = (params, state, key, *extra)
        times = np.zeros((args.repeats, 2))
        for r in range(args.repeats):
            for i in (0, 1) if r % 2 == 0 else (1, 0):
                times[r, i] = compile_seconds(steps[i], call)
        ratios = times[:, 0] / times[:, 1]
        ours, theirs = np.median(times, 0)
        print(
            f"| {method} | {ours:.2f} | {theirs:.2f} | {np.median(ratios):.2f} | "
            f"{ratios.min():.2f}–{ratios.max():.2f} |",
            flush=True,
        )


if __name__ == "__main__":
    main()
