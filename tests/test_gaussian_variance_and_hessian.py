"""Per-sample variances with closed forms, and unbiased second derivatives."""

import jax
import jax.numpy as jnp
import pytest

import reparax as rx
from tests.stats import assert_unbiased, assert_variance, jit_many

MU, SIGMA, K = 0.7, 1.3, 2.0


def per_sample(method, f, dist, num=20000, seed=0):
    keys = jax.random.split(jax.random.key(seed), num)
    one = lambda key: rx.gradient_estimate(f, dist, key, method=method, num_samples=1)  # noqa: E731
    return jit_many(jax.vmap(one))(keys)


def test_pathwise_variance_square():
    # ∂μ: 2(μ + σε − k) has variance 4σ²; ∂σ: 2(μ + σε − k)ε has variance 4(μ−k)² + 8σ².
    est = per_sample("pathwise", lambda z: (z - K) ** 2, rx.Normal(MU, SIGMA))
    assert_variance(est.grad.loc, 4 * SIGMA**2)
    assert_variance(est.grad.scale, 4 * (MU - K) ** 2 + 8 * SIGMA**2)


def test_score_function_variance_linear():
    # f(x) = x: ∂μ estimate x·ε/σ = (μ + σε)ε/σ has variance μ²/σ² + 2.
    est = per_sample("score_function", lambda z: z, rx.Normal(MU, SIGMA))
    assert_variance(est.grad.loc, MU**2 / SIGMA**2 + 2)


def test_measure_valued_loc_variance_linear():
    # f(x) = x, coupled: ĝ = c(f⁺ − f⁻) = 2σW/(σ√(2π)) = 2W/√(2π) with E[W²] = 2, so
    # E[ĝ²] = 4/π and, as E[ĝ] = 1, Var = 4/π − 1.
    est = per_sample("measure_valued", lambda z: z, rx.Normal(MU, SIGMA))
    assert_variance(est.grad.loc, 4 / jnp.pi - 1)


@pytest.mark.parametrize("method,num_samples", [("pathwise", 8192), ("score_function", 32768)])
def test_hessian_is_unbiased(method, num_samples):
    # E[cos(kx)] = cos(kμ) exp(−k²σ²/2); its Hessian in (μ, σ) in closed form via jax.
    k = 1.5
    exact = lambda p: jnp.cos(k * p[0]) * jnp.exp(-(k**2) * p[1] ** 2 / 2)  # noqa: E731
    params = jnp.array([MU, 0.8])

    def objective(p, key):
        return rx.expectation(
            lambda z: jnp.cos(k * z),
            rx.Normal(p[0], p[1]),
            key,
            method=method,
            num_samples=num_samples,
        )

    keys = jax.random.split(jax.random.key(1), 1000)  # power: 5 stderr < 5% at every entry
    hessians = jit_many(jax.vmap(jax.hessian(objective), in_axes=(None, 0)))(params, keys)
    assert_unbiased(hessians, jax.hessian(exact)(params), label=method)
