"""The contract suite: every registered (method, family) pair composes with JAX."""

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


def _close(a, b, rtol=2e-5, atol=1e-6):
    jax.tree.map(lambda x, y: np.testing.assert_allclose(x, y, rtol=rtol, atol=atol), a, b)


@pytest.mark.parametrize("family,method", PAIRS)
def test_jit_matches_eager_and_key_determinism(family, method):
    example = EXAMPLES[family]
    key = jax.random.key(3)
    eager = _estimate(example, method, example.params, key)
    jitted = jax.jit(lambda p, k: _estimate(example, method, p, k))(example.params, key)
    _close(eager, jitted)
    again = _estimate(example, method, example.params, key)
    jax.tree.map(np.testing.assert_array_equal, eager, again)
    other = _estimate(example, method, example.params, jax.random.key(4))
    differs = any(
        not np.allclose(a, b) for a, b in zip(jax.tree.leaves(eager), jax.tree.leaves(other))
    )
    assert differs != (method in DETERMINISTIC)
    legacy = _estimate(example, method, example.params, jax.random.PRNGKey(3))
    assert all(np.all(np.isfinite(x)) for x in jax.tree.leaves(legacy))


@pytest.mark.parametrize("family,method", PAIRS)
def test_vmap_over_keys(family, method):
    example = EXAMPLES[family]
    keys = jax.random.split(jax.random.key(5), 2)
    batched = jax.vmap(lambda k: _estimate(example, method, example.params, k))(keys)
    for i in range(2):
        single = _estimate(example, method, example.params, keys[i])
        _close(jax.tree.map(lambda x, i=i: x[i], batched), single)


@pytest.mark.parametrize("family,method", PAIRS)
def test_vmap_over_distributions(family, method):
    example = EXAMPLES[family]
    stacked = jax.tree.map(lambda x: jnp.stack([x, x + 0.1]), example.params)
    key = jax.random.key(6)
    batched = jax.vmap(lambda p: _estimate(example, method, p, key))(stacked)
    for i in range(2):
        params = jax.tree.map(lambda x, i=i: x[i], stacked)
        _close(jax.tree.map(lambda x, i=i: x[i], batched), _estimate(example, method, params, key))


@pytest.mark.parametrize("family,method", PAIRS)
def test_grad_through_parameterization_is_chain_rule(family, method):
    example = EXAMPLES[family]
    key = jax.random.key(7)

    def loss(params):
        dist = example.build(params)
        return rx.expectation(example.f, dist, key, method=method, num_samples=NUM_SAMPLES)

    direct = jax.grad(loss)(example.params)
    est = _estimate(example, method, example.params, key)
    _, pullback = jax.vjp(example.build, example.params)
    (chained,) = pullback(est.grad)
    _close(direct, chained, rtol=1e-4)


@pytest.mark.parametrize("family,method", PAIRS)
def test_chunked_equals_unchunked(family, method):
    example = EXAMPLES[family]
    key = jax.random.key(8)
    dist = example.build(example.params)
    whole = rx.gradient_estimate(example.f, dist, key, method=method, num_samples=7)
    for chunk_size in (2, 7):  # 2 leaves a remainder chunk
        chunked = rx.gradient_estimate(
            example.f, dist, key, method=method, num_samples=7, chunk_size=chunk_size
        )
        _close(whole, chunked)


def test_every_method_is_covered():
    covered = {method for _, method in PAIRS}
    assert covered == set(rx.methods())
