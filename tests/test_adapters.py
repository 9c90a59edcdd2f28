"""Adapters: NumPyro / TFP-on-JAX / distrax distributions, and the generic wrapper.

Conversions are checked against the source library itself: the reparax family built by
hand from the library's documented parameterization must equal the converted one, and the
log-densities must agree on the library's own samples. Unbiasedness goes through
``tests.stats.assert_unbiased`` with exact values from closed forms or from enumerating the
library's own probabilities (not reparax's).

TFP and distrax are optional: the released TFP (0.25) fails to import with recent jax (an
AttributeError, which ``pytest.importorskip`` would not catch), so their tests skip with
the import error as the reason. ``pip install distrax`` (which brings ``tfp-nightly``) runs
them.
"""

from __future__ import annotations

import importlib
import math
from types import ModuleType

import jax
import jax.numpy as jnp
import numpy as np
import numpyro.distributions as nd
import pytest
from jax.scipy.special import gammaln

import reparax as rx
from tests.stats import assert_unbiased


# The suite raises on implicit rank promotion (conftest.py); the libraries rely on it, so
# their own calls (and the wrapper tests, which call them inside estimators) allow it.
def library_broadcasting():
    return jax.numpy_rank_promotion("allow")


@pytest.fixture
def allow_rank_promotion():
    with library_broadcasting():
        yield


A = jnp.array([0.5, 1.5])
B = jnp.array([2.0, 0.7])
P = jnp.array([0.25, 0.6])
LOGITS = jnp.array([[0.1, -0.3, 0.5], [1.0, 0.0, -1.0]])
TRIL = jnp.array([[1.0, 0.0], [0.3, 0.8]])
CONC = jnp.array([[0.6, 1.2, 2.0], [3.0, 0.8, 1.1]])

# (library object, the reparax family written by hand from the library's documentation)
NUMPYRO_CASES = {
    "Normal": (nd.Normal(A, B), rx.Normal(A, B)),
    "Laplace": (nd.Laplace(A, B), rx.Laplace(A, B)),
    "Logistic": (nd.Logistic(A, B), rx.Logistic(A, B)),
    "Cauchy": (nd.Cauchy(A, B), rx.Cauchy(A, B)),
    "Gumbel": (nd.Gumbel(A, B), rx.Gumbel(A, B)),
    "LogNormal": (nd.LogNormal(A, B), rx.LogNormal(A, B)),
    "StudentT": (nd.StudentT(3.0, A, B), rx.StudentT(df=3.0, loc=A, scale=B)),
    "MultivariateNormal": (
        nd.MultivariateNormal(A, scale_tril=TRIL),
        rx.MultivariateNormalTriL(A, TRIL),
    ),
    "MultivariateNormal(cov)": (
        nd.MultivariateNormal(A, covariance_matrix=TRIL @ TRIL.T),
        rx.MultivariateNormalTriL(A, TRIL),
    ),
    "Gamma": (nd.Gamma(A, B), rx.Gamma(concentration=A, rate=B)),
    "Chi2": (nd.Chi2(B), rx.Gamma(concentration=B / 2, rate=0.5)),
    "Exponential": (nd.Exponential(B), rx.Exponential(rate=B)),
    "Beta": (nd.Beta(A, B), rx.Beta(concentration1=A, concentration0=B)),
    "Kumaraswamy": (nd.Kumaraswamy(A, B), rx.Kumaraswamy(concentration1=A, concentration0=B)),
    "Dirichlet": (nd.Dirichlet(CONC), rx.Dirichlet(CONC)),
    # numpyro.Weibull(scale, concentration): the order differs from reparax's.
    "Weibull": (nd.Weibull(A, B), rx.Weibull(concentration=B, scale=A)),
    "VonMises": (nd.VonMises(A, B), rx.VonMises(loc=A, concentration=B)),
    "Uniform": (nd.Uniform(A, A + B), rx.Uniform(A, A + B)),
    "TruncatedNormal": (
        nd.TruncatedNormal(A, B, low=0.0, high=2.0),
        rx.TruncatedNormal(A, B, 0.0, 2.0),
    ),
    "TruncatedNormal(low)": (
        nd.TruncatedNormal(A, B, low=0.0),
        rx.TruncatedNormal(A, B, 0.0, jnp.inf),
    ),
    "TruncatedNormal(high)": (
        nd.TruncatedNormal(A, B, high=1.0),
        rx.TruncatedNormal(A, B, -jnp.inf, 1.0),
    ),
    "Poisson": (nd.Poisson(B), rx.Poisson(B)),
    "Bernoulli(logits)": (nd.Bernoulli(logits=A), rx.Bernoulli(logits=A)),
    "Bernoulli(probs)": (nd.Bernoulli(probs=P), rx.Bernoulli(probs=P)),
    "Categorical(logits)": (nd.Categorical(logits=LOGITS), rx.Categorical(LOGITS)),
    "Categorical(probs)": (
        nd.Categorical(probs=jax.nn.softmax(LOGITS)),
        rx.Categorical(jax.nn.log_softmax(LOGITS)),
    ),
    # numpyro.Geometric counts the failures before the first success, as reparax does.
    "Geometric(logits)": (nd.Geometric(logits=A), rx.Geometric(logits=A)),
    "Geometric(probs)": (nd.Geometric(probs=P), rx.Geometric(probs=P)),
    "Binomial(probs)": (nd.Binomial(4, probs=P), rx.Binomial(probs=P, total_count=4)),
    "Binomial(logits)": (
        nd.Binomial(jnp.array([4, 4]), logits=0.3),
        rx.Binomial(logits=jnp.array([0.3, 0.3]), total_count=4),
    ),
}


def _check_library(cases, adapter) -> None:
    """Every case: the adapter gives the hand-built family (type, shapes, parameters), and its
    log-density equals the library's at three points of the support (one jit for all)."""
    for name, (source, expected) in cases.items():
        converted = adapter(source)
        assert type(converted) is type(expected), name
        assert converted.batch_shape == expected.batch_shape == tuple(source.batch_shape), name
        assert converted.event_shape == expected.event_shape == tuple(source.event_shape), name
        assert getattr(converted, "total_count", None) == getattr(expected, "total_count", None)
        for parameter, value in expected.parameters().items():
            got, want = np.broadcast_arrays(converted.parameters()[parameter], value)
            np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6, err_msg=name)

    @jax.jit
    def log_probs():
        pairs = {}
        for name, (source, expected) in cases.items():
            points = _points(expected)
            pairs[name] = (adapter(source).log_prob(points), source.log_prob(points))
        return pairs

    with library_broadcasting():
        pairs = log_probs()
    for name, (got, want) in pairs.items():
        np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-4, err_msg=name)


_REAL, _POSITIVE, _UNIT = [-0.3, 0.4, 1.7], [0.2, 0.9, 2.5], [0.1, 0.5, 0.8]
_SUPPORT_POINTS = {
    **dict.fromkeys(
        [rx.Normal, rx.Laplace, rx.Logistic, rx.Cauchy, rx.Gumbel, rx.StudentT, rx.VonMises],
        _REAL,
    ),
    **dict.fromkeys([rx.LogNormal, rx.Gamma, rx.Exponential, rx.Weibull], _POSITIVE),
    **dict.fromkeys([rx.Beta, rx.Kumaraswamy], _UNIT),
    **dict.fromkeys([rx.Poisson, rx.Geometric, rx.Binomial], [0.0, 1.0, 3.0]),
    rx.Bernoulli: [0.0, 1.0, 1.0],
}


def _points(dist: rx.Distribution) -> jax.Array:
    """Three points of each batch element's support (no sampling: nothing to compile)."""
    shape = (3, *dist.batch_shape)
    unit = jnp.array(_UNIT).reshape(3, *(1,) * len(dist.batch_shape))
    if type(dist) in _SUPPORT_POINTS:
        return jnp.broadcast_to(jnp.array(_SUPPORT_POINTS[type(dist)])[:, None], shape)
    if isinstance(dist, rx.Uniform):
        return jnp.broadcast_to(dist.low + (dist.high - dist.low) * unit, shape)
    if isinstance(dist, rx.TruncatedNormal):
        low, high = jnp.maximum(dist.low, -1.0), jnp.minimum(dist.high, 3.0)
        return jnp.broadcast_to(low + (high - low) * unit, shape)
    if isinstance(dist, rx.MultivariateNormalTriL):
        return jnp.array([_REAL, _POSITIVE, _UNIT])[:, :2]
    classes = jnp.broadcast_to(jnp.array([0, 2, 1])[:, None], shape)
    if isinstance(dist, rx.Categorical):
        return classes
    if isinstance(dist, rx.OneHotCategorical):
        return jax.nn.one_hot(classes, 3)
    if isinstance(dist, rx.Dirichlet):
        return jax.nn.softmax(jnp.arange(18.0).reshape(3, 2, 3) % 4, axis=-1)
    raise AssertionError(f"no support points for {type(dist).__name__}")


def test_numpyro_families_become_native():
    _check_library(NUMPYRO_CASES, rx.from_numpyro)
    assert rx.convert(NUMPYRO_CASES["Normal"][0]).parameters().keys() == {"loc", "scale"}


def test_numpyro_gradients_reach_the_users_arrays():
    """A loss over the user's own probs: the same key gives exactly the native estimator."""
    key = jax.random.key(2)
    f = lambda b: jnp.sum((b - jnp.array([0.2, 0.7])) ** 2)

    def loss(probs, make):
        return rx.expectation(f, make(probs), key, method="disarm", num_samples=4)

    grad = jax.jit(jax.grad(loss), static_argnums=1)
    through_numpyro = grad(P, lambda p: rx.from_numpyro(nd.Bernoulli(probs=p)))
    native = grad(P, lambda p: rx.Bernoulli(probs=p))
    np.testing.assert_array_equal(through_numpyro, native)
    assert np.all(through_numpyro != 0.0)


NUM_ESTIMATES = 2000


def _estimates(loss, params):
    keys = jax.random.split(jax.random.key(3), NUM_ESTIMATES)
    return jax.jit(jax.vmap(jax.grad(loss, argnums=(0, 1)), in_axes=(None, None, 0)))(*params, keys)


def test_numpyro_normal_pathwise_is_unbiased():
    loc, scale, target = jnp.array([1.5, -0.5]), jnp.array([0.5, 1.0]), 1.0

    def loss(loc, scale, key):
        dist = rx.from_numpyro(nd.Normal(loc, scale))
        f = lambda z: jnp.sum((z - target) ** 2)
        return rx.expectation(f, dist, key, method="pathwise", num_samples=32)

    grad_loc, grad_scale = _estimates(loss, (loc, scale))
    # E[(z − t)²] = (μ − t)² + σ².
    assert_unbiased(grad_loc, 2 * (loc - target), label="numpyro Normal pathwise loc")
    assert_unbiased(grad_scale, 2 * scale, label="numpyro Normal pathwise scale")


def test_numpyro_bernoulli_disarm_is_unbiased_against_enumeration():
    probs, target = jnp.array([0.3, 0.65]), jnp.array([0.2, 0.9])
    f = lambda b: jnp.sum((b - target) ** 2) + b[0] * b[1]  # not separable across bits

    def loss(probs, unused, key):
        dist = rx.from_numpyro(nd.Bernoulli(probs=probs))
        return rx.expectation(f, dist, key, method="disarm", num_samples=32)

    def enumerated(probs):  # the four outcomes, weighted by NumPyro's own probabilities
        outcomes = jnp.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
        weights = jnp.exp(jax.vmap(nd.Bernoulli(probs=probs).log_prob)(outcomes).sum(-1))
        return jnp.sum(weights * jax.vmap(f)(outcomes))

    grads, _ = _estimates(loss, (probs, 0.0))
    assert_unbiased(grads, jax.grad(enumerated)(probs), label="numpyro Bernoulli disarm")


# -- the generic wrapper --------------------------------------------------------------------


@jax.tree_util.register_pytree_node_class
class HandWrittenExponential:
    """Not a library object: sample/log_prob/cdf and nothing else (implicit pathwise)."""

    batch_shape, event_shape = (), ()

    def __init__(self, rate):
        self.rate = rate

    def sample(self, key, sample_shape=()):
        return jax.random.exponential(key, sample_shape) / self.rate

    def log_prob(self, z):
        return jnp.log(self.rate) - self.rate * z

    def cdf(self, z):
        return -jnp.expm1(-self.rate * z)

    def tree_flatten(self):
        return (self.rate,), None

    @classmethod
    def tree_unflatten(cls, aux, leaves):
        return cls(*leaves)


@pytest.mark.usefixtures("allow_rank_promotion")
def test_wrapper_kinds_and_methods():
    half_normal = rx.from_numpyro(nd.HalfNormal(2.0))  # no reparax family: wrapped
    assert isinstance(half_normal, rx.adapters.SampleReparameterized)
    assert rx.supported_methods(half_normal) == ["pathwise", "score_function", "rloo"]
    implicit = rx.wrap(HandWrittenExponential(2.0))
    assert implicit.pathwise_kind == "cdf"
    assert rx.supported_methods(implicit) == ["pathwise", "score_function", "rloo"]
    discrete = rx.from_numpyro(nd.BetaBinomial(1.0, 2.0, 5))  # has a cdf, but is discrete
    assert discrete.pathwise_kind is None
    assert rx.supported_methods(discrete) == ["score_function", "rloo"]
    assert rx.wrap(nd.HalfNormal(2.0), pathwise=None).pathwise_kind is None
    moving = rx.wrap(nd.HalfNormal(2.0), fixed_support=False)  # the score function would be biased
    assert rx.supported_methods(moving) == ["pathwise"]
    assert rx.convert(half_normal) is half_normal


HALF_NORMAL_SCALE = 1.3
SQRT_2_OVER_PI = math.sqrt(2.0 / math.pi)


@pytest.mark.parametrize("method", ["pathwise", "score_function"])
@pytest.mark.usefixtures("allow_rank_promotion")
def test_wrapped_half_normal_is_unbiased(method):
    # E[z] = σ √(2/π) for z ~ HalfNormal(σ); the score function needs many samples here
    # (per-sample variance ≈ 9.4 against a gradient of 0.8).
    samples = {"pathwise": 8, "score_function": 160}[method]

    def loss(scale, unused, key):
        dist = rx.from_numpyro(nd.HalfNormal(scale))
        return rx.expectation(lambda z: z, dist, key, method=method, num_samples=samples)

    grads, _ = _estimates(loss, (HALF_NORMAL_SCALE, 0.0))
    assert_unbiased(grads[:, None], SQRT_2_OVER_PI, label=f"wrapped HalfNormal {method}")


@pytest.mark.usefixtures("allow_rank_promotion")
def test_wrapped_implicit_pathwise_is_unbiased():
    rate = 1.5

    def loss(rate, unused, key):
        dist = rx.wrap(HandWrittenExponential(rate))
        return rx.expectation(lambda z: z**2, dist, key, method="pathwise", num_samples=32)

    grads, _ = _estimates(loss, (rate, 0.0))
    assert_unbiased(grads[:, None], -4.0 / rate**3, label="implicit Exponential")  # E = 2/λ²


@pytest.mark.usefixtures("allow_rank_promotion")
@jax.tree_util.register_pytree_node_class
class Erlang:
    """Sum of ``count`` Exp(rate) draws; ``count`` is an integer LEAF (jax.grad refuses
    integer inputs, so the wrapper keeps it static)."""

    batch_shape, event_shape = (), ()

    def __init__(self, rate, count):
        self.rate, self.count = rate, count

    def sample(self, key, sample_shape=()):
        draws = jax.random.exponential(key, (*sample_shape, 5))
        return jnp.sum(jnp.where(jnp.arange(5) < self.count, draws, 0.0), -1) / self.rate

    def log_prob(self, z):
        k = self.count
        return k * jnp.log(self.rate) + (k - 1) * jnp.log(z) - self.rate * z - gammaln(k)

    def tree_flatten(self):
        return (self.rate, self.count), None

    @classmethod
    def tree_unflatten(cls, aux, leaves):
        return cls(*leaves)


def test_wrapped_gradient_pytree_and_static_leaves():
    dist = rx.wrap(Erlang(jnp.array(2.0), 3))
    assert dist.parameters() == {"rate": dist.obj.rate}
    est = jax.jit(
        lambda d, k: rx.gradient_estimate(lambda z: z, d, k, method="rloo", num_samples=8)
    )(dist, jax.random.key(4))
    assert isinstance(est.grad, rx.Wrapped)
    assert est.grad.obj.count == 3  # the static leaf comes back as it was
    assert np.isfinite(est.grad.obj.rate) and est.grad.obj.rate < 0.0  # E[z] = k/λ falls in λ


@pytest.mark.usefixtures("allow_rank_promotion")
def test_a_parameter_stored_twice_gets_its_whole_gradient():
    # NumPyro's HalfNormal keeps `scale` and an inner Normal(0, scale): one array, two leaves.
    scale, key, f = jnp.array([1.0, 2.0]), jax.random.key(5), lambda z: jnp.sum(z**2)
    wrapped = rx.wrap(nd.HalfNormal(scale))
    assert sum(leaf is scale for leaf in jax.tree_util.tree_leaves(wrapped)) == 1
    est = rx.gradient_estimate(f, wrapped, key, method="pathwise", num_samples=8)
    direct = jax.grad(
        lambda s: rx.expectation(
            f, rx.wrap(nd.HalfNormal(s)), key, method="pathwise", num_samples=8
        )
    )(scale)
    np.testing.assert_allclose(est.grad.obj.scale, direct, rtol=1e-6)
    assert np.all(direct > 0)


# -- errors -----------------------------------------------------------------------------


def test_foreign_objects_are_refused_the_same_way_everywhere():
    foreign = nd.Normal(0.0, 1.0)
    f = lambda z: z
    calls = [
        lambda: rx.supported_methods(foreign),
        lambda: rx.gradient_estimate(f, foreign, jax.random.key(0), method="pathwise"),
        lambda: rx.expectation(f, foreign, jax.random.key(0)),
    ]
    for call in calls:
        with pytest.raises(TypeError, match=r"rx\.from_numpyro\(dist\)"):
            call()

    class Plain:
        def sample(self, key, sample_shape=()): ...

        def log_prob(self, z): ...

    with pytest.raises(TypeError, match=r"rx\.wrap\(dist\)"):
        rx.supported_methods(Plain())


@pytest.mark.usefixtures("allow_rank_promotion")
def test_adapter_errors():
    with pytest.raises(TypeError, match="already a reparax distribution"):
        rx.from_numpyro(rx.Normal(0.0, 1.0))
    with pytest.raises(TypeError, match="must be a distrax distribution"):
        rx.from_distrax(nd.Normal(0.0, 1.0))
    with pytest.raises(TypeError, match="has no log_prob"):
        rx.wrap(type("NoLogProb", (), {"sample": 0, "batch_shape": (), "event_shape": ()})())

    class NotAPytree:
        batch_shape, event_shape, rate = (), (), 1.0

        def sample(self, key, sample_shape=()): ...

        def log_prob(self, z): ...

    with pytest.raises(TypeError, match="register_pytree_node_class"):
        rx.wrap(NotAPytree())
    with pytest.raises(ValueError, match="`pathwise` must be one of"):
        rx.wrap(nd.HalfNormal(1.0), pathwise="yes")
    with pytest.raises(ValueError, match="pathwise='cdf' needs a `cdf`"):
        rx.wrap(nd.BetaBinomial(1.0, 2.0, 5), pathwise="cdf")
    discrete = rx.from_numpyro(nd.BetaBinomial(1.0, 2.0, 5))
    with pytest.raises(ValueError, match="Methods that support Wrapped: score_function, rloo"):
        rx.gradient_estimate(lambda z: z * 1.0, discrete, jax.random.key(0), method="pathwise")


# -- TFP and distrax (optional) ------------------------------------------------------------

# The TFP/distrax tests ignore two warnings of TFP's own making: its JAX backend asks for
# float64 under jax's default float32, and reads deprecated jax internals.


def _optional(module: str) -> ModuleType:
    try:
        return importlib.import_module(module)
    except Exception as error:  # an AttributeError from TFP 0.25 on jax >= 0.5, or absent
        pytest.skip(f"{module} does not import with jax {jax.__version__}: {error!r}")


def _tfp_cases(tfd):
    return {
        "Normal": (tfd.Normal(A, B), rx.Normal(A, B)),
        "Laplace": (tfd.Laplace(A, B), rx.Laplace(A, B)),
        "Logistic": (tfd.Logistic(A, B), rx.Logistic(A, B)),
        "Cauchy": (tfd.Cauchy(A, B), rx.Cauchy(A, B)),
        "Gumbel": (tfd.Gumbel(A, B), rx.Gumbel(A, B)),
        "LogNormal": (tfd.LogNormal(A, B), rx.LogNormal(A, B)),
        "StudentT": (tfd.StudentT(3.0, A, B), rx.StudentT(df=3.0, loc=A, scale=B)),
        "MultivariateNormalTriL": (
            tfd.MultivariateNormalTriL(A, TRIL),
            rx.MultivariateNormalTriL(A, TRIL),
        ),
        "Gamma": (tfd.Gamma(A, B), rx.Gamma(concentration=A, rate=B)),
        "Gamma(log_rate)": (tfd.Gamma(A, log_rate=B), rx.Gamma(A, jnp.exp(B))),
        "Exponential": (tfd.Exponential(B), rx.Exponential(B)),
        "Beta": (tfd.Beta(A, B), rx.Beta(concentration1=A, concentration0=B)),
        "Kumaraswamy": (tfd.Kumaraswamy(A, B), rx.Kumaraswamy(A, B)),
        "Dirichlet": (tfd.Dirichlet(CONC), rx.Dirichlet(CONC)),
        "Weibull": (tfd.Weibull(B, A), rx.Weibull(concentration=B, scale=A)),
        "VonMises": (tfd.VonMises(A, B), rx.VonMises(A, B)),
        "Uniform": (tfd.Uniform(A, A + B), rx.Uniform(A, A + B)),
        "TruncatedNormal": (tfd.TruncatedNormal(A, B, 0.0, 2.0), rx.TruncatedNormal(A, B, 0, 2)),
        "Poisson": (tfd.Poisson(B), rx.Poisson(B)),
        "Poisson(log_rate)": (tfd.Poisson(log_rate=B), rx.Poisson(jnp.exp(B))),
        "Bernoulli(logits)": (tfd.Bernoulli(logits=A), rx.Bernoulli(logits=A)),
        "Bernoulli(probs)": (tfd.Bernoulli(probs=P), rx.Bernoulli(probs=P)),
        "Categorical": (tfd.Categorical(logits=LOGITS), rx.Categorical(LOGITS)),
        "OneHotCategorical": (
            tfd.OneHotCategorical(probs=jax.nn.softmax(LOGITS)),
            rx.OneHotCategorical(jax.nn.log_softmax(LOGITS)),
        ),
        "Geometric": (tfd.Geometric(probs=P), rx.Geometric(probs=P)),
        "Binomial": (tfd.Binomial(4.0, logits=A), rx.Binomial(logits=A, total_count=4)),
    }


@pytest.mark.filterwarnings("ignore:Explicitly requested dtype:UserWarning")
@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_tfp_families_become_native():
    tfd = _optional("tensorflow_probability.substrates.jax").distributions
    _check_library(_tfp_cases(tfd), rx.from_tfp)


@pytest.mark.filterwarnings("ignore:Explicitly requested dtype:UserWarning")
@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_distrax_families_become_native():
    dx = _optional("distrax")
    _check_library(_distrax_cases(dx), rx.from_distrax)
    # Discrete, float samples, a cdf: never given implicit pathwise by guess.
    quantized = dx.Quantized(dx.Normal(0.0, 1.0), low=-3.0, high=3.0)
    assert rx.from_distrax(quantized).pathwise_kind is None


def _distrax_cases(dx):
    return {
        "Normal": (dx.Normal(A, B), rx.Normal(A, B)),
        "LogStddevNormal": (dx.LogStddevNormal(A, jnp.log(B)), rx.Normal(A, B)),
        "Laplace": (dx.Laplace(A, B), rx.Laplace(A, B)),
        "Logistic": (dx.Logistic(A, B), rx.Logistic(A, B)),
        "Gumbel": (dx.Gumbel(A, B), rx.Gumbel(A, B)),
        "MultivariateNormalTri": (
            dx.MultivariateNormalTri(A, TRIL),
            rx.MultivariateNormalTriL(A, TRIL),
        ),
        "MultivariateNormalDiag": (
            dx.MultivariateNormalDiag(A, B),
            rx.MultivariateNormalTriL(A, jnp.diag(B)),
        ),
        "Gamma": (dx.Gamma(A, B), rx.Gamma(A, B)),
        "Beta": (dx.Beta(A, B), rx.Beta(concentration1=A, concentration0=B)),
        "Dirichlet": (dx.Dirichlet(CONC), rx.Dirichlet(CONC)),
        "VonMises": (dx.VonMises(A, B), rx.VonMises(A, B)),
        "Uniform": (dx.Uniform(A, A + B), rx.Uniform(A, A + B)),
        "Bernoulli(logits)": (dx.Bernoulli(logits=A), rx.Bernoulli(logits=A)),
        "Bernoulli(probs)": (dx.Bernoulli(probs=P), rx.Bernoulli(probs=P)),
        # distrax normalizes the logits it hands out (log_softmax): the same law.
        "Categorical": (dx.Categorical(logits=LOGITS), rx.Categorical(jax.nn.log_softmax(LOGITS))),
        "OneHotCategorical": (
            dx.OneHotCategorical(logits=LOGITS),
            rx.OneHotCategorical(jax.nn.log_softmax(LOGITS)),
        ),
    }


@pytest.mark.filterwarnings("ignore:Explicitly requested dtype:UserWarning")
@pytest.mark.filterwarnings("ignore::DeprecationWarning")
@pytest.mark.usefixtures("allow_rank_promotion")
def test_tfp_fallback_wraps_with_the_seed_convention():
    tfd = _optional("tensorflow_probability.substrates.jax").distributions
    wrapped = rx.from_tfp(tfd.HalfNormal(2.0))  # no reparax family; TFP says reparameterized
    assert wrapped.pathwise_kind == "sample"
    est = rx.gradient_estimate(
        lambda z: z, wrapped, jax.random.key(0), method="pathwise", num_samples=4
    )
    assert np.isfinite(est.value) and est.grad.obj.scale > 0  # d/dσ E[z] = √(2/π) per sample
    # TFP's counts sample floats and have a cdf: never given implicit pathwise by guess.
    assert rx.from_tfp(tfd.NegativeBinomial(3.0, logits=0.2)).pathwise_kind is None
    with pytest.raises(TypeError, match=r"rx\.from_tfp\(dist\)"):
        rx.from_numpyro(tfd.Normal(0.0, 1.0))


def test_a_wrapped_numpyro_object_with_a_moving_support_refuses_the_score_function():
    """Review finding: Uniform(0, h).to_event(1) is wrapped (Independent has no converter);
    its support moves with h, so the score function would silently miss the boundary term
    (it gave −1.25 for an exact 0.5). The wrapper reads numpyro's support constraint."""
    nd = pytest.importorskip("numpyro.distributions")
    moving = rx.from_numpyro(nd.Uniform(jnp.zeros(2), jnp.array([2.0, 3.0])).to_event(1))
    fixed = rx.from_numpyro(nd.Bernoulli(probs=jnp.full(3, 0.3)).to_event(1))
    assert "score_function" not in rx.supported_methods(moving)
    assert "score_function" in rx.supported_methods(fixed)
    with pytest.raises(ValueError, match="fixed_support"):
        rx.expectation(jnp.sum, moving, jax.random.key(0), method="score_function")
