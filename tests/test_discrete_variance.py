"""Closed-form variances on the 1-bit toy, and the variance orderings the papers claim."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import reparax as rx
from tests.stats import assert_variance, assert_variance_lower

T = 0.45
DELTA = 1 - 2 * T  # f(1) − f(0) for f(b) = (b − t)²


def one_bit_estimates(method, num_samples, num_estimates=40000):
    dist = rx.Bernoulli(jnp.zeros(1))
    f = lambda b: jnp.sum((b - T) ** 2)  # noqa: E731
    keys = jax.random.split(jax.random.key(21), num_estimates)
    one = lambda k: rx.gradient_estimate(f, dist, k, method=method, num_samples=num_samples)  # noqa: E731
    return jax.jit(jax.vmap(one))(keys).grad.logits[:, 0]


# At θ = 0, u ~ U(0,1): ARM gives Δ|u − ½| (Var Δ²(1/12 − 1/16) = Δ²/48); DisARM gives Δ/4
# exactly (Var 0); RLOO with two samples gives ½(f₁ − f₂)(b₁ − b₂) ∈ {0, Δ/2} with
# probability ½ each (Var Δ²/16); REINFORCE with one sample gives f(b)(b − ½), whose second
# moment is ((1 − t)⁴ + t⁴)/8 (Var that minus Δ²/16).
@pytest.mark.parametrize(
    "method,num_samples,variance",
    [
        ("arm", 1, DELTA**2 / 48),
        ("disarm", 1, 0.0),
        ("rloo", 2, DELTA**2 / 16),
        ("score_function", 1, ((1 - T) ** 4 + T**4) / 8 - DELTA**2 / 16),
        ("indecater", 1, 0.0),
    ],
)
def test_one_bit_variance(method, num_samples, variance):
    assert_variance(one_bit_estimates(method, num_samples), variance)


def _total_variance(f, dist, method, num_samples, num_estimates):
    keys = jax.random.split(jax.random.key(22), num_estimates)
    one = lambda k: rx.gradient_estimate(f, dist, k, method=method, num_samples=num_samples)  # noqa: E731
    grads = jax.jit(jax.vmap(one))(keys).grad.logits
    per_coordinate = jnp.var(grads.reshape(num_estimates, -1), axis=0, ddof=1)
    return float(jnp.sum(per_coordinate)), np.asarray(per_coordinate)


def test_disarm_beats_arm_on_200_bits():
    targets = jnp.linspace(0.4, 0.6, 200)
    dist = rx.Bernoulli(jax.random.normal(jax.random.key(23), (200,)))
    f = lambda b: jnp.sum((b - targets) ** 2)  # noqa: E731
    arm, arm_coords = _total_variance(f, dist, "arm", 1, 2000)
    disarm, disarm_coords = _total_variance(f, dist, "disarm", 1, 2000)
    # Dong et al. (2020, Thm. 1): DisARM's variance ≤ ARM's, coordinate by coordinate.
    assert disarm < arm
    assert np.mean(disarm_coords <= arm_coords) > 0.95


def test_indecater_beats_rloo_at_equal_evaluations():
    logits = jax.random.normal(jax.random.key(24), (6, 3))
    costs = jax.random.normal(jax.random.key(25), (6, 3))
    dist = rx.OneHotCategorical(logits)
    f = lambda z: jnp.sum(costs * z) + z[0, 0] * z[1, 1]  # noqa: E731
    evaluations = rx.methods()["indecater"].count_evaluations(dist)  # D·(K − 1) + 1 = 13
    keys = jax.random.split(jax.random.key(22), 3000)

    def grads(method, num_samples):
        one = lambda k: rx.gradient_estimate(f, dist, k, method=method, num_samples=num_samples)  # noqa: E731
        return jax.jit(jax.vmap(one))(keys).grad.logits

    assert_variance_lower(grads("indecater", 1), grads("rloo", evaluations))
