"""Data-parallel training with both the minibatch and the Monte Carlo samples sharded.

A discrete VAE on synthetic 4×4 "bars" images: an amortized Bernoulli encoder q(z | x) with
8 latents, a uniform prior, a Bernoulli decoder p(x | z). The loss per image is the negative
ELBO, −E_q[log p(x | z)] + KL(q ‖ p), the expectation estimated by RLOO with ``plates=1``
(each image's estimator credited with its own cost) and the KL in closed form.

The devices form a 2 × 4 mesh ("data", "samples"): the minibatch is split over "data" (each
row of the mesh holds half the images) and each image's samples over "samples"
(``sample_sharding``), so the 8 devices each evaluate a quarter of the samples of half the
images. XLA inserts the collectives; the step computes what one device computes, to float
rounding (``tests/test_sharding.py`` checks it).

On a CPU, forced host devices stand in for accelerators (they share the CPU's cores: they
show the mechanism, not a speed-up)::

    XLA_FLAGS=--xla_force_host_platform_device_count=8 python examples/data_parallel.py

On a machine with 8 accelerators drop the flag; on several hosts call
``jax.distributed.initialize()`` first (see the README's "Many devices").
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import optax
from jax.sharding import AxisType, Mesh, NamedSharding, PartitionSpec

import reparax as rx

SIDE = 4
PIXELS = SIDE * SIDE
LATENTS = 8
BATCH = 64
NUM_SAMPLES = 8
LEARNING_RATE = 3e-2

Params = dict[str, jax.Array]
Step = Callable[[Params, Any, jax.Array, jax.Array], tuple[Params, Any, jax.Array]]


def bars(key: jax.Array, num_images: int) -> jax.Array:
    """Binary 4×4 images: each of the 8 bars (4 rows, 4 columns) on with probability 1/4."""
    rows, cols = jax.random.bernoulli(key, 0.25, (2, num_images, SIDE))
    images = rows[:, :, None] | cols[:, None, :]
    return images.reshape(num_images, PIXELS).astype(jnp.float32)


def init(key: jax.Array) -> Params:
    """Affine encoder and decoder, small random weights."""
    k_enc, k_dec = jax.random.split(key)
    return {
        "enc_w": 0.1 * jax.random.normal(k_enc, (PIXELS, LATENTS)),
        "enc_b": jnp.zeros(LATENTS),
        "dec_w": 0.1 * jax.random.normal(k_dec, (LATENTS, PIXELS)),
        "dec_b": jnp.zeros(PIXELS),
    }


def negative_elbo(
    params: Params, images: jax.Array, key: jax.Array, sample_sharding: NamedSharding | None
) -> jax.Array:
    """Mean over the minibatch of −ELBO; the samples split over devices as asked."""
    encoder = rx.Bernoulli(images @ params["enc_w"] + params["enc_b"][None, :])

    def reconstruction_cost(z: jax.Array) -> jax.Array:
        # One cost per image (plates=1): −log p(x_b | z_b), shape (batch,).
        logits = z @ params["dec_w"] + params["dec_b"][None, :]
        return jnp.sum(optax.sigmoid_binary_cross_entropy(logits, images), axis=-1)

    expected_cost = rx.expectation(
        reconstruction_cost,
        encoder,
        key,
        method="rloo",
        num_samples=NUM_SAMPLES,
        plates=1,
        sample_sharding=sample_sharding,
    )
    # KL(Bernoulli(σ(l)) ‖ Bernoulli(½)) = Σ [p log p + (1 − p) log(1 − p)] + L log 2.
    logits = encoder.logits
    probs = jax.nn.sigmoid(logits)
    negative_entropy = probs * jax.nn.log_sigmoid(logits) + (1 - probs) * jax.nn.log_sigmoid(
        -logits
    )
    kl = jnp.sum(negative_entropy) + images.shape[0] * LATENTS * jnp.log(2.0)
    return (expected_cost + kl) / images.shape[0]


def make_step(
    optimizer: optax.GradientTransformation, sample_sharding: NamedSharding | None
) -> Step:
    """One jitted Adam step; the sharding of its inputs decides where the batch lives."""

    @jax.jit
    def step(
        params: Params, opt_state: Any, images: jax.Array, key: jax.Array
    ) -> tuple[Params, Any, jax.Array]:
        loss, grads = jax.value_and_grad(negative_elbo)(params, images, key, sample_sharding)
        updates, opt_state = optimizer.update(grads, opt_state, params)
        return optax.apply_updates(params, updates), opt_state, loss

    return step


def mesh_2x4() -> Mesh:
    """The ("data", "samples") mesh over 8 devices, with Auto axes (XLA places the rest)."""
    return jax.make_mesh((2, 4), ("data", "samples"), axis_types=(AxisType.Auto,) * 2)


def train(num_steps: int, mesh: Mesh | None, seed: int = 0) -> list[float]:
    """Trains for ``num_steps`` on fresh minibatches; ``mesh=None`` runs on one device."""
    key = jax.random.key(seed)
    k_init, key = jax.random.split(key)
    params = init(k_init)
    optimizer = optax.adam(LEARNING_RATE)
    opt_state = optimizer.init(params)
    sample_sharding = None
    if mesh is not None:
        sample_sharding = NamedSharding(mesh, PartitionSpec("samples"))
        # Parameters replicated on every device; each minibatch split over "data".
        params, opt_state = jax.device_put(
            (params, opt_state), NamedSharding(mesh, PartitionSpec())
        )
    step = make_step(optimizer, sample_sharding)
    losses = []
    for _ in range(num_steps):
        key, k_data, k_step = jax.random.split(key, 3)
        images = bars(k_data, BATCH)
        if mesh is not None:
            images = jax.device_put(images, NamedSharding(mesh, PartitionSpec("data")))
        params, opt_state, loss = step(params, opt_state, images, k_step)
        losses.append(float(loss))
    return losses


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=200)
    args = parser.parse_args()
    if jax.device_count() < 8:
        raise SystemExit(
            f"This example needs 8 devices, found {jax.device_count()}; on a CPU run it with "
            "XLA_FLAGS=--xla_force_host_platform_device_count=8."
        )
    start = time.perf_counter()
    losses = train(args.steps, mesh_2x4())
    elapsed = time.perf_counter() - start
    every = max(1, args.steps // 5)
    for i in [*range(0, args.steps - 1, every), args.steps - 1]:
        print(f"step {i:4d}  -ELBO {losses[i]:.3f} (one minibatch)")
    print(
        f"{args.steps} steps on a 2×4 mesh of {jax.devices()[0].platform} devices: {elapsed:.1f} s"
    )


if __name__ == "__main__":
    main()
