"""A discrete VAE on binarized digits: the estimators trained against each other (issue #11).

Data: scikit-learn's 8×8 digits (shipped inside the package, nothing downloaded), pixels
binarized at 8 of 16, a fixed split of 1500 training and 297 test images. Model: 32 Bernoulli
latents with a uniform prior (p = 0.5), a Bernoulli decoder over the 64 pixels, an amortized
encoder; linear (affine) or nonlinear (two 128-unit LeakyReLU layers) encoder and decoder.
The KL(q‖p) term is analytic, so the estimator only sees f(z) = −log p(x | z) per datum, with
``plates=1``: one cost per datum, each datum's estimator credited with its own cost.

Every method spends 2 f-evaluations per datum and step (score_function, rloo, reinmax and
gumbel_softmax: 2 samples; arm and disarm: 1 antithetic pair), IndeCateR (1 sample, all its
local replacements) is the expensive reference. Adam 1e-3, batch 50, several seeds trained
side by side (one ``vmap`` over seeds).

Reported per (model, method): train and test −ELBO at the end (hard samples, 100 per image,
mean ± s.d. over seeds), the encoder-gradient variance at one fixed checkpoint (summed over
the encoder's parameters, per-coordinate variance over ``--keys`` keys on a fixed minibatch)
and ms per jitted training step. Then, for every unbiased method, that variance with
``plates=1`` against a per-datum ``jax.vmap`` of the single-datum estimator on independent
keys (equal in distribution: the ratio is 1 up to Monte Carlo noise, reported with its
standard error; on the same key the two agree draw by draw, and the largest difference is
printed) and against the whole minibatch read as one distribution with the costs summed
(every datum's score then multiplies every other datum's cost).

    python benchmarks/vae_digits.py [--steps 6000 --seeds 3 --keys 4000 --out vae_digits.md]
"""

from __future__ import annotations

import argparse
import functools
import math
import time
from collections.abc import Callable
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import optax
from sklearn.datasets import load_digits

import reparax as rx

LATENTS = 32
PIXELS = 64
HIDDEN = 128
BATCH = 50
TEST_SIZE = 297
EVAL_SAMPLES = 100
LEARNING_RATE = 1e-3
# The LeakyReLU slope of the DisARM paper's nonlinear VAE (Dong, Mnih & Tucker 2020, §6).
LEAKY_SLOPE = 0.3

Layers = list[tuple[jax.Array, jax.Array]]
Params = dict[str, Layers]


class Method(NamedTuple):
    """An estimator and the options that make it cost 2 f-evaluations per datum."""

    name: str
    num_samples: int
    options: dict[str, Any]


METHODS = (
    Method("score_function", 2, {}),
    Method("rloo", 2, {}),
    Method("arm", 1, {}),
    Method("disarm", 1, {}),
    Method("indecater", 1, {}),
    # ReinMax's paper recommends τ ≥ 1; Gumbel-softmax at the τ = 0.5 where Jang et al.
    # (2017) end their annealing. Neither is tuned here.
    Method("reinmax", 2, {"temperature": 1.0}),
    Method("gumbel_softmax", 2, {"temperature": 0.5}),
)


# -- data ---------------------------------------------------------------------------------
def binarized_digits() -> tuple[np.ndarray, np.ndarray]:
    """(train, test) binary images of shape (N, 64), split by a fixed permutation."""
    pixels = load_digits().data  # (1797, 64), integer intensities 0…16
    images = (pixels >= 8).astype(np.float32)
    order = np.random.default_rng(0).permutation(len(images))
    return images[order[TEST_SIZE:]], images[order[:TEST_SIZE]]


# -- model --------------------------------------------------------------------------------
def init_layers(key: jax.Array, sizes: list[int]) -> Layers:
    """Glorot-uniform weights and zero biases for an MLP with these layer sizes."""
    layers = []
    for k, (fan_in, fan_out) in zip(jax.random.split(key, len(sizes) - 1), zip(sizes, sizes[1:])):
        limit = math.sqrt(6.0 / (fan_in + fan_out))
        weight = jax.random.uniform(k, (fan_in, fan_out), minval=-limit, maxval=limit)
        layers.append((weight, jnp.zeros(fan_out)))
    return layers


def apply_layers(layers: Layers, x: jax.Array) -> jax.Array:
    for i, (weight, bias) in enumerate(layers):
        x = x @ weight + bias
        if i < len(layers) - 1:
            x = jax.nn.leaky_relu(x, LEAKY_SLOPE)
    return x


def init_params(key: jax.Array, nonlinear: bool, pixel_mean: np.ndarray) -> Params:
    hidden = [HIDDEN, HIDDEN] if nonlinear else []
    encoder_key, decoder_key = jax.random.split(key)
    decoder = init_layers(decoder_key, [LATENTS, *hidden, PIXELS])
    # The decoder's output bias starts at the logit of the mean image, so every method starts
    # from the same sensible reconstruction instead of spending its first steps finding it.
    clipped = np.clip(pixel_mean, 1e-3, 1 - 1e-3)
    weight, _ = decoder[-1]
    decoder[-1] = (weight, jnp.asarray(np.log(clipped) - np.log1p(-clipped)))
    return {
        "encoder": init_layers(encoder_key, [PIXELS, *hidden, LATENTS]),
        "decoder": decoder,
    }


class VAE(NamedTuple):
    """The pieces of the model that depend on the data (the training mean) only."""

    pixel_mean: jax.Array

    def encoder_logits(self, params: Params, x: jax.Array) -> jax.Array:
        # Centred input, as in the ARM/DisARM experiments.
        return apply_layers(params["encoder"], x - self.pixel_mean)

    def reconstruction(self, params: Params, z: jax.Array, x: jax.Array) -> jax.Array:
        """−log p(x | z), summed over pixels: one cost per leading element of z."""
        logits = apply_layers(params["decoder"], z)
        return jnp.sum(jax.nn.softplus(logits) - x * logits, axis=-1)


def kl_to_uniform(logits: jax.Array) -> jax.Array:
    """KL(Bernoulli(σ(θ)) ‖ Bernoulli(½)) summed over the latents: D log 2 − H(q)."""
    return jnp.sum(math.log(2.0) - rx.Bernoulli(logits).entropy(), axis=-1)


# -- the three ways of estimating a minibatch's reconstruction term ----------------------
def reconstruction_estimate(
    vae: VAE, params: Params, x: jax.Array, key: jax.Array, method: Method, mode: str
) -> jax.Array:
    """Σ over the minibatch of E_q[−log p(x_b | z_b)], differentiable by ``method``.

    ``plates``: one Bernoulli of shape (B, 32), f returns one cost per datum (``plates=1``).
    ``vmap``: the single-datum estimator mapped over the data with ``jax.vmap``.
    ``whole``: the minibatch as one distribution of shape (B, 32) and f the summed cost, so
    each datum's score is weighted by the noise of every other datum's cost.
    """
    logits = vae.encoder_logits(params, x)
    if mode == "plates":
        return rx.expectation(
            lambda z: vae.reconstruction(params, z, x),
            rx.Bernoulli(logits),
            key,
            method=method.name,
            num_samples=method.num_samples,
            plates=1,
            **method.options,
        )
    if mode == "vmap":

        def one(datum_logits: jax.Array, datum: jax.Array, datum_key: jax.Array) -> jax.Array:
            return rx.expectation(
                lambda z: vae.reconstruction(params, z, datum),
                rx.Bernoulli(datum_logits),
                datum_key,
                method=method.name,
                num_samples=method.num_samples,
                **method.options,
            )

        return jnp.sum(jax.vmap(one)(logits, x, jax.random.split(key, x.shape[0])))
    if mode == "whole":
        return rx.expectation(
            lambda z: jnp.sum(vae.reconstruction(params, z, x)),
            rx.Bernoulli(logits),
            key,
            method=method.name,
            num_samples=method.num_samples,
            **method.options,
        )
    raise ValueError(f"mode must be 'plates', 'vmap' or 'whole'; got {mode!r}")


def loss(
    vae: VAE,
    params: Params,
    x: jax.Array,
    key: jax.Array,
    method: Method,
    mode: str = "plates",
) -> jax.Array:
    """The minibatch's mean −ELBO estimate (reconstruction by ``method``, KL analytic)."""
    recon = reconstruction_estimate(vae, params, x, key, method, mode)
    return (recon + jnp.sum(kl_to_uniform(vae.encoder_logits(params, x)))) / x.shape[0]


def negative_elbo(vae: VAE, params: Params, x: jax.Array, key: jax.Array) -> jax.Array:
    """Mean −ELBO over ``x`` with hard samples (EVAL_SAMPLES per image), any method alike."""
    logits = vae.encoder_logits(params, x)
    z = rx.Bernoulli(logits).sample(key, (EVAL_SAMPLES,))
    return jnp.mean(vae.reconstruction(params, z, x)) + jnp.mean(kl_to_uniform(logits))


# -- training -----------------------------------------------------------------------------
def make_step(
    vae: VAE, method: Method, optimizer: optax.GradientTransformation, mode: str = "plates"
) -> Callable[[Params, Any, jax.Array, jax.Array], tuple[Params, Any, jax.Array]]:
    def step(
        params: Params, opt_state: Any, x: jax.Array, key: jax.Array
    ) -> tuple[Params, Any, jax.Array]:
        value, grads = jax.value_and_grad(lambda p: loss(vae, p, x, key, method, mode))(params)
        updates, opt_state = optimizer.update(grads, opt_state, params)
        return optax.apply_updates(params, updates), opt_state, value

    return step


def train(
    vae: VAE,
    train_x: jax.Array,
    method: Method,
    nonlinear: bool,
    seed: jax.Array,
    steps: int,
) -> Params:
    """``steps`` Adam steps from the seed's initialization, minibatches from per-epoch
    permutations of the training set (one ``lax.scan``, so the whole run is one program)."""
    optimizer = optax.adam(LEARNING_RATE)
    step = make_step(vae, method, optimizer)
    init_key, data_key, noise_key = jax.random.split(jax.random.key(seed), 3)
    params = init_params(init_key, nonlinear, np.asarray(vae.pixel_mean))
    batches_per_epoch = train_x.shape[0] // BATCH

    def body(carry: tuple[Params, Any], t: jax.Array) -> tuple[tuple[Params, Any], None]:
        params, opt_state = carry
        order = jax.random.permutation(
            jax.random.fold_in(data_key, t // batches_per_epoch), train_x.shape[0]
        )
        rows = jax.lax.dynamic_slice_in_dim(order, (t % batches_per_epoch) * BATCH, BATCH)
        params, opt_state, _ = step(
            params, opt_state, train_x[rows], jax.random.fold_in(noise_key, t)
        )
        return (params, opt_state), None

    (params, _), _ = jax.lax.scan(body, (params, optimizer.init(params)), jnp.arange(steps))
    return params


# -- measurements -------------------------------------------------------------------------
class Variance(NamedTuple):
    """Σ over encoder coordinates of the per-coordinate variance, and its standard error
    (from the spread of the same sum over disjoint groups of keys)."""

    total: float
    stderr: float


def encoder_gradient_variance(
    vae: VAE,
    params: Params,
    x: jax.Array,
    method: Method,
    mode: str,
    num_keys: int,
    groups: int = 10,
) -> Variance:
    """Variance of the encoder gradient of ``loss`` over ``num_keys`` keys at fixed ``params``
    and minibatch ``x``: vectorized over keys, in ``groups`` pieces to bound memory."""

    def encoder_grad(key: jax.Array) -> Layers:
        return jax.grad(lambda p: loss(vae, p, x, key, method, mode))(params)["encoder"]

    @jax.jit
    def group_variance(keys: jax.Array) -> jax.Array:
        grads = jax.vmap(encoder_grad)(keys)
        return jnp.sum(jnp.stack([jnp.sum(jnp.var(g, axis=0)) for g in jax.tree.leaves(grads)]))

    # Independent keys for each mode, so that plates against vmap compares two independent
    # variance estimates (equality in distribution), not the same draws twice.
    base = jax.random.fold_in(jax.random.key(12345), ("plates", "vmap", "whole").index(mode))
    keys = jax.random.split(base, num_keys).reshape(groups, -1)
    per_group = np.array([float(group_variance(k)) for k in keys])
    # The mean of the group variances (ddof 0 within a group) is biased by (n − 1)/n; correct.
    n = num_keys // groups
    per_group *= n / (n - 1)
    return Variance(float(per_group.mean()), float(per_group.std(ddof=1) / math.sqrt(groups)))


def same_key_difference(vae: VAE, params: Params, x: jax.Array, method: Method) -> float:
    """Largest |plates − vmap| over the encoder gradient at one key: ``plates=1`` gives element
    b the key ``split(key, B)[b]``, as the vmap here does, so they agree draw by draw."""

    def encoder_grad(mode: str) -> list[jax.Array]:
        grads = jax.grad(lambda p: loss(vae, p, x, jax.random.key(7), method, mode))(params)
        return jax.tree.leaves(grads["encoder"])

    pairs = zip(encoder_grad("plates"), encoder_grad("vmap"))
    return max(float(jnp.max(jnp.abs(a - b))) for a, b in pairs)


def ms_per_step(
    vae: VAE, params: Params, x: jax.Array, method: Method, repeats: int, mode: str = "plates"
) -> float:
    """Median wall-clock ms of one jitted training step (compilation excluded)."""
    optimizer = optax.adam(LEARNING_RATE)
    step = jax.jit(make_step(vae, method, optimizer, mode))
    opt_state = optimizer.init(params)
    jax.block_until_ready(step(params, opt_state, x, jax.random.key(0)))
    times = []
    for i in range(repeats):
        start = time.perf_counter()
        jax.block_until_ready(step(params, opt_state, x, jax.random.key(i)))
        times.append(time.perf_counter() - start)
    return 1e3 * float(np.median(times))


def f_evaluations_per_datum(method: Method) -> int:
    return rx.diagnostics.f_evaluations(
        method.name, rx.Bernoulli(jnp.zeros(LATENTS)), method.num_samples
    )


# -- the benchmark ------------------------------------------------------------------------
def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, default=6000, help="Adam steps per run")
    parser.add_argument("--seeds", type=int, default=3, help="seeds per (model, method)")
    parser.add_argument("--keys", type=int, default=4000, help="keys per variance estimate")
    parser.add_argument("--repeats", type=int, default=50, help="timed steps per method")
    parser.add_argument("--models", default="linear,nonlinear")
    parser.add_argument("--methods", default=",".join(m.name for m in METHODS))
    parser.add_argument("--out", default="vae_digits.md", help="where the tables are written")
    args = parser.parse_args()
    if args.seeds < 1 or args.steps < 1 or args.keys < 20 or args.keys % 10:
        parser.error("--seeds and --steps must be ≥ 1, --keys a multiple of 10, at least 20")

    started = time.perf_counter()
    train_np, test_np = binarized_digits()
    train_x, test_x = jnp.asarray(train_np), jnp.asarray(test_np)
    vae = VAE(jnp.asarray(train_np.mean(axis=0)))
    fixed_batch = train_x[:BATCH]
    chosen = [m for m in METHODS if m.name in args.methods.split(",")]
    # Every method's variance is measured at the same checkpoint: the end of the first seed's
    # run of the reference (IndeCateR), or of the first method when it is not run.
    ordered = sorted(chosen, key=lambda m: m.name != "indecater")
    seeds = jnp.arange(args.seeds)
    eval_key = jax.random.key(2024)

    results = []
    for model in args.models.split(","):
        nonlinear = model == "nonlinear"
        checkpoint: Params | None = None
        for method in ordered:
            run = jax.jit(
                jax.vmap(
                    functools.partial(train, vae, train_x, method, nonlinear, steps=args.steps)
                )
            )
            run_started = time.perf_counter()
            trained = jax.block_until_ready(run(seeds))
            train_seconds = time.perf_counter() - run_started
            evaluate = jax.vmap(lambda p, x: negative_elbo(vae, p, x, eval_key), (0, None))
            train_elbo = np.asarray(evaluate(trained, train_x))
            test_elbo = np.asarray(evaluate(trained, test_x))
            if checkpoint is None:
                checkpoint = jax.tree.map(lambda leaf: leaf[0], trained)
            row: dict[str, Any] = {
                "model": model,
                "method": method,
                "train": train_elbo,
                "test": test_elbo,
                "ms": ms_per_step(vae, checkpoint, fixed_batch, method, args.repeats),
            }
            modes = ["plates"]
            if rx.methods()[method.name].unbiased:
                modes.append("vmap")
                # IndeCateR on the whole batch replaces one of B·32 bits at a time, so the other
                # data's costs cancel in every difference: the same estimator as plates, at B
                # times the evaluations (3201 of the summed f per sample). Not measured.
                if method.name != "indecater":
                    modes.append("whole")
            for mode in modes:
                row[mode] = encoder_gradient_variance(
                    vae, checkpoint, fixed_batch, method, mode, args.keys
                )
            if "vmap" in row:
                row["same_key"] = same_key_difference(vae, checkpoint, fixed_batch, method)
                row["ms_vmap"] = ms_per_step(
                    vae, checkpoint, fixed_batch, method, args.repeats, mode="vmap"
                )
            results.append(row)
            print(
                f"{model:9s} {method.name:15s} test -ELBO {test_elbo.mean():7.3f} "
                f"var {row['plates'].total:.4g}  (training {train_seconds:.0f} s, "
                f"{time.perf_counter() - started:.0f} s in all)",
                flush=True,
            )

    minutes = (time.perf_counter() - started) / 60
    text = tables(results, args, minutes)
    print(text)
    with open(args.out, "w") as handle:
        handle.write(text + "\n")


def _mean_sd(values: np.ndarray) -> str:
    if len(values) == 1:
        return f"{values[0]:.2f}"
    return f"{values.mean():.2f} ± {values.std(ddof=1):.2f}"


def tables(results: list[dict[str, Any]], args: argparse.Namespace, minutes: float) -> str:
    lines = [
        "| model | method | unbiased | f-evals / datum | train −ELBO | test −ELBO "
        "| encoder-grad variance | ms / step |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for row in results:
        method = row["method"]
        unbiased = "yes" if rx.methods()[method.name].unbiased else "no"
        lines.append(
            f"| {row['model']} | {method.name} | {unbiased} | {f_evaluations_per_datum(method)} "
            f"| {_mean_sd(row['train'])} | {_mean_sd(row['test'])} "
            f"| {row['plates'].total:.4g} | {row['ms']:.2f} |"
        )
    lines += [
        "",
        "| model | method | variance, plates=1 | variance, vmap per datum | plates / vmap "
        "| same key: max abs difference | variance, whole batch | whole / plates "
        "| ms / step plates | ms / step vmap |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for row in results:
        if "vmap" not in row:
            continue
        plates, vmapped = row["plates"], row["vmap"]
        ratio = plates.total / vmapped.total
        ratio_se = ratio * math.hypot(plates.stderr / plates.total, vmapped.stderr / vmapped.total)
        whole = f"{row['whole'].total:.4g}" if "whole" in row else "= plates"
        noisier = f"{row['whole'].total / plates.total:.1f}" if "whole" in row else "1"
        lines.append(
            f"| {row['model']} | {row['method'].name} | {plates.total:.4g} | {vmapped.total:.4g} "
            f"| {ratio:.3f} ± {ratio_se:.3f} | {row['same_key']:.1e} | {whole} | {noisier} "
            f"| {row['ms']:.2f} | {row['ms_vmap']:.2f} |"
        )
    lines += [
        "",
        f"({jax.devices()[0].platform} | {args.steps} Adam steps (lr {LEARNING_RATE}, batch "
        f"{BATCH}) per run, {args.seeds} seeds (mean ± s.d.); −ELBO in nats with "
        f"{EVAL_SAMPLES} hard samples per image; variances summed over the encoder's "
        f"parameters, {args.keys} keys per estimate (independent keys for plates and vmap) on "
        f"one fixed minibatch at the end of the first seed's indecater run (± one standard "
        f"error from 10 groups of keys); ms per jitted step, median of {args.repeats}; "
        f"{minutes:.1f} min in all.)",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    main()
