"""Samples spread over devices (``sample_sharding``) give what one device gives.

The device checks need 8 devices, and ``--xla_force_host_platform_device_count=8`` must be
set before JAX starts: ``test_eight_devices`` runs this file as a script in a subprocess,
which does every check in one process (few, shared compilations). The checks compare each
estimate and gradient on 8 devices with the same computation on one device, for pathwise,
score_function, rloo, disarm and measure_valued, with ``chunk_size`` (a remainder chunk
included), with ``plates``, with an explicit-axes mesh through ``jax.sharding.auto_axes``,
and one data-parallel training step of ``examples/data_parallel.py`` (batch over "data",
samples over "samples", a 2×4 mesh). The compiled program is read to check that each device
really evaluates only its share of the samples.

Tolerance: the per-sample values are the same on any number of devices (sample i is drawn
from ``split(key, N)[i]`` wherever it lives); only the sums over samples are reassociated
(per-device partial sums, then an all-reduce). In float32 (ε = 1.2e-7) that moves a sum of
N = 48 terms by a few ulps of its largest partial sums: rtol = 2e-5 with atol = 1e-6 (the
bound the chunking tests use for the same reassociation) covers it. Measured: at most 6
ulps of each array's largest entry (printed by the subprocess).
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.sharding import AxisType, NamedSharding, PartitionSpec

import reparax as rx

ROOT = Path(__file__).resolve().parents[1]
DEVICES = 8
NUM_SAMPLES = 48
DIM = 5  # a distinctive size: per-sample arrays are [48, 5] on one device, [6, 5] on each of 8


# -- in-process checks (one device is enough) -----------------------------------------------
def test_sample_sharding_must_be_a_named_sharding():
    dist = rx.Normal(jnp.zeros(2), 1.0)
    with pytest.raises(TypeError, match="sample_sharding.*NamedSharding"):
        rx.expectation(jnp.sum, dist, jax.random.key(0), method="pathwise", sample_sharding="x")


def test_sample_sharding_must_name_one_axis():
    mesh = jax.make_mesh((1,), ("samples",), axis_types=(AxisType.Auto,))
    dist = rx.Normal(jnp.zeros(2), 1.0)
    for spec in (PartitionSpec(), PartitionSpec("samples", None), PartitionSpec(None)):
        with pytest.raises(ValueError, match="exactly one axis"):
            rx.expectation(
                jnp.sum,
                dist,
                jax.random.key(0),
                method="pathwise",
                sample_sharding=NamedSharding(mesh, spec),
            )


def test_explicit_axes_are_refused_with_the_fix():
    mesh = jax.make_mesh((1,), ("samples",), axis_types=(AxisType.Explicit,))
    dist = rx.Normal(jnp.zeros(2), 1.0)
    with pytest.raises(ValueError, match="AxisType.Auto.*auto_axes"):
        rx.expectation(
            jnp.sum,
            dist,
            jax.random.key(0),
            method="pathwise",
            sample_sharding=NamedSharding(mesh, PartitionSpec("samples")),
        )


def test_eight_devices():
    env = dict(os.environ)
    # Keep the suite's compile settings (conftest.py) and add the forced devices.
    env["XLA_FLAGS"] = (
        f"{env.get('XLA_FLAGS', '')} --xla_force_host_platform_device_count={DEVICES}"
    ).strip()
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    run = subprocess.run(
        [sys.executable, __file__], env=env, cwd=ROOT, capture_output=True, text=True
    )
    assert run.returncode == 0, run.stdout + run.stderr
    assert "all sharding checks passed" in run.stdout, run.stdout


# -- the device checks, run by the subprocess -----------------------------------------------
def _assert_close(sharded: Any, single: Any, label: str) -> None:
    leaves = jax.tree.leaves(single)
    assert leaves and all(np.all(np.isfinite(x)) for x in leaves), label
    assert any(np.any(np.asarray(x) != 0) for x in leaves), f"{label}: all zero"
    jax.tree.map(
        lambda a, b: np.testing.assert_allclose(a, b, rtol=2e-5, atol=1e-6, err_msg=label),
        sharded,
        single,
    )
    # For the record (the test's stdout): the largest difference of each array, in float32
    # ulps of its largest entry (reassociation errors scale with the terms, not the result).
    ulps = [
        float(np.max(np.abs(np.asarray(a) - b)) / np.spacing(np.max(np.abs(b)).astype(np.float32)))
        for a, b in zip(jax.tree.leaves(sharded), leaves)
    ]
    print(f"{label}: largest difference {max(ulps):.0f} ulps ({np.round(ulps).astype(int)})")


def _estimates(sample_sharding: NamedSharding | None) -> dict[str, Any]:
    """Value and gradient of every checked case (one jitted program per sharding)."""
    normal = rx.Normal(jnp.linspace(-1.0, 1.0, DIM), jnp.linspace(0.5, 1.5, DIM))
    bernoulli = rx.Bernoulli(jnp.linspace(-2.0, 2.0, DIM))
    plated = rx.Bernoulli(jnp.linspace(-1.0, 1.0, 3 * DIM).reshape(3, DIM))
    weights = jnp.arange(1.0, DIM + 1.0)
    smooth = lambda z: jnp.sum(jnp.sin(z) * z**2)  # noqa: E731
    binary = lambda b: jnp.sum(weights * (b - 0.3) ** 2)  # noqa: E731
    per_row = lambda b: jnp.sum(weights[None] * (b - 0.3) ** 2, axis=-1)  # noqa: E731
    cases = {
        "pathwise": (smooth, normal, {}),
        "score_function": (smooth, normal, {}),
        "rloo": (binary, bernoulli, {}),
        "disarm": (binary, bernoulli, {}),
        "measure_valued": (smooth, normal, {}),
        # Chunks of 16 (2 per device), and chunks of 20 with a remainder of 8 (uneven: padded).
        "pathwise chunk_size=16": (smooth, normal, {"chunk_size": 16}),
        "rloo chunk_size=20": (binary, bernoulli, {"chunk_size": 20}),
        "score_function plates=1": (per_row, plated, {"plates": 1}),
    }

    def run(key: jax.Array) -> dict[str, Any]:
        out = {}
        for label, (f, dist, options) in cases.items():
            method = label.split()[0]
            out[label] = rx.gradient_estimate(
                f,
                dist,
                key,
                method=method,
                num_samples=NUM_SAMPLES,
                sample_sharding=sample_sharding,
                **options,
            )
        return out

    compiled = jax.jit(run).lower(jax.random.key(3)).compile()
    return {"estimates": compiled(jax.random.key(3)), "hlo": compiled.as_text()}


def _check_estimators(mesh: jax.sharding.Mesh) -> dict[str, Any]:
    single = _estimates(None)
    sharded = _estimates(NamedSharding(mesh, PartitionSpec("samples")))
    for label in single["estimates"]:
        _assert_close(sharded["estimates"][label], single["estimates"][label], label)
    # The work is split: one device draws and transforms all 48 samples of the 5-dim normal;
    # on 8, each device holds [6, 5] (48 / 8) and no [48, 5] per-sample array remains.
    per_device = f"f32[{NUM_SAMPLES // DEVICES},{DIM}]"
    whole = f"f32[{NUM_SAMPLES},{DIM}]"
    assert whole in single["hlo"] and per_device not in single["hlo"]
    assert per_device in sharded["hlo"] and whole not in sharded["hlo"], "samples not split"
    assert "all-reduce" in sharded["hlo"]
    return single["estimates"]


def _check_explicit_axes(single: dict[str, Any]) -> None:
    """Under jax.set_mesh with explicit axes, the loss wrapped in auto_axes (README recipe)."""
    mesh = jax.make_mesh((DEVICES,), ("samples",), axis_types=(AxisType.Explicit,))
    sample_sharding = NamedSharding(mesh, PartitionSpec("samples"))
    normal = rx.Normal(jnp.linspace(-1.0, 1.0, DIM), jnp.linspace(0.5, 1.5, DIM))

    def estimate(dist: rx.Normal, key: jax.Array) -> rx.Estimate:
        return rx.gradient_estimate(
            lambda z: jnp.sum(jnp.sin(z) * z**2),
            dist,
            key,
            method="pathwise",
            num_samples=NUM_SAMPLES,
            sample_sharding=sample_sharding,
        )

    with jax.set_mesh(mesh):
        auto = jax.sharding.auto_axes(estimate, out_sharding=PartitionSpec())
        out = jax.jit(auto)(normal, jax.random.key(3))
    _assert_close(out, single["pathwise"], "pathwise, explicit mesh through auto_axes")


def _example() -> Any:
    sys.path.insert(0, str(ROOT / "examples"))
    import data_parallel  # type: ignore[import-not-found]

    return data_parallel


def _check_data_parallel_step() -> None:
    example = _example()
    mesh = example.mesh_2x4()
    key = jax.random.key(0)
    params = example.init(key)
    images = example.bars(jax.random.key(1), example.BATCH)
    optimizer = example.optax.adam(example.LEARNING_RATE)
    state = optimizer.init(params)
    single_step = example.make_step(optimizer, None).lower(params, state, images, key).compile()
    replicated = NamedSharding(mesh, PartitionSpec())
    sharded_args = (
        jax.device_put(params, replicated),
        jax.device_put(state, replicated),
        jax.device_put(images, NamedSharding(mesh, PartitionSpec("data"))),
        key,
    )
    sample_sharding = NamedSharding(mesh, PartitionSpec("samples"))
    sharded_step = example.make_step(optimizer, sample_sharding).lower(*sharded_args).compile()
    single, sharded = single_step(params, state, images, key), sharded_step(*sharded_args)
    # The decoder's logits, (samples × images) × pixels: all N·B rows on one device, N·B / 8
    # on each of 8 (a quarter of the samples of half the images), in either vmap order.
    rows, pixels = example.NUM_SAMPLES * example.BATCH, example.PIXELS
    whole = {f"f32[{rows},{pixels}]", f"f32[{example.NUM_SAMPLES},{example.BATCH},{pixels}]"}
    share = {
        f"f32[{rows // DEVICES},{pixels}]",
        f"f32[{example.NUM_SAMPLES // 4},{example.BATCH // 2},{pixels}]",
    }
    single_hlo, sharded_hlo = single_step.as_text(), sharded_step.as_text()
    assert any(s in single_hlo for s in whole), "no full-size logits on one device"
    assert not any(s in sharded_hlo for s in whole), "batch and samples not both split"
    assert any(s in sharded_hlo for s in share), "batch and samples not both split"
    _assert_close(sharded, single, "data-parallel step (loss, parameters, Adam state)")
    # The gradients Adam normalized were well above rounding (else its sign(g) first step
    # would amplify a reassociation difference); after one step its first moment is 0.1 g.
    first_moment = single[1][0].mu
    assert min(float(jnp.min(jnp.abs(m))) for m in jax.tree.leaves(first_moment)) > 1e-6


def _main() -> None:
    jax.config.update("jax_numpy_rank_promotion", "raise")
    assert jax.device_count() == DEVICES, jax.devices()
    mesh = jax.make_mesh((DEVICES,), ("samples",), axis_types=(AxisType.Auto,))
    single = _check_estimators(mesh)
    _check_explicit_axes(single)
    _check_data_parallel_step()
    print("all sharding checks passed")


# -- several processes: the README's multi-host recipe, on CPU -------------------------------
def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.mark.slow
def test_two_processes_share_one_mesh():
    """Two processes of 4 CPU devices each (gloo collectives) run one 2×4-mesh step, each
    holding its half of the minibatch; both read the single-device step's result."""
    env = dict(os.environ)
    env["XLA_FLAGS"] = f"{env.get('XLA_FLAGS', '')} --xla_force_host_platform_device_count=4"
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    port = str(_free_port())
    processes = [
        subprocess.Popen(
            [sys.executable, __file__, "--process", str(i), "--port", port],
            env=env,
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for i in range(2)
    ]
    try:
        outputs = [p.communicate(timeout=600)[0] for p in processes]
    finally:
        for p in processes:  # one that failed leaves the other waiting for it
            p.kill()
    for i, (process, output) in enumerate(zip(processes, outputs)):
        assert process.returncode == 0, output
        assert f"process {i}: multi-host step equals one device" in output, output


def _multi_process_main(process_id: int, port: int) -> None:
    jax.config.update("jax_numpy_rank_promotion", "raise")
    jax.config.update("jax_cpu_collectives_implementation", "gloo")
    jax.distributed.initialize(f"127.0.0.1:{port}", num_processes=2, process_id=process_id)
    assert (jax.device_count(), jax.local_device_count()) == (DEVICES, DEVICES // 2)
    example = _example()
    mesh = example.mesh_2x4()
    # The same key, parameters and (here) minibatch on every process, from the same seeds.
    key = jax.random.key(0)
    params = example.init(key)
    images = example.bars(jax.random.key(1), example.BATCH)
    optimizer = example.optax.adam(example.LEARNING_RATE)
    state = optimizer.init(params)
    single = example.make_step(optimizer, None)(params, state, images, key)  # a local device
    # Each process passes only the images its own devices hold.
    batch = NamedSharding(mesh, PartitionSpec("data"))
    rows = [index[0] for index in batch.addressable_devices_indices_map(images.shape).values()]
    start, stop = min(r.start for r in rows), max(r.stop for r in rows)
    assert stop - start == example.BATCH // 2, "a process should hold half the minibatch"
    local = jax.make_array_from_process_local_data(batch, np.asarray(images[start:stop]))
    step = example.make_step(optimizer, NamedSharding(mesh, PartitionSpec("samples")))
    sharded = step(params, state, local, key)  # parameters and key: replicated inputs
    mine = jax.tree.map(lambda x: np.asarray(x.addressable_data(0)), sharded)
    _assert_close(mine, single, f"process {process_id}: multi-host step")
    print(f"process {process_id}: multi-host step equals one device")


if __name__ == "__main__":
    if "--process" in sys.argv:
        arguments = dict(zip(sys.argv[1::2], sys.argv[2::2]))
        _multi_process_main(int(arguments["--process"]), int(arguments["--port"]))
    else:
        _main()
