"""``rx.with_key(f)``: f receives a per-sample key of its own (nested expectations)."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import reparax as rx
from reparax import _registry
from tests.stats import assert_unbiased

MU, SIGMA = 0.7, 1.3


def nested(x, key):
    """E_y[(x + y)²] for y ~ N(x, 1), itself estimated by reparax: = 4x² + 1."""
    return rx.expectation(
        lambda y: (x + y) ** 2, rx.Normal(x, 1.0), key, method="pathwise", num_samples=2
    )


@pytest.mark.parametrize("outer, num_samples", [("pathwise", 24), ("score_function", 128)])
def test_nested_expectation_is_unbiased(outer, num_samples):
    """E_x[4x² + 1] = 4(μ² + σ²) + 1: ∂/∂μ = 8μ, ∂/∂σ = 8σ (inner gradients flow through x)."""
    dist = rx.Normal(jnp.array(MU), jnp.array(SIGMA))
    run = jax.jit(
        jax.vmap(
            lambda k: (
                rx.gradient_estimate(
                    rx.with_key(nested), dist, k, method=outer, num_samples=num_samples
                ).grad
            )
        )
    )
    grads = run(jax.random.split(jax.random.key(0), 2000))
    assert_unbiased(grads.loc, 8 * MU, label=f"{outer} outer, d/d loc")
    assert_unbiased(grads.scale, 8 * SIGMA, label=f"{outer} outer, d/d scale")


def test_the_inner_key_is_independent_of_the_outer_sample():
    """f(x, key) = x·u with u ~ N(1, 1) drawn from f's key: E = μ, ∂/∂μ = E[u] = 1 only if
    u is independent of x (had f's key been the one that drew x, u − 1 would be x's own
    noise ε and ∂/∂μ = E[1 + ε]... plus a σ·ε² term in the value); the outer and inner
    draws are also checked to be uncorrelated directly."""
    dist = rx.Normal(jnp.array(MU), jnp.array(1.0))
    f = rx.with_key(lambda x, k: x * (1.0 + jax.random.normal(k)))
    run = jax.jit(
        jax.vmap(
            lambda k: rx.gradient_estimate(f, dist, k, method="pathwise", num_samples=8).grad.loc
        )
    )
    assert_unbiased(run(jax.random.split(jax.random.key(1), 3000)), 1.0, label="independence")
    # And directly: the correlation between the outer noise and the inner draw is nil.
    keys = jax.random.split(jax.random.key(2), 20000)
    sample_keys = jax.vmap(lambda k: jax.random.split(k, 1)[0])(keys)
    outer = jax.vmap(lambda k: dist.sample(k))(sample_keys)
    inner = jax.vmap(lambda k: jax.random.normal(rx._keyed.inner_key(k)))(sample_keys)
    assert abs(float(jnp.corrcoef(outer, inner)[0, 1])) < 5 / np.sqrt(20000)


LOGITS = jnp.array([0.4, -0.9, 1.1])


def clean(z):
    return jnp.sum(jnp.array([1.0, -2.0, 0.5]) * z) + z[0] * z[2]


@pytest.mark.parametrize("name", ["arm", "disarm", "indecater", "measure_valued", "exact"])
def test_a_sample_shares_its_key_across_evaluations(name):
    """Common random numbers: inner noise added to f cancels in ARM/DisARM's pair
    differences and IndeCateR's rows, so the gradient is exactly the noise-free one."""
    dist = rx.Bernoulli(logits=LOGITS)
    noisy = rx.with_key(lambda z, k: clean(z) + 3.0 * jax.random.normal(k))
    key = jax.random.key(3)
    with_noise = rx.gradient_estimate(noisy, dist, key, method=name, num_samples=4)
    without = rx.gradient_estimate(clean, dist, key, method=name, num_samples=4)
    np.testing.assert_allclose(with_noise.grad.logits, without.grad.logits, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize(
    "method",
    [e for e in _registry.BUILTIN if e.accepts_keyed_f and e.objective == "expectation"],
    ids=lambda e: e.name,
)
def test_every_method_that_accepts_a_key_runs_under_jit(method):
    if method.supports(rx.Bernoulli(logits=LOGITS)):
        dist, f = (
            rx.Bernoulli(logits=LOGITS),
            rx.with_key(lambda z, k: clean(z) + jax.random.normal(k)),
        )
    else:
        dist = rx.Normal(jnp.zeros(3), jnp.ones(3))
        f = rx.with_key(lambda z, k: jnp.sum(z**2) + jax.random.normal(k))
    num_samples = max(2, method.min_samples)
    run = jax.jit(
        lambda k: rx.gradient_estimate(f, dist, k, method=method, num_samples=num_samples)
    )
    est = run(jax.random.key(0))
    assert jnp.isfinite(est.value)
    assert not np.array_equal(np.asarray(est.value), np.asarray(run(jax.random.key(1)).value))


@pytest.mark.parametrize("name", ["rebar", "relax"])
def test_methods_that_cannot_pass_the_key_refuse(name):
    f = rx.with_key(lambda z, k: clean(z))
    with pytest.raises(ValueError, match="cannot give f its key"):
        rx.expectation(f, rx.Bernoulli(logits=LOGITS), jax.random.key(0), method=name)


def test_with_key_refuses_a_non_callable_and_is_idempotent():
    with pytest.raises(TypeError, match="callable"):
        rx.with_key(3.0)
    keyed = rx.with_key(lambda z, k: z)
    assert rx.with_key(keyed) is keyed
