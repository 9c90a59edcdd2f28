"""One control-variate mechanism for every estimator linear in f, each combination unbiased.

Gaussian problem: f(z) = Σ exp(a z) under N(μ, σ²) has E = Σ exp(aμ + a²σ²/2), so
∂/∂μ = a E and ∂/∂σ = a² σ E per coordinate (closed forms). Discrete problem: a Bernoulli
with f = Σ (b − t)² + Π b, exact gradient by enumeration.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import reparax as rx
from tests.stats import assert_unbiased

A = 0.5
LOC, SCALE = jnp.array([0.5, -0.3]), jnp.array([1.0, 0.7])
GAUSS = rx.Normal(LOC, SCALE)


def f_exp(z):
    return jnp.sum(jnp.exp(A * z))


def _exact_gaussian():
    each = np.exp(A * np.asarray(LOC) + A**2 * np.asarray(SCALE) ** 2 / 2)
    return A * each, A**2 * np.asarray(SCALE) * each


# rloo couples its samples, so its coefficient is fixed (optimal is refused: see below).
@pytest.mark.parametrize(
    "method,coefficient",
    [(m, c) for m in ("pathwise", "score_function", "measure_valued") for c in (1.0, "optimal")]
    + [("rloo", 1.0)],
)
def test_delta_method_control_variate_is_unbiased(method, coefficient):
    samples = rx.diagnostics.estimator_samples(
        f_exp,
        GAUSS,
        jax.random.key(11),
        method=method,
        num_estimates=3000,
        num_samples=64,
        control_variate=rx.control_variates.delta_method(f_exp),
        cv_coefficient=coefficient,
    )
    loc, scale = _exact_gaussian()
    assert_unbiased(samples.grad.loc, loc)
    assert_unbiased(samples.grad.scale, scale)
    assert_unbiased(samples.value, float(np.sum(np.exp(A * LOC + A**2 * SCALE**2 / 2))))


def test_the_control_variate_lowers_the_score_function_variance():
    def draws(**options):
        return rx.diagnostics.estimator_samples(
            f_exp,
            GAUSS,
            jax.random.key(3),
            method="score_function",
            num_estimates=2000,
            num_samples=8,
            **options,
        ).grad.loc

    plain = np.var(draws(), axis=0)
    with_cv = np.var(draws(control_variate=rx.control_variates.delta_method(f_exp)), axis=0)
    assert np.all(with_cv < 0.2 * plain)


TARGET = jnp.array([0.1, 0.9, 0.2])
BITS = rx.Bernoulli(jnp.array([0.4, -0.6, 0.9]))


def f_bits(b):
    return jnp.sum((b - TARGET) ** 2) + jnp.prod(b)


@pytest.mark.parametrize(
    "method,coefficient",
    [(m, c) for m in ("disarm", "arm", "indecater") for c in (1.0, "optimal")] + [("rloo", 1.0)],
)
def test_muprop_control_variate_is_unbiased_on_bits(method, coefficient):
    exact = jax.grad(lambda d: rx.exact(f_bits, d, jax.random.key(0)))(BITS).logits
    samples = rx.diagnostics.estimator_samples(
        f_bits,
        BITS,
        jax.random.key(5),
        method=method,
        num_estimates=4000,
        num_samples=16,
        control_variate=rx.control_variates.muprop(f_bits),
        cv_coefficient=coefficient,
    )
    assert_unbiased(samples.grad.logits, exact)


def test_optimal_coefficient_refuses_second_derivatives():
    def loss(d):
        return rx.expectation(
            f_exp,
            d,
            jax.random.key(0),
            method="score_function",
            num_samples=4,
            control_variate=rx.control_variates.delta_method(f_exp),
            cv_coefficient="optimal",
        )

    jax.jit(jax.grad(loss))(GAUSS)
    with pytest.raises(rx.DerivativeOrderError):  # raised while tracing: no need to run it
        jax.jit(jax.hessian(loss))(GAUSS)


def test_bad_control_variate_arguments():
    with pytest.raises(TypeError, match="ControlVariate"):
        rx.gradient_estimate(
            f_exp, GAUSS, jax.random.key(0), method="pathwise", control_variate=lambda z: z
        )
    with pytest.raises(ValueError, match="cv_coefficient"):
        rx.gradient_estimate(
            f_exp,
            GAUSS,
            jax.random.key(0),
            method="pathwise",
            control_variate=rx.control_variates.delta_method(f_exp),
            cv_coefficient="best",
        )
    with pytest.raises(ValueError, match="'optimal' needs an estimator whose samples"):
        rx.gradient_estimate(
            f_exp,
            GAUSS,
            jax.random.key(0),
            method="rloo",
            num_samples=4,
            control_variate=rx.control_variates.delta_method(f_exp),
            cv_coefficient="optimal",
        )
    with pytest.raises(ValueError, match="no finite mean or variance"):
        rx.gradient_estimate(
            jnp.tanh,
            rx.Cauchy(0.0, 1.0),
            jax.random.key(0),
            method="pathwise",
            control_variate=rx.control_variates.delta_method(jnp.tanh),
        )
    with pytest.raises(TypeError, match="has no option `control_variate`"):
        rx.gradient_estimate(
            f_bits,
            BITS,
            jax.random.key(0),
            method="gumbel_softmax",
            control_variate=rx.control_variates.muprop(f_bits),
        )


def test_moving_average_warmup_follows_the_first_values():
    ma = rx.control_variates.moving_average(decay=0.99, debias=False, warmup=True)
    state = ma.init()
    for value in (1.0, 1.0, 1.0):
        state = ma.update(state, value)
    # decays 0.1, 2/11, 3/12: m = 1 − 0.1·(2/11)·(3/12) after three updates of 1.
    np.testing.assert_allclose(ma.baseline(state), 1 - 0.1 * (2 / 11) * (3 / 12), rtol=1e-6)
    plain = rx.control_variates.moving_average(decay=0.99, debias=False)
    s = plain.init()
    for value in (1.0, 1.0, 1.0):
        s = plain.update(s, value)
    np.testing.assert_allclose(plain.baseline(s), 1 - 0.99**3, rtol=1e-5)
