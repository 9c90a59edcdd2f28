"""Every unbiased Gaussian estimator against closed forms (∂/∂loc, ∂/∂scale), with power.

One (method, problem) per test; each assertion can see a 5% bias at every coordinate (see
``tests/stats.py``), so the sample sizes below are what that takes for each method.
"""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import reparax as rx
from reparax.problems import GAUSSIAN_PROBLEMS as PROBLEMS
from tests.stats import assert_unbiased, estimator_samples, jit_many

METHODS = ["pathwise", "score_function", "rloo", "measure_valued"]
LOC = jnp.array([1.0, -0.5, 0.3])
SCALE = jnp.array([1.0, 0.7, 0.5])  # no coordinate where a problem's gradient vanishes
NUM_ESTIMATES = 1000


def estimates(f, dist, method, num_samples, num_estimates=NUM_ESTIMATES, seed=0):
    """``num_estimates`` independent estimates, each averaging ``num_samples`` samples: one
    jit + vmap over keys."""
    return estimator_samples(
        f,
        dist,
        jax.random.key(seed),
        method=method,
        num_estimates=num_estimates,
        num_samples=num_samples,
    )


# num_samples per estimate that gives every coordinate power (5 stderr < 5% |exact|, with a
# margin so that a gradient scaled by 1.05 fails); the score-function family pays for the
# cost's spread over the other coordinates.
SAMPLES = {
    ("square", 0.5): {
        "pathwise": 256,
        "score_function": 16384,
        "rloo": 4096,
        "measure_valued": 128,
    },
    ("exp_square", 0.5): {
        "pathwise": 128,
        "score_function": 16384,
        "rloo": 1024,
        "measure_valued": 64,
    },
    ("cosine", 1.0): {
        "pathwise": 128,
        "score_function": 8192,
        "rloo": 1024,
        "measure_valued": 64,
    },
}


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("problem,k", list(SAMPLES), ids=[f"{p}-{k}" for p, k in SAMPLES])
def test_normal_unbiased(method, problem, k):
    g, exact = PROBLEMS[problem](k)
    dist = rx.Normal(LOC, SCALE)
    est = estimates(lambda z: jnp.sum(g(z)), dist, method, SAMPLES[problem, k][method])
    exact_loc, exact_scale = jax.grad(lambda m, s: jnp.sum(exact(m, s)), argnums=(0, 1))(LOC, SCALE)
    assert_unbiased(est.grad.loc, exact_loc, label=f"{method} loc")
    assert_unbiased(est.grad.scale, exact_scale, label=f"{method} scale")
    assert_unbiased(est.value[:, None], jnp.sum(exact(LOC, SCALE)), label=f"{method} value")


# score_function is left out here: without a baseline, the spread of a 10-term cost needs
# ~10⁸ samples for power at the smallest coordinate (it is tested in 3-D above).
TEN_SAMPLES = {"pathwise": 512, "rloo": 8192, "measure_valued": 512}


@pytest.mark.parametrize("method", list(TEN_SAMPLES))
def test_ten_dimensional(method):
    loc = jnp.linspace(0.3, 1.3, 10)  # |sin(loc)| ≥ 0.3: every ∂/∂loc is sizeable
    scale = jnp.linspace(0.5, 1.0, 10)
    g, exact = PROBLEMS["cosine"](1.0)
    est = estimates(
        lambda z: jnp.sum(g(z)) - jnp.prod(jnp.tanh(z[:2])),
        rx.Normal(loc, scale),
        method,
        TEN_SAMPLES[method],
    )
    # The interaction term −tanh(z0)·tanh(z1) (its sign keeps ∂/∂loc₀ away from 0) has no
    # closed form; integrate it numerically.
    nodes, weights = np.polynomial.hermite_e.hermegauss(80)
    weights = weights / weights.sum()

    def tanh_mean(m, s):
        return jnp.sum(weights * jnp.tanh(m + s * nodes))

    def total(m, s):
        return jnp.sum(exact(m, s)) - tanh_mean(m[0], s[0]) * tanh_mean(m[1], s[1])

    exact_loc, exact_scale = jax.grad(total, argnums=(0, 1))(loc, scale)
    assert_unbiased(est.grad.loc, exact_loc, label=f"{method} loc")
    assert_unbiased(est.grad.scale, exact_scale, label=f"{method} scale")


MVN_SAMPLES = {
    "pathwise": 2048,
    "score_function": 16384,
    "rloo": 8192,
    "measure_valued": 8192,
}


@pytest.mark.parametrize("method", METHODS)
def test_multivariate_normal(method):
    dist = rx.MultivariateNormalTriL(
        jnp.array([0.5, -1.0, 0.2]),
        jnp.array([[1.0, 0.0, 0.0], [0.4, 0.8, 0.0], [-0.3, 0.2, 1.2]]),
    )
    if method not in rx.supported_methods(dist):
        pytest.skip(f"{method} does not support MultivariateNormalTriL")
    target = jnp.array([1.0, 0.0, -0.5])
    est = estimates(lambda z: jnp.sum((z - target) ** 2), dist, method, MVN_SAMPLES[method])

    def exact(m, s):  # E|z − t|² = |m − t|² + tr(L Lᵀ)
        return jnp.sum((m - target) ** 2) + jnp.sum(jnp.tril(s) ** 2)

    exact_loc, exact_tril = jax.grad(exact, argnums=(0, 1))(dist.loc, dist.scale_tril)
    assert_unbiased(est.grad.loc, exact_loc, label=f"{method} loc")
    # The strict upper triangle is not a parameter: its exact gradient is 0; the floor is a
    # resolution of 0.02 there (the smallest nonzero entry is 2·0.2 = 0.4).
    assert_unbiased(est.grad.scale_tril, exact_tril, floor=0.02, label=f"{method} scale_tril")


CLOSING_SAMPLES = {"pathwise": 64, "score_function": 64, "rloo": 64, "measure_valued": 64}


@pytest.mark.parametrize("method", METHODS)
def test_cost_closing_over_its_parameter(method):
    dist = rx.Normal(LOC, SCALE)
    num_samples = CLOSING_SAMPLES[method]

    def loss(target, key):
        f = lambda z: jnp.sum((z - target) ** 2)  # noqa: E731
        return rx.expectation(f, dist, key, method=method, num_samples=num_samples)

    keys = jax.random.split(jax.random.key(1), NUM_ESTIMATES)
    target = jnp.array([0.2, 0.1, -0.4])
    grads = jit_many(jax.vmap(jax.grad(loss), in_axes=(None, 0)))(target, keys)
    assert_unbiased(grads, -2.0 * (LOC - target), label=method)
