"""Every Gaussian estimator is unbiased against closed forms (∂/∂loc, ∂/∂scale)."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import reparax as rx
from reparax.problems import GAUSSIAN_PROBLEMS as PROBLEMS
from tests.stats import assert_unbiased

METHODS = ["pathwise", "score_function", "rloo", "measure_valued"]
LOC = jnp.array([1.0, -0.5, 0.3])
SCALE = jnp.array([1.0, 2.0, 0.5])
NUM_ESTIMATES = 4000


def estimates(f, dist, method, num_estimates=NUM_ESTIMATES, num_samples=None, seed=0):
    num_samples = num_samples or (2 if method == "rloo" else 1)
    keys = jax.random.split(jax.random.key(seed), num_estimates)

    def one(key):
        return rx.gradient_estimate(f, dist, key, method=method, num_samples=num_samples)

    return jax.jit(jax.vmap(one))(keys)


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize(
    "problem,k",
    [
        ("square", 0.5),
        ("square", 2.0),
        ("exp_square", 0.5),
        ("exp_square", 1.0),
        ("cosine", 0.5),
        ("cosine", 2.0),
    ],
)
def test_normal_unbiased(method, problem, k):
    g, exact = PROBLEMS[problem](k)
    dist = rx.Normal(LOC, SCALE)
    est = estimates(lambda z: jnp.sum(g(z)), dist, method)
    exact_loc, exact_scale = jax.grad(lambda m, s: jnp.sum(exact(m, s)), argnums=(0, 1))(LOC, SCALE)
    assert_unbiased(est.grad.loc, exact_loc)
    assert_unbiased(est.grad.scale, exact_scale)
    assert_unbiased(est.value, jnp.sum(exact(LOC, SCALE)))


@pytest.mark.parametrize("method", METHODS)
def test_ten_dimensional(method):
    loc = jnp.linspace(-1.0, 1.0, 10)
    scale = jnp.linspace(0.5, 1.5, 10)
    g, exact = PROBLEMS["cosine"](1.0)
    est = estimates(
        lambda z: jnp.sum(g(z)) + jnp.prod(jnp.tanh(z[:2])),
        rx.Normal(loc, scale),
        method,
        num_estimates=3000,
    )
    # The interaction term tanh(z0)·tanh(z1) has no closed form; integrate it numerically.
    nodes, weights = np.polynomial.hermite_e.hermegauss(80)
    weights = weights / weights.sum()

    def tanh_mean(m, s):
        return jnp.sum(weights * jnp.tanh(m + s * nodes))

    def total(m, s):
        return jnp.sum(exact(m, s)) + tanh_mean(m[0], s[0]) * tanh_mean(m[1], s[1])

    exact_loc, exact_scale = jax.grad(total, argnums=(0, 1))(loc, scale)
    assert_unbiased(est.grad.loc, exact_loc)
    assert_unbiased(est.grad.scale, exact_scale)


@pytest.mark.parametrize("method", ["pathwise", "score_function", "measure_valued"])
def test_multivariate_normal(method):
    loc = jnp.array([0.5, -1.0, 0.2])
    tril = jnp.array([[1.0, 0.0, 0.0], [0.4, 0.8, 0.0], [-0.3, 0.2, 1.2]])
    target = jnp.array([1.0, 0.0, -0.5])
    est = estimates(
        lambda z: jnp.sum((z - target) ** 2),
        rx.MultivariateNormalTriL(loc, tril),
        method,
        num_estimates=4000,
    )

    def exact(m, s):  # E|z − t|² = |m − t|² + tr(L Lᵀ)
        return jnp.sum((m - target) ** 2) + jnp.sum(jnp.tril(s) ** 2)

    exact_loc, exact_tril = jax.grad(exact, argnums=(0, 1))(loc, tril)
    assert_unbiased(est.grad.loc, exact_loc)
    assert_unbiased(est.grad.scale_tril, exact_tril)


@pytest.mark.parametrize("method", METHODS)
def test_cost_closing_over_its_parameter(method):
    dist = rx.Normal(LOC, SCALE)
    num_samples = 2 if method == "rloo" else 1

    def loss(target, key):
        f = lambda z: jnp.sum((z - target) ** 2)
        return rx.expectation(f, dist, key, method=method, num_samples=num_samples)

    keys = jax.random.split(jax.random.key(1), NUM_ESTIMATES)
    target = jnp.array([0.2, 0.1, -0.4])
    grads = jax.vmap(jax.grad(loss), in_axes=(None, 0))(target, keys)
    assert_unbiased(grads, -2.0 * (LOC - target))
