"""Continuous and count families: densities and moments against scipy, every supported
method unbiased against closed forms, implicit derivatives against finite differences of the
inverse CDF, and edge numerics."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import scipy.integrate
import scipy.special as sp
import scipy.stats as st
from jax.scipy.special import i0e as sp_i0e
from jax.scipy.special import i1e as sp_i1e

import reparax as rx
from tests.stats import assert_unbiased

KEY = jax.random.key(51)


def _p(logits):
    return 1.0 / (1.0 + np.exp(-logits))


# name: (constructor, parameters (two batch elements), scipy frozen distribution per element)
FAMILIES = {
    "Laplace": (
        rx.Laplace,
        dict(loc=[0.3, -1.0], scale=[1.5, 0.4]),
        lambda loc, scale: st.laplace(loc, scale),
    ),
    "Logistic": (
        rx.Logistic,
        dict(loc=[0.3, -1.0], scale=[1.5, 0.4]),
        lambda loc, scale: st.logistic(loc, scale),
    ),
    "Gumbel": (
        rx.Gumbel,
        dict(loc=[0.3, -1.0], scale=[1.5, 0.4]),
        lambda loc, scale: st.gumbel_r(loc, scale),
    ),
    "LogNormal": (
        rx.LogNormal,
        dict(loc=[0.3, -1.0], scale=[0.5, 0.2]),
        lambda loc, scale: st.lognorm(scale, scale=np.exp(loc)),
    ),
    "Exponential": (rx.Exponential, dict(rate=[2.0, 0.7]), lambda rate: st.expon(scale=1 / rate)),
    # concentration ≥ 1.3 keeps the score's distribution light-tailed enough for a z-test
    "Weibull": (
        rx.Weibull,
        dict(concentration=[1.7, 1.3], scale=[2.0, 0.5]),
        lambda concentration, scale: st.weibull_min(concentration, scale=scale),
    ),
    "Uniform": (
        rx.Uniform,
        dict(low=[-1.0, 0.5], high=[2.0, 0.9]),
        lambda low, high: st.uniform(low, high - low),
    ),
    "Kumaraswamy": (
        rx.Kumaraswamy,
        dict(concentration1=[2.0, 0.7], concentration0=[3.0, 1.5]),
        None,
    ),
    "Gamma": (
        rx.Gamma,
        dict(concentration=[2.5, 0.4], rate=[1.5, 2.0]),
        lambda concentration, rate: st.gamma(concentration, scale=1 / rate),
    ),
    "Beta": (
        rx.Beta,
        dict(concentration1=[2.5, 0.6], concentration0=[1.5, 3.0]),
        lambda concentration1, concentration0: st.beta(concentration1, concentration0),
    ),
    # df > 8: the estimator of ∂/∂df of E[z²] then has finite fourth moments, so the
    # z-test's standard error is reliable (df from 0.5 up is checked for finiteness below)
    "StudentT": (
        rx.StudentT,
        dict(df=[12.0, 20.0], loc=[0.3, -1.0], scale=[1.5, 0.4]),
        lambda df, loc, scale: st.t(df, loc, scale),
    ),
    "TruncatedNormal": (
        # (a one-sided tail window; the far tail, 8 scales out, is tested on its own below)
        rx.TruncatedNormal,
        dict(loc=[0.3, 0.0], scale=[1.5, 1.0], low=[-1.0, 1.5], high=[2.0, 4.0]),
        lambda loc, scale, low, high: st.truncnorm(
            (low - loc) / scale, (high - loc) / scale, loc, scale
        ),
    ),
    "Poisson": (rx.Poisson, dict(rate=[3.0, 0.5]), lambda rate: st.poisson(rate)),
    "Geometric": (
        rx.Geometric,
        dict(logits=[0.4, -1.0]),
        lambda logits: st.geom(_p(logits), loc=-1),
    ),
}


def build(name, params=None):
    family, defaults, _ = FAMILIES[name]
    params = params or {k: jnp.asarray(v) for k, v in defaults.items()}
    return family(**params)


def scipy_reference(name, index):
    _, defaults, ref = FAMILIES[name]
    return ref(**{k: np.float64(v[index]) for k, v in defaults.items()})


@pytest.mark.parametrize("name", [n for n in FAMILIES if FAMILIES[n][2] is not None])
def test_density_and_moments_match_scipy(name):
    dist = build(name)
    samples = dist.sample(KEY, (6,))
    for i in range(2):
        ref = scipy_reference(name, i)
        x = np.asarray(samples[:, i], np.float64)
        expected = ref.logpmf(x) if hasattr(ref, "logpmf") else ref.logpdf(x)
        np.testing.assert_allclose(dist.log_prob(samples)[:, i], expected, rtol=2e-5, atol=2e-5)
        np.testing.assert_allclose(dist.mean()[i], ref.mean(), rtol=1e-5)
        np.testing.assert_allclose(dist.variance()[i], ref.var(), rtol=1e-4)
        if hasattr(dist, "entropy") and not hasattr(ref, "logpmf"):
            np.testing.assert_allclose(dist.entropy()[i], ref.entropy(), rtol=1e-4, atol=1e-5)
        if hasattr(dist, "cdf") and not hasattr(ref, "logpmf"):
            np.testing.assert_allclose(dist.cdf(samples)[:, i], ref.cdf(x), rtol=1e-4, atol=1e-6)


def test_geometric_entropy():
    dist = build("Geometric")
    for i in range(2):
        np.testing.assert_allclose(
            dist.entropy()[i], scipy_reference("Geometric", i).entropy(), rtol=1e-5
        )


def test_kumaraswamy_moments_by_quadrature():
    dist = build("Kumaraswamy")
    for i in range(2):
        a, b = (float(v[i]) for v in FAMILIES["Kumaraswamy"][1].values())
        pdf = lambda x, a=a, b=b: a * b * x ** (a - 1) * (1 - x**a) ** (b - 1)  # noqa: E731
        m1 = scipy.integrate.quad(lambda x, pdf=pdf: x * pdf(x), 0, 1)[0]
        m2 = scipy.integrate.quad(lambda x, pdf=pdf: x * x * pdf(x), 0, 1)[0]
        h = scipy.integrate.quad(lambda x, pdf=pdf: -pdf(x) * np.log(pdf(x)), 0, 1)[0]
        np.testing.assert_allclose(dist.mean()[i], m1, rtol=1e-5)
        np.testing.assert_allclose(dist.variance()[i], m2 - m1**2, rtol=1e-4)
        np.testing.assert_allclose(dist.entropy()[i], h, rtol=1e-4, atol=1e-5)


def _moment_problem(dist_fn):
    """f(z) = Σ (a z + b z²), E[f] = Σ a·mean + b·(variance + mean²) in closed form."""
    a, b = jnp.array([1.0, -0.7]), jnp.array([0.3, 0.5])

    def f(z):
        return jnp.sum(a * z + b * z**2)

    def exact(params):
        d = dist_fn(params)
        m, v = d.mean(), d.variance()
        return jnp.sum(a * m + b * (v + m**2))

    return f, exact


# Every (unbiased method, family) pair of the fixed-support families is tested with power in
# tests/test_power_families.py; the moving-support families (pathwise only) are here.
@pytest.mark.parametrize("name", ["Uniform", "TruncatedNormal"])
def test_moving_support_families_pathwise_unbiased(name):
    family, defaults, _ = FAMILIES[name]
    params = {k: jnp.asarray(v) for k, v in defaults.items()}
    f, exact = _moment_problem(lambda p: family(**p))
    exact_grad = jax.grad(exact)(params)
    assert rx.supported_methods(family(**params)) == ["pathwise"]
    est = rx.diagnostics.estimator_samples(
        f, family(**params), KEY, method="pathwise", num_estimates=4000, num_samples=256
    )
    for field, expected in exact_grad.items():
        assert_unbiased(getattr(est.grad, field), expected, label=f"pathwise {name}.{field}")


# -- implicit reparameterization ------------------------------------------------------------


def _sample_derivative(make, param, key):
    """dz/dθ of one reparameterized draw (fixed key), by forward mode."""
    return jax.jvp(lambda p: make(p).rsample(key), (param,), (jnp.ones_like(param),))


@pytest.mark.parametrize("alpha", [0.05, 0.7, 3.0, 40.0])
def test_gamma_implicit_derivative_matches_inverse_cdf(alpha):
    # z = F⁻¹(u; α) at the u of our draw: dz/dα by central differences of scipy's gammaincinv.
    for i in range(5):
        key = jax.random.fold_in(KEY, i)
        z, dz = _sample_derivative(lambda a: rx.Gamma(a, 1.0), jnp.asarray(alpha), key)
        u = sp.gammainc(alpha, float(z))
        if not 1e-6 < u < 1 - 1e-6:
            continue
        h = 1e-5 * alpha
        fd = (sp.gammaincinv(alpha + h, u) - sp.gammaincinv(alpha - h, u)) / (2 * h)
        np.testing.assert_allclose(dz, fd, rtol=2e-3, atol=1e-6)


# Beta, Dirichlet and StudentT are differentiated through their Gamma draws (Figurnov et al.
# 2018, §3), a different (equally valid) transport map from the inverse CDF, so their
# per-sample derivatives are not those of F⁻¹; their pathwise gradients are checked for
# unbiasedness above instead.


@pytest.mark.parametrize("kappa", [0.3, 4.0, 45.0, 200.0])
def test_von_mises_implicit_derivative_matches_inverse_cdf(kappa):
    # VonMises(0, κ) is implicit in κ: dε/dκ against central differences of scipy's ppf at
    # fixed u (scipy's support for loc = 0 is [−π, π], like ours).
    for i in range(5):
        key = jax.random.fold_in(KEY, i)
        eps, deps = _sample_derivative(lambda k: rx.VonMises(0.0, k), jnp.asarray(kappa), key)
        u = st.vonmises.cdf(float(eps), kappa)
        h = 1e-4 * kappa
        fd = (st.vonmises.ppf(u, kappa + h) - st.vonmises.ppf(u, kappa - h)) / (2 * h)
        np.testing.assert_allclose(deps, fd, rtol=5e-3, atol=2e-5)


@pytest.mark.slow  # eager calls at five concentrations; tests/test_adversarial.py covers 1e-4…1e4
def test_von_mises_edges_are_finite():
    # (unbiasedness of every method on VonMises: tests/test_power_families.py)
    a, b = jnp.array([1.0, -0.5]), jnp.array([0.7, 2.0])
    f = lambda z: jnp.sum(a * jnp.cos(z) + b * jnp.sin(z))  # noqa: E731
    for kappa in (1e-4, 1e-2, 1.0, 1e2, 1e4):
        est = rx.gradient_estimate(
            f,
            rx.VonMises(jnp.array([0.1, 3.0]), jnp.full(2, kappa)),
            KEY,
            method="pathwise",
            num_samples=64,
        )
        assert all(bool(jnp.all(jnp.isfinite(x))) for x in jax.tree.leaves(est.grad))


def test_generic_mechanism_agrees_with_gamma_primitive():
    # rx.distributions.implicit_rsample uses only sample/cdf/log_prob: −∂αF/p through
    # jax.scipy.special.gammainc; Gamma.rsample uses jax.random's own implicit gradient.
    dist = rx.Gamma(jnp.array([0.3, 2.0, 9.0]), jnp.array([1.0, 0.5, 3.0]))
    generic = jax.jacobian(lambda d: rx.distributions.implicit_rsample(d, KEY).sum())(dist)
    primitive = jax.jacobian(lambda d: d.rsample(KEY).sum())(dist)
    np.testing.assert_allclose(generic.concentration, primitive.concentration, rtol=2e-3)
    np.testing.assert_allclose(generic.rate, primitive.rate, rtol=1e-5)


def test_second_derivatives_for_explicit_families():
    # E[z] of a LogNormal = exp(μ + σ²/2): the Hessian of the pathwise estimate is unbiased.
    params = jnp.array([0.2, 0.4])

    def objective(p, key):
        return rx.expectation(
            lambda z: z, rx.LogNormal(p[0], p[1]), key, method="pathwise", num_samples=16
        )

    keys = jax.random.split(KEY, 20000)
    hessians = jax.jit(jax.vmap(jax.hessian(objective), in_axes=(None, 0)))(params, keys)
    exact = jax.hessian(lambda p: jnp.exp(p[0] + 0.5 * p[1] ** 2))(params)
    assert_unbiased(hessians, exact)


@pytest.mark.parametrize("family", ["Gamma", "VonMises"])
def test_second_derivatives_for_implicit_families(family):
    # Gamma(α, 1): E[z²] = α(α + 1), so d²/dα² = 2. VonMises(0, κ): E[cos z] = I₁/I₀(κ).
    if family == "Gamma":
        make, f, value = (lambda a: rx.Gamma(a, 1.0)), (lambda z: z**2), 1.5
        exact = 2.0
    else:
        make, f, value = (lambda k: rx.VonMises(0.0, k)), jnp.cos, 2.0
        exact = jax.hessian(lambda k: sp_i1e(k) / sp_i0e(k))(value)

    def objective(param, key):
        return rx.expectation(f, make(param), key, method="pathwise", num_samples=16)

    keys = jax.random.split(KEY, 8000)
    hessians = jax.jit(jax.vmap(jax.hessian(objective), in_axes=(None, 0)))(value, keys)
    assert_unbiased(hessians, exact)


# -- edge numerics and invalid parameters ---------------------------------------------------


@pytest.mark.parametrize(
    "make",
    [lambda c: rx.Gamma(c, 1.0), lambda c: rx.Beta(c, c), lambda c: rx.Beta(c, 1.0), rx.Dirichlet],
    ids=["Gamma", "Beta(c,c)", "Beta(c,1)", "Dirichlet"],
)
def test_tiny_and_huge_concentrations_give_finite_gradients(make):
    # one compilation, vmapped over concentrations 1e-3, 1e-2 and 1e4
    def grads(concentration):
        dist = make(jnp.full((3,), concentration))
        est = rx.gradient_estimate(
            lambda z: jnp.sum(jnp.sqrt(z + 1.0)), dist, KEY, method="pathwise", num_samples=16
        )
        return est.grad

    out = jax.jit(jax.vmap(grads))(jnp.array([1e-3, 1e-2, 1e4]))
    for leaf in jax.tree.leaves(out):
        assert bool(jnp.all(jnp.isfinite(leaf))), out


def test_student_t_df_range():
    def grads(df):
        est = rx.gradient_estimate(
            lambda z: jnp.tanh(z), rx.StudentT(df, 0.0, 1.0), KEY, method="pathwise", num_samples=64
        )
        return est.grad

    out = jax.jit(jax.vmap(grads))(jnp.array([0.5, 1.0, 2.0, 1e2, 1e4]))
    assert all(bool(jnp.all(jnp.isfinite(x))) for x in jax.tree.leaves(out))


def test_truncated_normal_far_in_the_tail():
    dist = rx.TruncatedNormal(0.0, 1.0, 8.0, 9.0)
    z = dist.sample(KEY, (2000,))
    assert bool(jnp.all((z >= 8.0) & (z <= 9.0)))
    ref = st.truncnorm(8.0, 9.0)
    np.testing.assert_allclose(float(z.mean()), ref.mean(), atol=5 * ref.std() / np.sqrt(2000))
    est = rx.gradient_estimate(lambda z: z, dist, KEY, method="pathwise", num_samples=64)
    assert all(bool(jnp.isfinite(x)) for x in jax.tree.leaves(est.grad))


@pytest.mark.parametrize(
    "make,match",
    [
        (lambda: rx.Gamma(-1.0, 1.0), "concentration"),
        (lambda: rx.Beta(1.0, 0.0), "concentration0"),
        (lambda: rx.Dirichlet(jnp.array([1.0, -0.5])), "concentration"),
        (lambda: rx.StudentT(1.0, 0.0, -2.0), "scale"),
        (lambda: rx.TruncatedNormal(0.0, 1.0, 2.0, 1.0), "low"),
        (lambda: rx.Uniform(1.0, 1.0), "low"),
        (lambda: rx.Uniform(0.0, 1.0), "fixed_support.*pathwise"),
        (lambda: rx.Exponential(0.0), "rate"),
        (lambda: rx.Weibull(1.0, -1.0), "scale"),
        (lambda: rx.Laplace(0.0, -1.0), "scale"),
        (lambda: rx.Poisson(-1.0), "rate"),
        (lambda: rx.VonMises(0.0, -1.0), "concentration"),
    ],
)
def test_invalid_parameters_raise(make, match):
    with pytest.raises(ValueError, match=match):
        rx.gradient_estimate(lambda z: jnp.sum(z), make(), KEY, method="score_function")
    if match != "fixed_support.*pathwise":
        with pytest.raises(ValueError, match=match):
            rx.gradient_estimate(lambda z: jnp.sum(z), make(), KEY, method="auto")


def _quantile_transform_derivative(u, loc, scale):
    """dz/dσ of z = μ + σ Φ⁻¹(Φ(α) + u(1 − Φ(α))), α = −μ/σ, at fixed u (window [0, ∞)):
    x − α φ(α)(1 − u)/φ(x) with x = (z − μ)/σ."""
    alpha = -loc / scale
    x = st.norm.ppf(st.norm.cdf(alpha) + u * st.norm.sf(alpha))
    return x - alpha * st.norm.pdf(alpha) * (1.0 - u) / st.norm.pdf(x)


def test_truncated_normal_one_sided_window_gradient_is_finite_and_exact():
    # issue 10: high = inf made d/dscale NaN (d/dσ of (inf − loc)/σ times a zero).
    dist = rx.TruncatedNormal(0.2, 1.1, 0.0, jnp.inf)
    u = jnp.linspace(0.01, 0.99, 25)
    jac = jax.vmap(jax.grad(lambda d, u: d.transform(u)), in_axes=(None, 0))(dist, u)
    np.testing.assert_allclose(
        jac.scale, _quantile_transform_derivative(np.asarray(u), 0.2, 1.1), rtol=2e-4
    )
    assert all(bool(jnp.all(jnp.isfinite(x))) for x in jax.tree.leaves(jac))
    # d/dσ E[z] in closed form: λ − αλ(λ − α), λ = φ(α)/(1 − Φ(α)), α = −μ/σ.
    alpha = -0.2 / 1.1
    mills = st.norm.pdf(alpha) / st.norm.sf(alpha)
    exact = mills - alpha * mills * (mills - alpha)
    assert abs(exact - 0.794) < 1e-3
    keys = jax.random.split(KEY, 20000)
    per_sample = jax.jit(
        jax.vmap(lambda k: rx.gradient_estimate(lambda z: z, dist, k, method="pathwise").grad.scale)
    )(keys)
    assert_unbiased(per_sample, exact)
    assert 5 * float(per_sample.std()) / np.sqrt(per_sample.size) < 0.05 * exact  # power


def test_truncated_normal_without_bounds_has_the_normal_gradient():
    dist = rx.TruncatedNormal(0.2, 1.1, -jnp.inf, jnp.inf)
    u = jnp.linspace(0.01, 0.99, 25)
    jac = jax.vmap(jax.grad(lambda d, u: d.transform(u)), in_axes=(None, 0))(dist, u)
    # the Normal's z = μ + σ Φ⁻¹(u): dz/dμ = 1, dz/dσ = Φ⁻¹(u); the bounds have no effect.
    np.testing.assert_allclose(jac.loc, 1.0, rtol=1e-5)
    np.testing.assert_allclose(jac.scale, st.norm.ppf(np.asarray(u)), rtol=1e-4, atol=1e-5)
    np.testing.assert_array_equal(jac.low, 0.0)
    np.testing.assert_array_equal(jac.high, 0.0)
    est = rx.gradient_estimate(lambda z: z**2, dist, KEY, method="pathwise", num_samples=64)
    assert all(bool(jnp.isfinite(x)) for x in jax.tree.leaves(est.grad))
    np.testing.assert_allclose(dist.mean(), 0.2, rtol=1e-6)
    np.testing.assert_allclose(dist.variance(), 1.21, rtol=1e-5)
