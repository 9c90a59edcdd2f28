"""The toy of the RELAX paper (Grathwohl et al. 2018, Fig. 1), reproduced with reparax.

Minimise E_{b ~ Bernoulli(σ(θ))}[(b − 0.499)²] from θ = 0 with Adam (lr 0.01), one sample
per step, using REINFORCE, REBAR and RELAX (their control variates trained jointly by
descending the squared gradient estimate, Adam lr 0.01). Every ``--every`` steps: the exact
loss σ(θ)(1 − t)² + (1 − σ(θ))t² and the log10 variance of the gradient estimator at the
current parameters, from 1000 fresh estimates. The printed table is the figure's data.

    python benchmarks/relax_toy.py [--steps 3000 --every 250]
"""

from __future__ import annotations

import argparse

import jax
import jax.numpy as jnp
import optax

import reparax as rx

TARGET = 0.499


def f(b):
    return jnp.sum((b - TARGET) ** 2)


def exact_loss(theta):
    p = jax.nn.sigmoid(theta[0])
    return p * (1 - TARGET) ** 2 + (1 - p) * TARGET**2


def make_step(method, optimizer):
    """One jit-able training step: (θ, cv_params, opt states), key -> same."""

    def gradients(theta, cv_params, key):
        dist = rx.Bernoulli(theta)
        if method == "reinforce":
            est = rx.gradient_estimate(f, dist, key, method="score_function")
            return est.grad.logits, jax.tree.map(jnp.zeros_like, cv_params)
        est, cv_grad = rx.variance_gradient(f, dist, key, method=method, cv_params=cv_params)
        return est.grad.logits, cv_grad

    def step(carry, key):
        theta, cv_params, theta_state, cv_state = carry
        grad, cv_grad = gradients(theta, cv_params, key)
        updates, theta_state = optimizer.update(grad, theta_state)
        cv_updates, cv_state = optimizer.update(cv_grad, cv_state)
        theta = optax.apply_updates(theta, updates)
        cv_params = optax.apply_updates(cv_params, cv_updates)
        return (theta, cv_params, theta_state, cv_state), None

    def log_variance(theta, cv_params, key):
        keys = jax.random.split(key, 1000)
        grads = jax.vmap(lambda k: gradients(theta, cv_params, k)[0])(keys)
        return jnp.log10(jnp.var(grads))

    return step, log_variance


def run(method, steps, every, seed=0):
    optimizer = optax.adam(0.01)
    theta = jnp.zeros(1)
    cv_params = {
        "reinforce": {"unused": jnp.zeros(())},
        "rebar": rx.rebar_init(),
        "relax": rx.relax_init(rx.Bernoulli(theta), jax.random.key(1)),
    }[method]
    step, log_variance = make_step(method, optimizer)
    carry = (theta, cv_params, optimizer.init(theta), optimizer.init(cv_params))
    segment = jax.jit(lambda c, keys: jax.lax.scan(step, c, keys)[0])
    measure = jax.jit(log_variance)
    measure_key, train_key = jax.random.split(jax.random.key(seed))
    rows = []
    for done in range(0, steps + 1, every):
        theta, cv_params = carry[0], carry[1]
        rows.append(
            (
                done,
                float(exact_loss(theta)),
                float(measure(theta, cv_params, jax.random.fold_in(measure_key, done))),
            )
        )
        if done < steps:
            keys = jax.random.split(jax.random.fold_in(train_key, done), every)
            carry = segment(carry, keys)
    return rows


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, default=3000)
    parser.add_argument("--every", type=int, default=250)
    args = parser.parse_args()
    results = {m: run(m, args.steps, args.every) for m in ("reinforce", "rebar", "relax")}
    print(
        "| step | loss REINFORCE | loss REBAR | loss RELAX | log10 var REINFORCE | "
        "log10 var REBAR | log10 var RELAX |"
    )
    print("|---|---|---|---|---|---|---|")
    for i, (step, *_) in enumerate(results["reinforce"]):
        losses = " | ".join(f"{results[m][i][1]:.5f}" for m in results)
        variances = " | ".join(f"{results[m][i][2]:.2f}" for m in results)
        print(f"| {step} | {losses} | {variances} |")
    final = {m: results[m][-1][2] for m in results}
    ratio = 10 ** (final["reinforce"] - final["relax"])
    print(f"\nfinal variance ratio REINFORCE / RELAX: {ratio:.1f}x (target >= 10x)")


if __name__ == "__main__":
    main()
