"""Double CV and RODEO against DisARM and RLOO at equal f-evaluations, 200-bit Bernoulli.

The problem of ``benchmarks/discrete.py``: logits θ ~ N(0, 1) (key 1), f(b) = Σ(b − t)² with
t spread over [0.4, 0.6]; and, on the same 200 bits, a linear decoder f(b) = ½‖y − Wb‖²
(W: 64×200 with N(0, 1/200) entries, y = W b* for a fixed b*), the shape of a VAE's cost,
smooth in b. On {0, 1} the first f is linear, Σ(1 − 2t)b + const, but its input gradient
2(b − t) is not its difference between neighbouring bit strings (1 − 2t): the Taylor
expansions Double CV and RODEO are built on carry little information there.

For a budget of E f-evaluations per estimate: RLOO, Double CV and RODEO with K = E samples,
DisARM with E/2 antithetic pairs. The per-estimate variance
(summed over the 200 logits) of Double CV and RODEO is measured at their initial parameters
(where they are RLOO) and after training their control variates with
``rx.variance_gradient`` and Adam for ``--steps`` jitted steps at the same K. Every variance
is measured on the same fresh keys; training uses other keys.

    python benchmarks/frontier_200bit.py [--estimates 1000] [--steps 1000] [--budgets 4 16]
"""

from __future__ import annotations

import argparse
import sys
import time

import jax
import jax.numpy as jnp
import optax

import reparax as rx

TARGETS = jnp.linspace(0.4, 0.6, 200)
DIST = rx.Bernoulli(jax.random.normal(jax.random.key(1), (200,)))
WEIGHTS = jax.random.normal(jax.random.key(4), (64, 200)) / jnp.sqrt(200.0)
OBSERVED = WEIGHTS @ jax.random.bernoulli(jax.random.key(5), 0.5, (200,)).astype(jnp.float32)


def quadratic(b: jax.Array) -> jax.Array:
    return jnp.sum((b - TARGETS) ** 2)


def decoder(b: jax.Array) -> jax.Array:
    return 0.5 * jnp.sum((OBSERVED - WEIGHTS @ b) ** 2)


PROBLEMS = {"Σ(b − t)²": quadratic, "½‖y − Wb‖²": decoder}


def variance(f, method: str, num_samples: int, estimates: int, **options) -> float:
    """Summed variance over the logits of one estimate, from ``estimates`` fresh keys."""

    def one(key: jax.Array) -> jax.Array:
        return rx.gradient_estimate(
            f, DIST, key, method=method, num_samples=num_samples, **options
        ).grad.logits

    keys = jax.random.split(jax.random.key(0), estimates)
    grads = jax.jit(lambda keys: jax.lax.map(one, keys, batch_size=100))(keys)
    return float(jnp.sum(jnp.var(grads, axis=0)))


def train(f, method: str, num_samples: int, steps: int, learning_rate: float):
    optimizer = optax.adam(learning_rate)

    def step(carry, key):
        cv_params, state = carry
        _, cv_grad = rx.variance_gradient(
            f, DIST, key, method=method, cv_params=cv_params, num_samples=num_samples
        )
        updates, state = optimizer.update(cv_grad, state)
        return (optax.apply_updates(cv_params, updates), state), None

    cv_params = getattr(rx, f"{method}_init")(DIST, jax.random.key(2))
    keys = jax.random.split(jax.random.key(3), steps)
    run = jax.jit(lambda carry, keys: jax.lax.scan(step, carry, keys)[0])
    cv_params, _ = run((cv_params, optimizer.init(cv_params)), keys)
    return cv_params


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--estimates", type=int, default=1000)
    parser.add_argument("--steps", type=int, default=1000)
    parser.add_argument("--learning-rate", type=float, default=3e-2)
    parser.add_argument("--budgets", type=int, nargs="+", default=[4, 16])
    args = parser.parse_args()
    start = time.perf_counter()
    print(f"`python {' '.join(sys.argv)}` ({jax.devices()[0].platform})\n")
    print(
        "| f | f-evals | method | samples | variance at init | variance trained | "
        "trained / disarm |"
    )
    print("|---|---|---|---|---|---|---|")
    for name, f in PROBLEMS.items():
        for budget in args.budgets:
            disarm = variance(f, "disarm", budget // 2, args.estimates)
            rloo = variance(f, "rloo", budget, args.estimates)
            row = f"| {name} | {budget} |"
            print(f"{row} disarm | {budget // 2} pairs | {disarm:.4g} | — | 1 |")
            print(f"{row} rloo | {budget} | {rloo:.4g} | — | {rloo / disarm:.3g} |")
            for method in ("double_cv", "rodeo"):
                cv_params = train(f, method, budget, args.steps, args.learning_rate)
                init = variance(f, method, budget, args.estimates)
                trained = variance(f, method, budget, args.estimates, cv_params=cv_params)
                print(
                    f"{row} {method} | {budget} | {init:.4g} | {trained:.4g} | "
                    f"{trained / disarm:.3g} |",
                    flush=True,
                )
    print(f"\n{time.perf_counter() - start:.0f} s")


if __name__ == "__main__":
    main()
