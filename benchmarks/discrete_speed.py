"""Discrete estimators: reparax against minimal hand-written JAX (issue #13, item 1).

Problems: a 200-bit Bernoulli, f(b) = Σ(b − t)², and a 20×10 OneHotCategorical with a cost
table plus an interaction between the first two rows; N = 16 samples. For every discrete
method, the jitted ``jax.grad`` of ``rx.expectation`` is timed against a hand-written JAX
surrogate of the same estimator, with the same number of f-evaluations, written the way a
user would: one batched draw of all the noise, ``jax.vmap(f)`` over the samples. The two are
timed in alternating rounds; the table prints the median of the per-round ratios
reparax / hand-written with its interquartile range (the machine may be shared: paired
ratios are far steadier than absolute times), and XLA's flop and byte counts of the two
compiled programs, which do not depend on the load. ``exact`` is left out: 2^200 and 10^20
outcomes.

    python benchmarks/discrete_speed.py [--repeats 300] [--only arm,disarm]

On a shared machine, pin it to one core (``taskset -c 1 python ...``): both programs then
run single-threaded on the same core, and the per-round ratios stop depending on whether
XLA's intra-op threads found the other core free (IQRs of 1.0–1.6 unpinned under load,
±0.03 pinned).
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable

import jax
import jax.numpy as jnp
import numpy as np

import reparax as rx
from reparax.estimators._stick_breaking import stick_breaking_pair

N = 16
sg = jax.lax.stop_gradient
log_sigmoid = jax.nn.log_sigmoid

TARGETS = jnp.linspace(0.4, 0.6, 200)
COSTS = jax.random.normal(jax.random.key(2), (20, 10))


def bits_cost(b):
    return jnp.sum((b - TARGETS) ** 2)


def table_cost(z):
    return jnp.sum(COSTS * z) + 2.0 * jnp.sum(z[0] * z[1])


def probe(param, grad):
    """0-valued scalar with derivative ``grad`` in ``param``."""
    return jnp.sum((param - sg(param)) * sg(grad))


def magic(log_prob):
    return jnp.exp(log_prob - sg(log_prob))


# -- Bernoulli: θ of shape (200,) -------------------------------------------------------------
def bern_log_prob(theta, b):
    return jnp.sum(b * log_sigmoid(theta) + (1.0 - b) * log_sigmoid(-theta), -1)


def bern_draw(theta, key):
    return (theta + jax.random.logistic(key, (N,) + theta.shape) > 0).astype(theta.dtype)


def bern_score_function(theta, key, cost=bits_cost):
    b = bern_draw(theta, key)
    values = jax.vmap(cost)(b)
    return jnp.mean(magic(bern_log_prob(theta, b)) * values)


def bern_rloo(theta, key, cost=bits_cost):
    b = bern_draw(theta, key)
    values = jax.vmap(cost)(b)
    baseline = (jnp.sum(values) - values) / (N - 1)
    return jnp.mean(magic(bern_log_prob(theta, b)) * (values - baseline) + baseline)


def bern_arm(theta, key, cost=bits_cost):
    u = jax.random.uniform(key, (N,) + theta.shape)
    f1 = jax.vmap(cost)((u > jax.nn.sigmoid(-theta)).astype(theta.dtype))
    f2 = jax.vmap(cost)((u < jax.nn.sigmoid(theta)).astype(theta.dtype))
    grad = jnp.mean((f1 - f2)[:, None] * (u - 0.5), 0)
    return jnp.mean(0.5 * (f1 + f2)) + probe(theta, grad)


def bern_disarm(theta, key, cost=bits_cost):
    noise = jax.random.logistic(key, (N,) + theta.shape)
    b1, b2 = (theta + noise > 0), (theta - noise > 0)
    f1 = jax.vmap(cost)(b1.astype(theta.dtype))
    f2 = jax.vmap(cost)(b2.astype(theta.dtype))
    sign = jnp.where(b2, -1.0, 1.0) * (b1 != b2)
    grad = jnp.mean(0.5 * (f1 - f2)[:, None] * sign * jax.nn.sigmoid(jnp.abs(theta)), 0)
    return jnp.mean(0.5 * (f1 + f2)) + probe(theta, grad)


def _flips(b):  # (D, D): row d is b with bit d flipped
    eye = jnp.eye(b.shape[-1], dtype=bool)
    return jnp.where(eye, 1.0 - b[None], b[None])


def bern_indecater(theta, key, cost=bits_cost):  # D + 1 evaluations
    b = bern_draw(theta, key)
    values = jax.vmap(cost)(b)
    flipped = jax.vmap(jax.vmap(cost))(jax.vmap(_flips)(b))  # (N, D)
    diff = jnp.where(b > 0.5, values[:, None] - flipped, flipped - values[:, None])
    weight = jnp.exp(log_sigmoid(theta) + log_sigmoid(-theta))
    return jnp.mean(values) + probe(theta, jnp.mean(diff, 0) * weight)


def bern_measure_valued(theta, key, cost=bits_cost):  # D + 1 evaluations
    # σ'(θ_d)(f(b_d ← 1) − f(b_d ← 0)): one of the two rows is b itself, so this is
    # IndeCateR's estimate on bits, with its D + 1 evaluations
    return bern_indecater(theta, key, cost)


def bern_conditional(theta, v, b):  # logistic noise given b, as θ + ℓ̃
    p, q = jax.nn.sigmoid(theta), jax.nn.sigmoid(-theta)
    u = jnp.where(b > 0.5, q + v * p, v * q)
    return theta + jnp.log(u) - jnp.log1p(-u)


def relaxed_cv(theta, key, draw, conditional, log_prob, cost, control):
    """REBAR/RELAX surrogate with 1 + 4 control evaluations, as the estimator defines it."""
    k1, k2 = jax.random.split(key)
    noise, b = draw(theta, k1)
    z, z_fixed = theta + noise, sg(theta) + noise
    z_c, z_c_fixed = conditional(theta, k2, b), conditional(sg(theta), k2, b)

    def one(b, z, z_fixed, z_c, z_c_fixed):
        value = cost(b)
        lp = log_prob(theta, b)
        signal = sg(value) - control(z_c_fixed)
        return (
            value
            + signal * (lp - sg(lp))
            + (control(z) - control(z_fixed))
            - (control(z_c) - control(z_c_fixed))
        )

    return jnp.mean(jax.vmap(one)(b, z, z_fixed, z_c, z_c_fixed))


def bern_noise(theta, key):
    noise = jax.random.logistic(key, (N,) + theta.shape)
    return noise, (theta + noise > 0).astype(theta.dtype)


def bern_cond(theta, key, b):
    return bern_conditional(theta, jax.random.uniform(key, b.shape), b)


def bern_rebar(theta, key, cost=bits_cost):
    reference = sg(cost(jax.nn.sigmoid(sg(theta))))
    centred = lambda b: cost(b) - reference
    control = lambda z: centred(jax.nn.sigmoid(z / 0.5))
    out = relaxed_cv(theta, key, bern_noise, bern_cond, bern_log_prob, centred, control)
    return reference + out


def relax_network(cost, relax, params):
    def control(z):
        hidden = jnp.tanh(jnp.ravel(z) @ params["w1"] + params["b1"])
        relaxed = params["eta"] * cost(relax(z, jnp.exp(params["log_temperature"])))
        return relaxed + hidden @ params["w2"] + params["b2"]

    return control


def bern_relax(theta, key, params, cost=bits_cost):
    control = relax_network(cost, lambda z, t: jax.nn.sigmoid(z / t), params)
    return relaxed_cv(theta, key, bern_noise, bern_cond, bern_log_prob, cost, control)


def bern_gumbel_softmax(theta, key, cost=bits_cost):
    noise = jax.random.logistic(key, (N,) + theta.shape)
    return jnp.mean(jax.vmap(cost)(jax.nn.sigmoid(theta + noise)))


def bern_straight_through(theta, key, cost=bits_cost):
    p = jax.nn.sigmoid(theta)
    return jnp.mean(jax.vmap(cost)(bern_draw(theta, key) + p - sg(p)))


def bern_st_gumbel_softmax(theta, key, cost=bits_cost):
    noise = jax.random.logistic(key, (N,) + theta.shape)
    soft = jax.nn.sigmoid(theta + noise)
    hard = (theta + noise > 0).astype(theta.dtype)
    return jnp.mean(jax.vmap(cost)(hard + soft - sg(soft)))


def bern_gumbel_rao(theta, key, cost=bits_cost, draws=10):
    k1, k2 = jax.random.split(key)
    noise = jax.random.logistic(k1, (N,) + theta.shape)
    b = (theta + noise > 0).astype(theta.dtype)
    v = jax.random.uniform(k2, (draws - 1, N) + theta.shape)
    extra = sg(bern_conditional(theta, v, b)) - sg(theta)
    noises = jnp.concatenate([noise[None], extra])
    soft = jnp.mean(jax.nn.sigmoid(theta + noises), 0)
    return jnp.mean(jax.vmap(cost)(b + soft - sg(soft)))


def jacobian_times(p, v):
    return p * v - p * jnp.sum(p * v, -1, keepdims=True)


def reinmax_rows(logits, hard, temperature=1.0):
    pi = sg(jax.nn.softmax(logits, -1))
    p_bar = sg(0.5 * (jax.nn.softmax(logits / temperature, -1) + hard))
    linear = 2.0 * jacobian_times(p_bar, logits) - 0.5 * jacobian_times(pi, logits)
    return hard + linear - sg(linear)


def bern_reinmax(theta, key, cost=bits_cost):
    b = bern_draw(theta, key)
    hard = jnp.stack([1.0 - b, b], -1)
    logits = jnp.stack([log_sigmoid(-theta), log_sigmoid(theta)], -1)
    return jnp.mean(jax.vmap(cost)(reinmax_rows(logits, hard)[..., 1]))


# -- OneHotCategorical: θ of shape (20, 10) ----------------------------------------------------
def cat_draw(theta, key):
    gumbel = jax.random.gumbel(key, (N,) + theta.shape)
    return gumbel, jax.nn.one_hot(jnp.argmax(theta + gumbel, -1), theta.shape[-1])


def cat_log_prob(theta, z):
    return jnp.sum(jax.nn.log_softmax(theta, -1) * z, (-2, -1))


def cat_score_function(theta, key):
    _, z = cat_draw(theta, key)
    return jnp.mean(magic(cat_log_prob(theta, z)) * jax.vmap(table_cost)(z))


def cat_rloo(theta, key):
    _, z = cat_draw(theta, key)
    values = jax.vmap(table_cost)(z)
    baseline = (jnp.sum(values) - values) / (N - 1)
    return jnp.mean(magic(cat_log_prob(theta, z)) * (values - baseline) + baseline)


def cat_arm(theta, key):  # ARS: K evaluations per sample
    k = theta.shape[-1]
    k1, k2 = jax.random.split(key)
    gumbel = jax.random.gumbel(k1, (N,) + theta.shape)
    log_pi = -gumbel - jax.nn.logsumexp(-gumbel, -1, keepdims=True)  # (N, D, K)
    ref = jax.random.randint(k2, (N,), 0, k)
    log_probs = jax.nn.log_softmax(theta, -1)
    at_ref = jnp.sum(jnp.where(jnp.arange(k) == ref[:, None, None], log_pi, 0.0), -1)[..., None]
    classes = jnp.arange(k)
    col_is_ref = classes[None, None, None, :] == ref[:, None, None, None]  # (N,1,1,K)
    # swapped[n, d, c, m]: log π with classes c and J exchanged, at class m
    swapped = jnp.where(
        classes[:, None] == classes[None, :],
        at_ref[..., None],
        jnp.where(col_is_ref, log_pi[..., :, None], log_pi[..., None, :]),
    )
    index = jnp.argmax(sg(log_probs)[:, None, :] - swapped, -1)  # (N, D, K)
    z = jax.nn.one_hot(jnp.moveaxis(index, -1, 1), k)  # (N, K, D, K)
    f_swaps = jax.vmap(jax.vmap(table_cost))(z)  # (N, K)
    signal = f_swaps - jnp.mean(f_swaps, -1, keepdims=True)
    weight = 1.0 - k * jnp.exp(at_ref[..., 0])  # (N, D)
    grad = jnp.mean(signal[:, None, :] * weight[..., None], 0)
    return jnp.mean(f_swaps) + probe(log_probs, grad)


def cat_disarm(theta, key):  # the coupling's maths is reparax's helper (see the docstring)
    gumbel = jax.random.gumbel(key, (N,) + theta.shape)
    neg_log_u = jnp.exp(-gumbel[..., :-1])
    log_probs = jax.nn.log_softmax(theta, -1)
    pair = jax.vmap(stick_breaking_pair, (None, 0, 0))
    first, second, log_w = pair(log_probs, -neg_log_u, jnp.log(-jnp.expm1(-neg_log_u)))
    k = theta.shape[-1]
    f1 = jax.vmap(table_cost)(jax.nn.one_hot(first, k))
    f2 = jax.vmap(table_cost)(jax.nn.one_hot(second, k))
    coef = sg(0.5 * (f1 - f2)[:, None] * jnp.exp(log_w))
    ratio = jnp.sum(log_probs * (jax.nn.one_hot(first, k) - jax.nn.one_hot(second, k)), -1)
    return jnp.mean(0.5 * (f1 + f2)) + jnp.mean(jnp.sum(coef * ratio, -1))


def cat_other_rows(z):  # (D, K − 1, D, K): z with row d set to each class but its own
    d, k = z.shape
    own = jnp.argmax(z, -1)
    j = jnp.arange(k - 1)
    classes = j[None] + (j[None] >= own[:, None])  # (D, K − 1)
    eye = jnp.eye(d, dtype=bool)[:, None, :, None]
    return jnp.where(eye, jax.nn.one_hot(classes, k)[:, :, None], z[None, None]), classes


def cat_local_signal(theta, key):
    """(values, g): g[d, k] = mean over samples of f(z with row d ← k) − f(z), 0 at z's own
    class; D·(K − 1) + 1 evaluations per sample."""
    _, z = cat_draw(theta, key)
    values = jax.vmap(table_cost)(z)
    rows, classes = jax.vmap(cat_other_rows)(z)
    signal = jax.vmap(jax.vmap(jax.vmap(table_cost)))(rows) - values[:, None, None]  # (N, D, K−1)
    placed = jnp.einsum("ndj,ndjk->dk", signal, jax.nn.one_hot(classes, theta.shape[-1]))
    return values, placed / N


def cat_indecater(theta, key):
    values, grad_logp = cat_local_signal(theta, key)
    probs = jax.nn.softmax(theta, -1)
    # Σ_k ∇p_dk (f_k − f) with ∇p = p ⊙ (∂ log p); written as a probe on log p
    return jnp.mean(values) + probe(jax.nn.log_softmax(theta, -1), probs * sg(grad_logp))


def cat_measure_valued(theta, key):
    values, signal = cat_local_signal(theta, key)
    grad = jax.nn.softmax(theta, -1) * signal
    return jnp.mean(values) + probe(theta, grad)


def cat_noise(theta, key):
    return cat_draw(theta, key)


def cat_cond(theta, key, hard):
    k1, k2 = jax.random.split(key)
    top = jax.nn.logsumexp(theta, -1, keepdims=True) + jax.random.gumbel(k1, hard.shape[:-1] + (1,))
    others = theta + jax.random.gumbel(k2, hard.shape)
    return jnp.where(hard > 0.5, top, -jnp.logaddexp(-top, -others))


def cat_rebar(theta, key):
    reference = sg(table_cost(jax.nn.softmax(sg(theta), -1)))
    cost = lambda z: table_cost(z) - reference
    control = lambda z: cost(jax.nn.softmax(z / 0.5, -1))
    return reference + relaxed_cv(theta, key, cat_noise, cat_cond, cat_log_prob, cost, control)


def cat_relax(theta, key, params):
    control = relax_network(table_cost, lambda z, t: jax.nn.softmax(z / t, -1), params)
    return relaxed_cv(theta, key, cat_noise, cat_cond, cat_log_prob, table_cost, control)


def cat_gumbel_softmax(theta, key):
    gumbel, _ = cat_draw(theta, key)
    return jnp.mean(jax.vmap(table_cost)(jax.nn.softmax(theta + gumbel, -1)))


def cat_straight_through(theta, key):
    _, z = cat_draw(theta, key)
    p = jax.nn.softmax(theta, -1)
    return jnp.mean(jax.vmap(table_cost)(z + p - sg(p)))


def cat_st_gumbel_softmax(theta, key):
    gumbel, z = cat_draw(theta, key)
    soft = jax.nn.softmax(theta + gumbel, -1)
    return jnp.mean(jax.vmap(table_cost)(z + soft - sg(soft)))


def cat_gumbel_rao(theta, key, draws=10):
    k1, k2 = jax.random.split(key)
    gumbel, z = cat_draw(theta, k1)
    keys = jax.random.split(k2, draws - 1)
    extra = jax.vmap(lambda k: sg(cat_cond(theta, k, z)) - sg(theta))(keys)
    soft = jnp.mean(jax.nn.softmax(theta + jnp.concatenate([gumbel[None], extra]), -1), 0)
    return jnp.mean(jax.vmap(table_cost)(z + soft - sg(soft)))


def cat_reinmax(theta, key):
    _, z = cat_draw(theta, key)
    return jnp.mean(jax.vmap(table_cost)(reinmax_rows(jax.nn.log_softmax(theta, -1), z)))


# -- the comparison ---------------------------------------------------------------------------
HAND = {
    "bernoulli 200": {
        "score_function": bern_score_function,
        "rloo": bern_rloo,
        "arm": bern_arm,
        "disarm": bern_disarm,
        "indecater": bern_indecater,
        "measure_valued": bern_measure_valued,
        "rebar": bern_rebar,
        "relax": bern_relax,
        "gumbel_softmax": bern_gumbel_softmax,
        "straight_through": bern_straight_through,
        "st_gumbel_softmax": bern_st_gumbel_softmax,
        "gumbel_rao": bern_gumbel_rao,
        "reinmax": bern_reinmax,
    },
    "categorical 20x10": {
        "score_function": cat_score_function,
        "rloo": cat_rloo,
        "arm": cat_arm,
        "disarm": cat_disarm,
        "indecater": cat_indecater,
        "measure_valued": cat_measure_valued,
        "rebar": cat_rebar,
        "relax": cat_relax,
        "gumbel_softmax": cat_gumbel_softmax,
        "straight_through": cat_straight_through,
        "st_gumbel_softmax": cat_st_gumbel_softmax,
        "gumbel_rao": cat_gumbel_rao,
        "reinmax": cat_reinmax,
    },
}
PROBLEMS = {
    "bernoulli 200": (rx.Bernoulli, bits_cost, jax.random.normal(jax.random.key(1), (200,))),
    "categorical 20x10": (
        rx.OneHotCategorical,
        table_cost,
        jax.random.normal(jax.random.key(3), (20, 10)),
    ),
}


def reparax_loss(family, cost, method, extra):
    def loss(theta, key, *args):
        options = {"cv_params": args[0]} if method == "relax" else {}
        return rx.expectation(cost, family(theta), key, method=method, num_samples=N, **options)

    return loss


def cost_ratios(ours: Callable, theirs: Callable, args: tuple) -> tuple[float, float]:
    """XLA's own count of flops and bytes accessed, reparax / hand-written: unlike times,
    independent of the machine's load."""
    costs = []
    for fn in (ours, theirs):
        analysis = jax.jit(jax.grad(fn)).lower(*args).compile().cost_analysis()
        analysis = analysis[0] if isinstance(analysis, list) else analysis
        costs.append((analysis.get("flops", 0.0), analysis.get("bytes accessed", 0.0)))
    (flops, nbytes), (hand_flops, hand_bytes) = costs
    return flops / hand_flops, nbytes / hand_bytes


def paired_ratios(
    ours: Callable, theirs: Callable, args: tuple, repeats: int
) -> tuple[np.ndarray, float, float]:
    """Per-round ratios of alternating timings (and the two medians in seconds)."""
    fns = [jax.jit(jax.grad(ours)), jax.jit(jax.grad(theirs))]
    for fn in fns:
        jax.block_until_ready(fn(*args))
    times = np.zeros((repeats, 2))
    for r in range(repeats):
        order = (0, 1) if r % 2 == 0 else (1, 0)
        for i in order:
            start = time.perf_counter()
            jax.block_until_ready(fns[i](*args))
            times[r, i] = time.perf_counter() - start
    return times[:, 0] / times[:, 1], float(np.median(times[:, 0])), float(np.median(times[:, 1]))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=300)
    parser.add_argument("--only", default="", help="comma-separated methods")
    args = parser.parse_args()
    only = set(filter(None, args.only.split(",")))
    key = jax.random.key(0)
    platform = jax.devices()[0].platform
    print(f"{platform} | N={N}, jitted jax.grad, {args.repeats} alternating rounds")
    print(
        "| problem | method | reparax (µs) | hand-written (µs) | ratio (median) | ratio IQR "
        "| flops ratio | bytes ratio |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for problem, (family, cost, theta) in PROBLEMS.items():
        for method, hand in HAND[problem].items():
            if only and method not in only:
                continue
            extra = ()
            if method == "relax":
                extra = (rx.relax_init(family(theta), jax.random.key(7)),)
            ours_loss, call = reparax_loss(family, cost, method, extra), (theta, key, *extra)
            ratios, ours, theirs = paired_ratios(ours_loss, hand, call, args.repeats)
            flops, nbytes = cost_ratios(ours_loss, hand, call)
            q1, q2, q3 = np.percentile(ratios, [25, 50, 75])
            print(
                f"| {problem} | {method} | {ours * 1e6:.0f} | {theirs * 1e6:.0f} | {q2:.2f} | "
                f"{q1:.2f}–{q3:.2f} | {flops:.2f} | {nbytes:.2f} |",
                flush=True,
            )


if __name__ == "__main__":
    main()
