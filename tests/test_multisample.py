"""Multi-sample bounds (``rx.multisample_bound``): vimco, iwae, dreg, stl.

Exact references: enumeration of all K-tuples for discrete q (∇L_K by ``jax.grad`` of the
enumerated sum); for the Gaussian model p(z) = N(θ, 1), p(x | z) = N(z, 1), q = N(μ, σ), the
ELBO in closed form and L_2 by two-dimensional Gauss–Hermite quadrature, differentiated with
``jax.grad``. Every estimate is checked for both q's parameters and the model's θ.
"""

from __future__ import annotations

import itertools
import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import reparax as rx
from tests.stats import assert_unbiased

KEY = jax.random.key(0)


def _estimates(loss, params, num):
    """(values, grads) of ``loss(params, key)`` over ``num`` keys: one jit-compiled vmap."""
    keys = jax.random.split(jax.random.key(42), num)
    run = jax.jit(jax.vmap(jax.value_and_grad(loss), (None, 0)))
    return run(params, keys)


def _check(loss, exact, params, num, label):
    values, grads = _estimates(loss, params, num)
    exact_value, exact_grads = jax.value_and_grad(exact)(params)
    for name in sorted(params):
        assert_unbiased(grads[name], exact_grads[name], label=f"{label} ∂{name}")
    return values, exact_value


# -- discrete q: vimco against enumeration of all K-tuples ------------------------------------
def _enumerated_bound(outcomes, log_q, log_weight, num_samples):
    """L_K = Σ over K-tuples of Π_k q(z_k) · log (1/K) Σ_k w(z_k), exactly."""
    index = jnp.array(list(itertools.product(range(len(outcomes)), repeat=num_samples)))
    lq, lw = log_q(outcomes), log_weight(outcomes)
    mean_log = jax.nn.logsumexp(lw[index], axis=1) - math.log(num_samples)
    return jnp.sum(jnp.exp(jnp.sum(lq[index], axis=1)) * mean_log)


BITS = jnp.array(list(itertools.product([0.0, 1.0], repeat=2)))
SCALE = jnp.array([1.0, 2.0])


def _bernoulli_log_joint(theta):
    # prior Bernoulli(σ(θ)) on each bit, likelihood N(1.3; b·(1, 2), 1) up to a constant
    return lambda b: jnp.sum(b * theta - jax.nn.softplus(theta)) - 0.5 * (1.3 - b @ SCALE) ** 2


TABLE = jnp.array([0.4, -1.1, 0.9])


def _categorical_log_joint(theta):
    return lambda z: jax.nn.log_softmax(theta)[z] + TABLE[z]


# Parameters chosen for power: 2¹⁶ estimates resolve a 5% bias at every coordinate.
DISCRETE = {
    "bernoulli": (
        rx.Bernoulli,
        _bernoulli_log_joint,
        BITS,
        {"phi": jnp.array([0.3, -0.8]), "theta": jnp.array([-1.5, 1.5])},
    ),
    "categorical": (
        rx.Categorical,
        _categorical_log_joint,
        jnp.arange(3),
        {"phi": jnp.array([1.0, -0.5, 0.0]), "theta": jnp.array([-1.0, 1.5, -0.5])},
    ),
}


@pytest.mark.parametrize("family", list(DISCRETE))
def test_vimco_is_unbiased_for_the_bound_and_its_gradient_against_enumeration(family):
    make, log_joint, outcomes, params = DISCRETE[family]
    num_samples = 3

    def loss(p, key):
        return rx.multisample_bound(
            log_joint(p["theta"]), make(p["phi"]), key, method="vimco", num_samples=num_samples
        )

    def exact(p):
        q = make(p["phi"])
        log_q = jax.vmap(q.joint_log_prob)
        log_weight = lambda z: jax.vmap(log_joint(p["theta"]))(z) - log_q(z)  # noqa: E731
        return _enumerated_bound(outcomes, log_q, log_weight, num_samples)

    values, exact_value = _check(loss, exact, params, 2**16, f"vimco-{family}")
    assert_unbiased(values[:, None], exact_value, label=f"vimco-{family} value")


# -- Gaussian model: closed-form ELBO, Gauss–Hermite L_2 ----------------------------------------
X = 1.5
# Two points of (μ, σ, θ), each chosen so that 5 standard errors resolve a 5% bias with at
# most 2¹⁸ estimates: one for the ELBO (K = 1) tests, one for the two-sample bound.
ELBO_POINT = {"mu": jnp.array(-1.0), "sigma": jnp.array(1.5), "theta": jnp.array(1.0)}
GAUSS = {"mu": jnp.array(-0.5), "sigma": jnp.array(0.5), "theta": jnp.array(0.5)}


def _gaussian_log_joint(theta):
    # log N(z; θ, 1) + log N(x; z, 1)
    return lambda z: -0.5 * (z - theta) ** 2 - 0.5 * (X - z) ** 2 - math.log(2 * math.pi)


def _gaussian_bound(method, num_samples):
    def loss(p, key):
        q = rx.Normal(p["mu"], p["sigma"])
        return rx.multisample_bound(
            _gaussian_log_joint(p["theta"]), q, key, method=method, num_samples=num_samples
        )

    return loss


def _elbo(p):
    """L_1 = E_q[log p(x, z)] + H(q) in closed form."""
    mu, sigma, theta = p["mu"], p["sigma"], p["theta"]
    expected_log_joint = (
        -0.5 * ((mu - theta) ** 2 + sigma**2) - 0.5 * ((X - mu) ** 2 + sigma**2)
    ) - math.log(2 * math.pi)
    return expected_log_joint + 0.5 * jnp.log(2 * math.pi * math.e * sigma**2)


NODES, HERMITE_WEIGHTS = np.polynomial.hermite.hermgauss(60)


def _l2_quadrature(p):
    """L_2 = E[log ½(w(z₁) + w(z₂))] by a 60 × 60 Gauss–Hermite grid (differentiable)."""
    mu, sigma = p["mu"], p["sigma"]
    z = mu + math.sqrt(2.0) * sigma * jnp.asarray(NODES)
    log_w = _gaussian_log_joint(p["theta"])(z) - rx.Normal(mu, sigma).log_prob(z)
    pairs = jnp.logaddexp(log_w[:, None], log_w[None, :]) - math.log(2.0)
    weights = jnp.asarray(HERMITE_WEIGHTS) / math.sqrt(math.pi)
    return jnp.sum(weights[:, None] * weights[None, :] * pairs)


def test_the_quadrature_reference_is_accurate():
    # At K = 2 with w constant (q the posterior) L_2 = L_1 = log p(x); and the grid agrees
    # with the closed-form ELBO's structure: L_1 ≤ L_2 ≤ log p(x) = log N(x; θ, 2).
    log_evidence = -0.5 * (X - GAUSS["theta"]) ** 2 / 2 - 0.5 * math.log(2 * math.pi * 2)
    posterior = {"mu": (GAUSS["theta"] + X) / 2, "sigma": jnp.sqrt(0.5), "theta": GAUSS["theta"]}
    np.testing.assert_allclose(_l2_quadrature(posterior), log_evidence, rtol=1e-5)
    assert float(_elbo(GAUSS)) < float(_l2_quadrature(GAUSS)) < log_evidence


@pytest.mark.parametrize(
    "method,num_samples,num_estimates",
    [("stl", 4, 2**16), ("iwae", 1, 2**17)],
)
def test_single_sample_elbo_gradients_against_the_closed_form(method, num_samples, num_estimates):
    # stl with N = 4 averages four single-sample ELBOs: it estimates L_1 (not L_4).
    loss = _gaussian_bound(method, num_samples)
    values, exact_value = _check(loss, _elbo, ELBO_POINT, num_estimates, f"{method}-elbo")
    assert_unbiased(values[:, None], exact_value, label=f"{method} value")


@pytest.mark.parametrize(
    "method,num_estimates", [("iwae", 2**15), ("dreg", 2**16), ("vimco", 2**18)]
)
def test_two_sample_bound_gradients_against_quadrature(method, num_estimates):
    loss = _gaussian_bound(method, 2)
    values, exact_value = _check(loss, _l2_quadrature, GAUSS, num_estimates, f"{method}-L2")
    assert_unbiased(values[:, None], exact_value, label=f"{method} value")


def test_iwae_hessian_against_quadrature():
    # IWAE is the pathwise derivative of the Monte Carlo bound: unbiased at second order too
    # (max_order=None), for q's and the model's parameters and their cross terms.
    keys = jax.random.split(jax.random.key(3), 2**15)
    hessians = jax.jit(jax.vmap(jax.hessian(_gaussian_bound("iwae", 2)), (None, 0)))(GAUSS, keys)
    exact = jax.hessian(_l2_quadrature)(GAUSS)
    for a, b in itertools.combinations_with_replacement(sorted(GAUSS), 2):
        assert_unbiased(hessians[a][b], exact[a][b], label=f"iwae ∂²/∂{a}∂{b}")


def test_dreg_with_parameters_shared_by_q_and_the_model():
    # q = N(a, σ) and the prior N(a, 1) share `a`: the gradient in `a` is DReG's φ-part plus
    # IWAE's θ-part, unbiased for the total derivative of L_2.
    def loss(p, key):
        q = rx.Normal(p["a"], p["sigma"])
        return rx.multisample_bound(
            _gaussian_log_joint(p["a"]), q, key, method="dreg", num_samples=2
        )

    def exact(p):
        return _l2_quadrature({"mu": p["a"], "sigma": p["sigma"], "theta": p["a"]})

    params = {"a": jnp.array(-0.5), "sigma": jnp.array(0.5)}
    _check(loss, exact, params, 2**16, "dreg-shared")


# -- variance ------------------------------------------------------------------------------------
def test_stl_has_zero_variance_at_the_exact_posterior():
    # q = N((θ + x)/2, 1/2) is the posterior: log w = log p(x) for every z, so each sample's
    # q-gradient is exactly 0; IWAE's K = 1 (reparameterized ELBO) gradient is not.
    theta = GAUSS["theta"]
    posterior = {"mu": (theta + X) / 2, "sigma": jnp.sqrt(0.5), "theta": theta}
    _, stl = _estimates(_gaussian_bound("stl", 1), posterior, 256)
    _, iwae = _estimates(_gaussian_bound("iwae", 1), posterior, 256)
    for name in ("mu", "sigma"):
        np.testing.assert_allclose(stl[name], 0.0, atol=1e-5)
        assert float(np.std(iwae[name])) > 0.1
    assert float(np.std(stl["theta"])) > 0.1  # the model's gradient keeps its variance


def test_dreg_lowers_the_q_gradient_variance_of_iwae_at_k8():
    # Measured on this machine (4096 estimates): at q = N(0.2, 1.1) (posterior N(1, 0.71))
    # IWAE/DReG variance ratios of 46 (μ) and 85 (σ); near the posterior, q = N(0.8, 0.8),
    # about 1200 and 1800. DReG is not better everywhere: for a q narrower than the posterior
    # and off it, q = N(−0.5, 0.5), the ratios were 0.32 and 0.044 (a few weights dominate and
    # w̃² amplifies them). The assertion asks for a factor 10 at the first point; the model's
    # θ-gradient is the same estimator in both (ratio 1).
    point = {"mu": jnp.array(0.2), "sigma": jnp.array(1.1), "theta": jnp.array(0.5)}
    variances = {}
    for method in ("iwae", "dreg"):
        _, grads = _estimates(_gaussian_bound(method, 8), point, 4096)
        variances[method] = np.array([np.var(grads[n]) for n in ("mu", "sigma", "theta")])
    ratio = variances["iwae"] / variances["dreg"]
    print(f"IWAE/DReG gradient variance at K=8 (mu, sigma, theta): {ratio}")
    assert np.all(ratio[:2] > 10.0), ratio
    np.testing.assert_allclose(ratio[2], 1.0, rtol=1e-4)


# -- equalities -----------------------------------------------------------------------------------
def test_vimco_at_one_sample_is_reinforce_on_the_log_weight():
    make, log_joint, _, params = DISCRETE["bernoulli"]

    def vimco(p, key):
        return rx.multisample_bound(
            log_joint(p["theta"]), make(p["phi"]), key, method="vimco", num_samples=1
        )

    def reinforce(p, key):
        q = make(p["phi"])
        log_w = lambda b: log_joint(p["theta"])(b) - q.joint_log_prob(b)  # noqa: E731
        return rx.score_function(log_w, q, key, num_samples=1)

    got, want = _estimates(vimco, params, 64), _estimates(reinforce, params, 64)
    jax.tree.map(lambda a, b: np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6), got, want)


@pytest.mark.parametrize(
    "method",
    ["dreg", pytest.param("vimco", marks=pytest.mark.slow)],  # same mechanism
)
def test_plates_are_a_vmap_of_per_element_bounds(method):
    # Three data points x_b, each with its own q_b = N(μ_b, σ_b) and its own K-sample bound.
    xs = jnp.array([0.5, 1.5, -1.0])
    params = {"mu": jnp.array([0.1, 0.7, -0.4]), "sigma": jnp.array([0.8, 1.2, 0.6]), "t": 0.3}

    def log_joint_all(t):
        return lambda z: -0.5 * (z - t) ** 2 - 0.5 * (xs - z) ** 2

    def plated(p):
        q = rx.Normal(p["mu"], p["sigma"])
        return rx.multisample_bound(
            log_joint_all(p["t"]), q, KEY, method=method, num_samples=4, plates=1
        )

    def by_hand(p):
        def one(mu, sigma, x, key):
            log_joint = lambda z: -0.5 * (z - p["t"]) ** 2 - 0.5 * (x - z) ** 2  # noqa: E731
            q = rx.Normal(mu, sigma)
            return rx.multisample_bound(log_joint, q, key, method=method, num_samples=4)

        keys = jax.random.split(KEY, 3)
        return jnp.sum(jax.vmap(one)(p["mu"], p["sigma"], xs, keys))

    got = jax.jit(jax.value_and_grad(plated))(params)
    want = jax.jit(jax.value_and_grad(by_hand))(params)
    jax.tree.map(lambda a, b: np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6), got, want)


# -- errors ------------------------------------------------------------------------------------
def _normal_problem():
    return _gaussian_log_joint(0.5), rx.Normal(0.0, 1.0)


def test_the_expectation_entry_points_refuse_bound_methods():
    log_joint, q = _normal_problem()
    for entry in (rx.expectation, rx.gradient_estimate):
        with pytest.raises(ValueError, match="rx.multisample_bound"):
            entry(log_joint, q, KEY, method="iwae", num_samples=2)
    assert rx.resolve_method("auto", q, 4).objective == "expectation"
    assert "iwae" not in rx.supported_methods(q)
    assert rx.supported_methods(q, objective="bound") == ["vimco", "iwae", "dreg", "stl"]


def test_multisample_bound_refuses_expectation_methods_auto_and_bad_input():
    log_joint, q = _normal_problem()
    with pytest.raises(ValueError, match="vimco, iwae, dreg, stl"):
        rx.multisample_bound(log_joint, q, KEY, method="pathwise", num_samples=2)
    with pytest.raises(ValueError, match="no method='auto'"):
        rx.multisample_bound(log_joint, q, KEY, method="auto", num_samples=2)
    with pytest.raises(ValueError, match="`log_joint` must map one sample"):
        rx.multisample_bound(lambda z: jnp.stack([z, z]), q, KEY, num_samples=2)
    with pytest.raises(ValueError, match="Bound methods that support it: vimco"):
        rx.multisample_bound(lambda b: jnp.sum(b), rx.Bernoulli(jnp.zeros(2)), KEY, num_samples=2)
    with pytest.raises(ValueError, match="num_samples"):
        rx.multisample_bound(log_joint, q, KEY, method="iwae", num_samples=0)
    flat = lambda z: jnp.where(z > 0, 0.0, -1.0)  # noqa: E731
    with pytest.raises(ValueError, match="non-differentiable f: vimco.$"):
        rx.multisample_bound(flat, q, KEY, method="dreg", num_samples=2)


@pytest.mark.parametrize("method", ["vimco", "dreg", "stl"])
def test_second_derivatives_are_refused(method):
    loss = _gaussian_bound(method, 2)
    with pytest.raises(rx.DerivativeOrderError):
        jax.jit(jax.hessian(loss))(GAUSS, KEY)  # refused while tracing


def test_the_methods_table_marks_bound_methods():
    table = rx.methods_table()
    for name in ("vimco", "iwae", "dreg", "stl"):
        assert f"`{name}` (bound: `rx.multisample_bound`)" in table


def test_dreg_at_one_sample_is_stl():
    # K = 1: w̃ = 1, so DReG's q-gradient is the path derivative and its θ-gradient STL's.
    got = jax.jit(jax.grad(_gaussian_bound("dreg", 1)))(GAUSS, KEY)
    want = jax.jit(jax.grad(_gaussian_bound("stl", 1)))(GAUSS, KEY)
    jax.tree.map(lambda a, b: np.testing.assert_allclose(a, b, rtol=1e-6), got, want)


@pytest.mark.parametrize(
    "method",
    ["dreg", pytest.param("vimco", marks=pytest.mark.slow)],  # map_samples: chunking
)
def test_chunks_with_a_remainder_equal_the_unchunked_bound(method):
    loss = _gaussian_bound(method, 7)

    def chunked(p, key):
        q = rx.Normal(p["mu"], p["sigma"])
        return rx.multisample_bound(
            _gaussian_log_joint(p["theta"]), q, key, method=method, num_samples=7, chunk_size=3
        )

    got = jax.jit(jax.value_and_grad(chunked))(GAUSS, KEY)
    want = jax.jit(jax.value_and_grad(loss))(GAUSS, KEY)
    jax.tree.map(lambda a, b: np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6), got, want)


def test_extreme_weights_and_logits_stay_finite():
    # log w ≈ ±1000 (exp overflows float32) and Bernoulli logits ±50: log space throughout.
    q = rx.Normal(jnp.array([0.0, 1.0]), jnp.array([1.0, 0.1]))
    bits = rx.Bernoulli(jnp.array([50.0, -50.0, 0.0]))

    @jax.jit
    def everything(shift):
        out = [
            rx.multisample_bound_estimate(
                lambda z: shift - jnp.sum(z**2), q, KEY, method=method, num_samples=4
            )
            for method in ("iwae", "dreg", "stl", "vimco")
        ]
        return out + [
            rx.multisample_bound_estimate(
                lambda b: shift * jnp.sum(b), bits, KEY, method="vimco", num_samples=4
            )
        ]

    for leaf in jax.tree.leaves(jax.vmap(everything)(jnp.array([1000.0, -1000.0]))):
        assert bool(jnp.all(jnp.isfinite(leaf)))


def test_a_joint_site_refuses_a_bound_method():
    joint = rx.Joint({"z": rx.Normal(0.0, 1.0)})
    with pytest.raises(ValueError, match="rx.multisample_bound"):
        rx.expectation(lambda s: s["z"] ** 2, joint, KEY, method={"z": "iwae"}, num_samples=2)


def test_an_estimator_objective_is_checked():
    common = dict(fn=lambda *a, **k: 0.0, unbiased=True, differentiable_f=True, evaluations="1")
    with pytest.raises(ValueError, match="objective"):
        rx.Estimator(name="x", references=(), objective="bogus", **common)
    with pytest.raises(ValueError, match="auto_rank"):
        rx.Estimator(name="x", references=(), objective="bound", auto_rank=5, **common)
