"""The contract suite: every registered (method, family) pair composes with JAX."""

import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import reparax as rx
from tests.examples import EXAMPLES

PAIRS = [
    (family, method)
    for family, example in EXAMPLES.items()
    for method in rx.supported_methods(example.build(example.params))
]
NUM_SAMPLES = 3
DETERMINISTIC = {"exact"}  # enumeration does not depend on the key


def _estimate(example, method, params, key, **options):
    dist = example.build(params)
    return rx.gradient_estimate(
        example.f, dist, key, method=method, num_samples=NUM_SAMPLES, **options
    )


@functools.cache
def _compiled(family, method, num_samples=NUM_SAMPLES, chunk_size=None):
    """One jit-compiled estimate per (pair, options), shared by the tests of a worker."""
    example = EXAMPLES[family]

    def run(params, key):
        return rx.gradient_estimate(
            example.f,
            example.build(params),
            key,
            method=method,
            num_samples=num_samples,
            chunk_size=chunk_size,
        )

    return jax.jit(run)


def _close(a, b, rtol=2e-5, atol=1e-6):
    jax.tree.map(lambda x, y: np.testing.assert_allclose(x, y, rtol=rtol, atol=atol), a, b)


@pytest.mark.parametrize("family,method", PAIRS)
def test_jit_matches_eager_and_key_determinism(family, method):
    example = EXAMPLES[family]
    key = jax.random.key(3)
    run = _compiled(family, method)
    eager = _estimate(example, method, example.params, key)
    jitted = run(example.params, key)
    _close(eager, jitted)
    again = run(example.params, key)
    jax.tree.map(np.testing.assert_array_equal, jitted, again)
    other = run(example.params, jax.random.key(4))
    differs = any(
        not np.allclose(a, b) for a, b in zip(jax.tree.leaves(eager), jax.tree.leaves(other))
    )
    assert differs != (method in DETERMINISTIC)
    legacy = run(example.params, jax.random.PRNGKey(3))
    assert all(np.all(np.isfinite(x)) for x in jax.tree.leaves(legacy))


@pytest.mark.parametrize("family,method", PAIRS)
def test_vmap_over_keys(family, method):
    example, run = EXAMPLES[family], _compiled(family, method)
    keys = jax.random.split(jax.random.key(5), 2)
    batched = jax.vmap(run, in_axes=(None, 0))(example.params, keys)
    for i in range(2):
        single = run(example.params, keys[i])
        _close(jax.tree.map(lambda x, i=i: x[i], batched), single)


@pytest.mark.parametrize("family,method", PAIRS)
def test_vmap_over_distributions(family, method):
    example, run = EXAMPLES[family], _compiled(family, method)
    stacked = jax.tree.map(lambda x: jnp.stack([x, x + 0.1]), example.params)
    key = jax.random.key(6)
    batched = jax.vmap(run, in_axes=(0, None))(stacked, key)
    for i in range(2):
        params = jax.tree.map(lambda x, i=i: x[i], stacked)
        _close(jax.tree.map(lambda x, i=i: x[i], batched), run(params, key))


@pytest.mark.parametrize("family,method", PAIRS)
def test_grad_through_parameterization_is_chain_rule(family, method):
    example = EXAMPLES[family]
    key = jax.random.key(7)

    def loss(params):
        dist = example.build(params)
        return rx.expectation(example.f, dist, key, method=method, num_samples=NUM_SAMPLES)

    direct = jax.jit(jax.grad(loss))(example.params)
    est = _compiled(family, method)(example.params, key)
    _, pullback = jax.vjp(example.build, example.params)
    (chained,) = pullback(est.grad)
    _close(direct, chained, rtol=1e-4)


@pytest.mark.parametrize("family,method", PAIRS)
def test_chunked_equals_unchunked(family, method):
    example = EXAMPLES[family]
    key = jax.random.key(8)
    whole = _compiled(family, method, 7)(example.params, key)
    for chunk_size in (2, 7):  # 2 leaves a remainder chunk
        chunked = _compiled(family, method, 7, chunk_size)(example.params, key)
        _close(whole, chunked)


def test_every_method_is_covered():
    covered = {method for _, method in PAIRS}
    assert covered == set(rx.methods())
