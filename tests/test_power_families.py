"""Every unbiased method on every continuous and count family, one (method, family) per test,
against gradients of numerically integrated (scipy) or closed-form expectations, with power.

The cost is bounded with a derivative that decays (f = Σ a·tanh((z − m)/w); a cosine on the
circle for VonMises), so every estimator has finite variance even on heavy tails: Cauchy's
pathwise ∂/∂scale is ε·f'(z), infinite-variance for a cost whose derivative does not decay
(cos(tz) included), finite here. m and w are the 0.85-quantile and the 0.1–0.9 quantile range
of each element, off-centre so that scale and shape gradients are not near 0 (at the
1 − 1/e quantile, Weibull's concentration gradient vanishes).
"""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import scipy.integrate
import scipy.special as sp
import scipy.stats as st

import reparax as rx
from reparax import _registry
from tests.stats import assert_unbiased

# The whole module is the slow tier (about 15 minutes on 2 cores): `pytest -n 2 -m slow`.
pytestmark = pytest.mark.slow

NUM_ESTIMATES = 1000
# The built-in estimators (their sample sizes are tuned here; the toy one of conftest.py is
# covered by the contract suite).
# E[f] estimators (bound methods: tests/test_multisample.py).
UNBIASED = [e.name for e in _registry.BUILTIN if e.unbiased and e.objective == "expectation"]


def _kumaraswamy(a, b):
    pdf = lambda x: a * b * x ** (a - 1) * (1 - x**a) ** (b - 1)  # noqa: E731
    cdf = lambda x: 1 - (1 - x**a) ** b  # noqa: E731
    ppf = lambda q: (1 - (1 - q) ** (1 / b)) ** (1 / a)  # noqa: E731

    class Frozen:
        def expect(self, g, **kwargs):
            return scipy.integrate.quad(lambda x: g(x) * pdf(x), 0, 1, **kwargs)[0]

    frozen = Frozen()
    frozen.ppf, frozen.cdf = ppf, cdf
    return frozen


def _sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


# name: (constructor, parameters (two batch elements), scipy frozen distribution per element,
#        constructor keyword arguments that are not parameters)
FAMILIES = {
    "Laplace": (rx.Laplace, dict(loc=[0.3, -1.0], scale=[1.5, 0.4]), st.laplace, {}),
    "Logistic": (rx.Logistic, dict(loc=[0.3, -1.0], scale=[1.5, 0.4]), st.logistic, {}),
    "Gumbel": (rx.Gumbel, dict(loc=[0.3, -1.0], scale=[1.5, 0.4]), st.gumbel_r, {}),
    "Cauchy": (rx.Cauchy, dict(loc=[0.3, -1.0], scale=[1.5, 0.4]), st.cauchy, {}),
    "StudentT": (
        rx.StudentT,
        dict(df=[2.5, 4.0], loc=[0.3, -1.0], scale=[1.5, 0.4]),
        lambda df, loc, scale: st.t(df, loc, scale),
        {},
    ),
    "LogNormal": (
        rx.LogNormal,
        dict(loc=[0.3, -1.0], scale=[0.5, 0.2]),
        lambda loc, scale: st.lognorm(scale, scale=np.exp(loc)),
        {},
    ),
    "Exponential": (rx.Exponential, dict(rate=[2.0, 0.7]), lambda r: st.expon(scale=1 / r), {}),
    "Weibull": (
        rx.Weibull,
        dict(concentration=[1.7, 1.3], scale=[2.0, 0.5]),
        lambda c, scale: st.weibull_min(c, scale=scale),
        {},
    ),
    "Gamma": (
        rx.Gamma,
        dict(concentration=[2.5, 0.7], rate=[1.5, 2.0]),
        lambda c, r: st.gamma(c, scale=1 / r),
        {},
    ),
    "Beta": (rx.Beta, dict(concentration1=[2.5, 0.8], concentration0=[1.5, 3.0]), st.beta, {}),
    "Kumaraswamy": (
        rx.Kumaraswamy,
        dict(concentration1=[2.0, 0.9], concentration0=[3.0, 1.5]),
        _kumaraswamy,
        {},
    ),
    "VonMises": (
        rx.VonMises,
        dict(loc=[0.4, -2.5], concentration=[0.8, 2.0]),
        lambda loc, k: st.vonmises(k, loc=loc),
        {},
    ),
    "Poisson": (rx.Poisson, dict(rate=[3.0, 0.8]), st.poisson, {}),
    "Geometric": (
        rx.Geometric,
        dict(logits=[0.4, -1.0]),
        lambda lg: st.geom(_sigmoid(lg), loc=-1),
        {},
    ),
    "Binomial": (
        rx.Binomial,
        dict(logits=[0.4, -1.0]),
        lambda lg: st.binom(7, _sigmoid(lg)),
        {"total_count": 7},
    ),
}
A = np.array([1.0, -0.8])  # the cost's weight per batch element


def _frozen(name, params, i):
    _, _, ref, _ = FAMILIES[name]
    return ref(*(np.float64(v[i]) for v in params.values()))


def _element_cost(name, i):
    """(jnp cost of element i, numpy cost) with m, w fixed at the base parameters."""
    _, defaults, _, _ = FAMILIES[name]
    frozen = _frozen(name, defaults, i)
    if name == "VonMises":  # periodic: the circle's window does not matter
        m = float(defaults["loc"][i]) + 1.0
        return (lambda z: jnp.cos(z - m)), (lambda z: np.cos(z - m))
    m = float(frozen.ppf(0.85))
    w = max(float(frozen.ppf(0.9) - frozen.ppf(0.1)), 0.5)
    return (lambda z: jnp.tanh((z - m) / w)), (lambda z: np.tanh((z - m) / w))


def reference_gradient(name):
    """∂/∂θ of Σ_i a_i E[f_i(z_i)] by central differences of scipy's integrals/sums."""
    _, defaults, _, _ = FAMILIES[name]
    grads = {}
    for field, values in defaults.items():
        grads[field] = np.zeros(len(values))
        for i in range(len(values)):
            g = _element_cost(name, i)[1]
            h = 1e-4 * max(1.0, abs(values[i]))
            sides = []
            for sign in (1, -1):
                params = {k: list(v) for k, v in defaults.items()}
                params[field][i] = values[i] + sign * h
                frozen = _frozen(name, params, i)
                if hasattr(frozen, "pmf"):
                    sides.append(frozen.expect(g, maxcount=10000, tolerance=1e-13))
                else:
                    # scipy's Gumbel density overflows exp() far in its left tail, where it
                    # is 0 anyway: not an error of the reference.
                    with np.errstate(over="ignore"):
                        sides.append(frozen.expect(g, epsabs=1e-13, epsrel=1e-12, limit=400))
            grads[field][i] = A[i] * (sides[0] - sides[1]) / (2 * h)
    return grads


def cost(name):
    f0, f1 = _element_cost(name, 0)[0], _element_cost(name, 1)[0]
    a = jnp.asarray(A, jnp.float32)
    return lambda z: a[0] * f0(z[0]) + a[1] * f1(z[1])


# num_samples per estimate (1000 estimates each) that gives every coordinate power with a
# margin (5 stderr well under 5% of |exact|, so a gradient scaled by 1.05 fails)
SAMPLES = {"pathwise": 256, "score_function": 8192, "rloo": 8192, "measure_valued": 1024}
# (method, family) -> (num_samples, num_estimates) where the defaults fall short of power.
OVERRIDES = {("pathwise", "Cauchy"): (256, 2000), ("measure_valued", "Weibull"): (1024, 4000)}
# Found by this tier and not fixed yet, kept failing on purpose: none at present. (Weibull's
# score_function, rloo and measure_valued and Kumaraswamy's score_function and rloo were
# here, with non-finite shape gradients: a sample rounded onto z = 0, where the
# log-density is ±inf. Fixed by reparax/distributions/_noise.py.)
KNOWN_BUGS: set[tuple[str, str]] = set()


def _cases():
    for name, (family, defaults, _, extra) in FAMILIES.items():
        dist = family(**{k: jnp.asarray(v) for k, v in defaults.items()}, **extra)
        for method in rx.supported_methods(dist):
            if method in UNBIASED:
                marks = (
                    pytest.mark.xfail(
                        strict=True, reason="BUG: non-finite estimates of the shape gradient"
                    )
                    if (method, name) in KNOWN_BUGS
                    else ()
                )
                yield pytest.param(method, name, id=f"{method}-{name}", marks=marks)


@pytest.mark.parametrize("method,name", list(_cases()))
def test_unbiased_on_family(method, name):
    family, defaults, _, extra = FAMILIES[name]
    dist = family(**{k: jnp.asarray(v, jnp.float32) for k, v in defaults.items()}, **extra)
    est = rx.diagnostics.estimator_samples(
        cost(name),
        dist,
        jax.random.key(61),
        method=method,
        num_estimates=OVERRIDES.get((method, name), (0, NUM_ESTIMATES))[1],
        num_samples=OVERRIDES.get((method, name), (SAMPLES[method], 0))[0],
    )
    for field, exact in reference_gradient(name).items():
        if field == "df":  # |∂/∂df| ≈ 0.003–0.01: no feasible size has power (a known gap)
            continue
        assert_unbiased(getattr(est.grad, field), exact, label=f"{method} {name}.{field}")


# Dirichlet: f = Σ w z + v z², with E z = α/α₀ and E z² = α(α + 1)/(α₀(α₀ + 1)).
ALPHA = jnp.array([[0.7, 2.0, 1.3], [5.0, 0.8, 1.0]])
W = jnp.array([[1.0, -2.0, 0.5], [0.2, 0.0, -1.0]])
V = jnp.array([[0.3, 1.0, -0.4], [-0.5, 0.7, 0.1]])
DIRICHLET_SAMPLES = {"pathwise": 256, "score_function": 4096, "rloo": 4096}


def _dirichlet_exact(alpha):
    total = jnp.sum(alpha, axis=-1, keepdims=True)
    first = alpha / total
    second = alpha * (alpha + 1) / (total * (total + 1))
    return jnp.sum(W * first + V * second)


@pytest.mark.parametrize(
    "method", [m for m in rx.supported_methods(rx.Dirichlet(ALPHA)) if m in UNBIASED]
)
def test_unbiased_on_dirichlet(method):
    est = rx.diagnostics.estimator_samples(
        lambda z: jnp.sum(W * z + V * z**2),
        rx.Dirichlet(ALPHA),
        jax.random.key(62),
        method=method,
        num_estimates=NUM_ESTIMATES,
        num_samples=DIRICHLET_SAMPLES[method],
    )
    exact = jax.grad(_dirichlet_exact)(ALPHA)
    # One coordinate is near 0 (∂/∂α = −0.0027, against up to ~0.3 elsewhere): an absolute
    # resolution of 0.001 is stated for it (within the helper's limit of 5% of max |exact|).
    assert_unbiased(est.grad.concentration, exact, floor=1e-3, label=method)


def test_von_mises_reference_is_the_closed_form():
    # The quadrature reference against E[cos(z − m)] = A(κ) cos(loc − m), A = I₁/I₀.
    grads = reference_gradient("VonMises")
    loc = np.array(FAMILIES["VonMises"][1]["loc"])
    kappa = np.array(FAMILIES["VonMises"][1]["concentration"])
    m = loc + 1.0
    ratio = sp.i1e(kappa) / sp.i0e(kappa)
    d_ratio = 1 - ratio / kappa - ratio**2  # A'(κ)
    np.testing.assert_allclose(grads["loc"], -A * ratio * np.sin(loc - m), rtol=1e-5)
    np.testing.assert_allclose(grads["concentration"], A * d_ratio * np.cos(loc - m), rtol=1e-5)
