"""Double CV and RODEO: unbiased against enumeration for their initial AND for random
control-variate parameters (what makes them control variates), RLOO at initialization, one
jitted optax step trains them, and the variance falls after training; their refusals.

One compilation per method: the estimates are a jitted function of the parameters, shared
by every assertion on that method.
"""

import functools

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

import reparax as rx
from tests.stats import assert_unbiased, enumerate_exact

METHODS = ("double_cv", "rodeo")
LOGITS = jnp.array([-0.5, 0.4, 1.0])
DIST = rx.Bernoulli(LOGITS)
NUM_SAMPLES = 16
NUM_ESTIMATES = 6000  # at RLOO's variance: 5 stderr ≤ 3.4% of every |gradient| here
HIDDEN = 16  # RODEO's control network, small for the test


def f(b):
    """Structure in every direction: a quadratic, a sine and two interactions."""
    return (
        2.0 * (b[0] - 0.3) ** 2 - 2.5 * b[1] + 3.0 * jnp.sin(b[2]) + 1.5 * b[0] * b[1]
        - b[1] * b[2] ** 2
    )  # fmt: skip


def init(method):
    extra = {"hidden": HIDDEN} if method == "rodeo" else {}
    return getattr(rx, f"{method}_init")(DIST, jax.random.key(5), **extra)


def random_params(method):
    """Untrained, far from the initial point (α, β ≠ 0): unbiasedness must not care."""
    params = init(method)
    keys = iter(jax.random.split(jax.random.key(9), len(jax.tree.leaves(params))))
    return jax.tree.map(lambda x: x + jax.random.normal(next(keys), x.shape), params)


@functools.cache
def estimates(method):
    """jit(cv_params, key) -> NUM_ESTIMATES gradient estimates, compiled once per method."""

    def one(cv_params, key):
        est = rx.gradient_estimate(
            f, DIST, key, method=method, num_samples=NUM_SAMPLES, cv_params=cv_params
        )
        return est.grad.logits

    return jax.jit(
        lambda cv_params, key: jax.vmap(one, (None, 0))(
            cv_params, jax.random.split(key, NUM_ESTIMATES)
        )
    )


EXACT_VALUE, EXACT_GRAD = enumerate_exact(f, DIST)


@pytest.mark.parametrize("params", ["initial", "random"])
@pytest.mark.parametrize("method", METHODS)
def test_unbiased_against_enumeration(method, params):
    cv_params = init(method) if params == "initial" else random_params(method)
    grads = estimates(method)(cv_params, jax.random.key(0))
    assert_unbiased(grads, EXACT_GRAD, label=f"{method} ({params} parameters)")


@pytest.mark.parametrize("method", METHODS)
def test_initial_parameters_are_rloo_and_the_value_is_the_mean_of_f(method):
    # α = 0 (and β = 0): every control variate vanishes, to rounding.
    key = jax.random.key(3)

    @jax.jit
    def both(key):
        return tuple(
            rx.gradient_estimate(f, DIST, key, method=m, num_samples=4) for m in (method, "rloo")
        )

    est, rloo = both(key)
    np.testing.assert_allclose(est.grad.logits, rloo.grad.logits, rtol=1e-5, atol=1e-7)
    samples = jax.vmap(DIST.sample)(jax.random.split(key, 4))
    np.testing.assert_allclose(est.value, jnp.mean(jax.vmap(f)(samples)), rtol=1e-6)


def _train(method, steps):
    optimizer = optax.adam(3e-2)

    @jax.jit
    def step(carry, key):
        cv_params, state = carry
        _, cv_grad = rx.variance_gradient(
            f, DIST, key, method=method, cv_params=cv_params, num_samples=NUM_SAMPLES
        )
        updates, state = optimizer.update(cv_grad, state)
        return (optax.apply_updates(cv_params, updates), state), None

    cv_params = init(method)
    keys = jax.random.split(jax.random.key(11), steps)
    (cv_params, _), _ = jax.lax.scan(step, (cv_params, optimizer.init(cv_params)), keys)
    return cv_params


@pytest.mark.parametrize("method", METHODS)
def test_a_jitted_optax_step_trains_the_control_variate_and_lowers_the_variance(method):
    trained = _train(method, steps=300)
    key = jax.random.key(21)  # fresh keys, the same for both
    before = estimates(method)(init(method), key)
    after = estimates(method)(trained, key)
    # still unbiased after training, with less variance than RLOO (= the initial point)
    assert_unbiased(after, EXACT_GRAD, label=f"{method} (trained)")
    total_before, total_after = np.var(before, 0).sum(), np.var(after, 0).sum()
    assert total_after < 0.8 * total_before, (total_before, total_after)


# -- refusals --------------------------------------------------------------------------------


@pytest.mark.parametrize("method", METHODS)
def test_integer_valued_families_are_refused(method):
    # f cannot be differentiated at integer indices: OneHotCategorical is the family to use.
    with pytest.raises(ValueError, match="does not support"):
        rx.gradient_estimate(
            lambda z: jnp.sum(z), rx.Categorical(jnp.zeros((2, 3))), jax.random.key(0),
            method=method, num_samples=4,
        )  # fmt: skip


@pytest.mark.parametrize("method", METHODS)
def test_a_cost_with_no_derivative_is_refused(method):
    table = jnp.arange(8.0)
    lookup = lambda b: table[jnp.dot(b, jnp.array([4.0, 2.0, 1.0])).astype(jnp.int32)]  # noqa: E731
    with pytest.raises(ValueError, match="differentiable f"):
        rx.gradient_estimate(lookup, DIST, jax.random.key(0), method=method, num_samples=4)


@pytest.mark.parametrize("method", METHODS)
def test_one_sample_is_refused(method):
    with pytest.raises(ValueError, match="num_samples"):
        rx.gradient_estimate(f, DIST, jax.random.key(0), method=method, num_samples=1)


@pytest.mark.parametrize("method", METHODS)
def test_malformed_parameters_are_refused(method):
    good = init(method)
    with pytest.raises(ValueError, match="cv_params"):
        rx.gradient_estimate(
            f, DIST, jax.random.key(0), method=method, num_samples=4, cv_params={"a": 1.0}
        )
    wrong_shape = {**good, "alpha": jnp.zeros(3)}
    with pytest.raises(ValueError, match=r"cv_params\['alpha'\]"):
        rx.gradient_estimate(
            f, DIST, jax.random.key(0), method=method, num_samples=4, cv_params=wrong_shape
        )


@pytest.mark.parametrize("method", METHODS)
def test_second_derivatives_are_refused(method):
    def grad_sum(logits):
        estimate = rx.expectation(f, rx.Bernoulli(logits), jax.random.key(0), method=method,
                                  num_samples=4)  # fmt: skip
        return estimate

    with pytest.raises(ValueError, match="order"):  # refused at trace time
        jax.make_jaxpr(jax.hessian(grad_sum))(LOGITS)


@pytest.mark.parametrize("method", METHODS)
def test_finite_at_extreme_logits(method):
    # logits ±50: a flipped neighbour has log-probability −50, μ is 0 or 1; nothing is NaN.
    dist = rx.Bernoulli(jnp.array([50.0, -50.0, 0.0]))
    params = random_params(method)
    grad = jax.jit(
        lambda key: (
            rx.gradient_estimate(
                f, dist, key, method=method, num_samples=4, cv_params=params
            ).grad.logits
        )
    )(jax.random.key(0))
    assert np.all(np.isfinite(grad)), grad


ONE_HOT = rx.OneHotCategorical(jnp.array([[0.3, -0.4, 0.8], [-0.6, 0.2, 0.1]]))
COSTS = jnp.array([[1.0, -1.5, 2.0], [0.5, 2.5, -1.0]])


def one_hot_cost(z):
    return jnp.sum(COSTS * z) + 3.0 * z[0, 1] * z[1, 2] - 2.0 * z[0, 0] * z[1, 0]


@pytest.mark.slow
@pytest.mark.parametrize("method", METHODS)
def test_one_hot_categorical_unbiased_at_random_parameters(method):
    # The categorical form (RODEO's neighbours: every other class of one element) with
    # α, β ≠ 0; at the initial parameters tests/test_discrete_unbiased.py covers it.
    extra = {"hidden": HIDDEN} if method == "rodeo" else {}
    params = getattr(rx, f"{method}_init")(ONE_HOT, jax.random.key(5), **extra)
    keys = iter(jax.random.split(jax.random.key(9), len(jax.tree.leaves(params))))
    params = jax.tree.map(lambda x: x + jax.random.normal(next(keys), x.shape), params)

    def one(key):
        return rx.gradient_estimate(
            one_hot_cost, ONE_HOT, key, method=method, num_samples=64, cv_params=params
        ).grad.logits

    grads = jax.jit(jax.vmap(one))(jax.random.split(jax.random.key(0), 16000))
    _, exact = enumerate_exact(one_hot_cost, ONE_HOT)
    assert_unbiased(grads, exact, label=f"{method} OneHotCategorical (random parameters)")
