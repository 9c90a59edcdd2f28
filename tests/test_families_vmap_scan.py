"""Every family's gradient pytree comes back whole from ``vmap`` and ``lax.scan`` over keys.

JAX reassembles the distribution-shaped gradient with a leading key axis (``vmap`` and
``scan`` outputs); that reassembly must never convert or validate (a batched ``loc`` of shape
(4, 2) next to a ``scale`` of shape (4,) does not broadcast as parameters, and must not be
asked to). Parameters have mixed shapes (a vector next to scalars) where the family has two or
more, so the gradient leaves keep their parameters' own shapes.
"""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import reparax as rx
from tests.examples import EXAMPLES

KEY = jax.random.key(7)
NUM_KEYS = 3


def mixed_shapes(params):
    """The first vector parameter kept, every other one reduced to its first element."""
    vectors = all(jnp.ndim(v) == 1 for v in params.values())
    if len(params) < 2 or not vectors:
        return params
    first, *others = params
    return {first: params[first], **{k: params[k][0] for k in others}}


def method_for(dist):
    supported = rx.supported_methods(dist)
    for method in ("pathwise", "exact", "score_function"):
        if method in supported:
            return method
    raise AssertionError(f"no method for {type(dist).__name__}: {supported}")


@pytest.mark.parametrize("name", sorted(EXAMPLES))
def test_vmap_and_scan_over_keys_return_the_gradient_pytree(name):
    example = EXAMPLES[name]
    params = mixed_shapes(example.params)
    dist = example.build(params)
    method = method_for(dist)

    def grad(key):
        est = rx.gradient_estimate(
            example.f, example.build(params), key, method=method, num_samples=2
        )
        return est.grad

    @jax.jit
    def by_vmap_and_scan(keys):
        _, scanned = jax.lax.scan(lambda carry, key: (carry, grad(key)), None, keys)
        return jax.vmap(grad)(keys), scanned

    mapped, scanned = by_vmap_and_scan(jax.random.split(KEY, NUM_KEYS))
    for out in (mapped, scanned):
        assert type(out) is type(dist)
        for pname, leaf in dist.parameters().items():
            got = out.parameters()[pname]
            assert got.shape == (NUM_KEYS,) + leaf.shape, (pname, got.shape, leaf.shape)
            assert bool(jnp.all(jnp.isfinite(got))), (pname, got)
    for pname in dist.parameters():
        np.testing.assert_allclose(
            mapped.parameters()[pname], scanned.parameters()[pname], rtol=1e-5, atol=1e-6
        )


def test_issue_reproduction_vmap_of_normal_gradients():
    """The report: a (4, 3) batched loc beside a (4,) batched scale must not be validated."""

    def grad(key):
        dist = rx.Normal(jnp.zeros(3), 1.0)
        return rx.gradient_estimate(lambda z: jnp.sum(z**2), dist, key, method="pathwise").grad

    keys = jax.random.split(jax.random.key(0), 4)
    out = jax.vmap(grad)(keys)
    assert out.loc.shape == (4, 3) and out.scale.shape == (4,)
    _, scanned = jax.lax.scan(lambda c, k: (c, grad(k)), None, keys)
    np.testing.assert_allclose(scanned.loc, out.loc, rtol=1e-6)
    np.testing.assert_allclose(scanned.scale, out.scale, rtol=1e-6)
