"""Biased estimators match their definitions; edge numerics; discrete-specific errors."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import scipy.stats

import reparax as rx

KEY = jax.random.key(31)
LOGITS = jnp.array([[0.3, -0.2, 1.0], [0.0, 0.5, -1.5]])
WEIGHTS = jnp.array([[1.0, -2.0, 0.5], [0.3, 0.7, -1.1]])


def smooth(z):
    return jnp.sum(WEIGHTS * z) + jnp.sum(jnp.sin(3.0 * z))


@pytest.mark.parametrize("temperature", [0.3, 1.0, 2.5])
def test_gumbel_softmax_is_the_gradient_of_the_relaxed_objective(temperature):
    num = 5

    def by_hand(logits, tau):  # mean_i f(softmax((θ + G_i)/τ)), G_i from sample i's key
        keys = jax.random.split(KEY, num)
        gumbels = jax.vmap(lambda k: jax.random.gumbel(k, logits.shape))(keys)
        return jnp.mean(jax.vmap(lambda g: smooth(jax.nn.softmax((logits + g) / tau)))(gumbels))

    def ours(logits, tau):
        return rx.gumbel_softmax(
            smooth, rx.OneHotCategorical(logits), KEY, num_samples=num, temperature=tau
        )

    tau = jnp.asarray(temperature)
    np.testing.assert_allclose(ours(LOGITS, tau), by_hand(LOGITS, tau), rtol=1e-6)
    # the gradient in the logits AND in the (traced) temperature
    for a, b in zip(jax.grad(ours, (0, 1))(LOGITS, tau), jax.grad(by_hand, (0, 1))(LOGITS, tau)):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


def test_binary_concrete_is_the_gradient_of_the_relaxed_objective():
    logits = jnp.array([0.4, -1.0, 2.0])
    f = lambda b: jnp.sum(b * jnp.arange(1.0, 4.0)) ** 2  # noqa: E731

    def by_hand(theta):
        noise = jax.random.logistic(jax.random.split(KEY, 1)[0], theta.shape)
        return f(jax.nn.sigmoid((theta + noise) / 0.5))

    ours = lambda theta: rx.gumbel_softmax(f, rx.Bernoulli(theta), KEY, temperature=0.5)  # noqa: E731
    np.testing.assert_allclose(jax.grad(ours)(logits), jax.grad(by_hand)(logits), rtol=1e-5)


@pytest.mark.parametrize(
    "method", ["straight_through", "st_gumbel_softmax", "gumbel_rao", "reinmax"]
)
@pytest.mark.parametrize("family", [rx.OneHotCategorical, rx.Bernoulli])
def test_straight_through_forward_is_the_hard_sample_exactly(method, family):
    dist = family(LOGITS if family is rx.OneHotCategorical else LOGITS[0])
    f = lambda z: jnp.sum(jnp.exp(z) * 1.7)  # noqa: E731
    keys = jax.random.split(KEY, 4)
    values = jax.vmap(lambda k: rx.expectation(f, dist, k, method=method))(keys)
    hard = jax.vmap(lambda k: f(_hard_sample(dist, k)))(keys)
    np.testing.assert_array_equal(values, hard)


def _hard_sample(dist, key):
    """What sample 0 of a single-sample estimate is: noise from split(key, 1)[0]."""
    return dist.transform(dist.noise(jax.random.split(key, 1)[0]))


@pytest.mark.parametrize("family", [rx.OneHotCategorical, rx.Bernoulli])
def test_gumbel_rao_with_one_draw_is_st_gumbel_softmax(family):
    dist = family(LOGITS if family is rx.OneHotCategorical else LOGITS[0])
    for temperature in (0.5, 2.0):
        rao = rx.gradient_estimate(
            smooth_for(dist),
            dist,
            KEY,
            method="gumbel_rao",
            num_samples=8,
            num_draws=1,
            temperature=temperature,
        )
        st = rx.gradient_estimate(
            smooth_for(dist),
            dist,
            KEY,
            method="st_gumbel_softmax",
            num_samples=8,
            temperature=temperature,
        )
        np.testing.assert_allclose(rao.grad.logits, st.grad.logits, rtol=1e-6)
        np.testing.assert_array_equal(rao.value, st.value)


def smooth_for(dist):
    return smooth if isinstance(dist, rx.OneHotCategorical) else lambda b: smooth(b[None])


def test_gumbel_rao_lowers_the_variance_of_st_gumbel_softmax():
    dist = rx.OneHotCategorical(LOGITS)
    keys = jax.random.split(KEY, 2000)

    def variance(**options):
        one = lambda k: rx.gradient_estimate(smooth, dist, k, temperature=0.5, **options)  # noqa: E731
        return float(jnp.sum(jnp.var(jax.jit(jax.vmap(one))(keys).grad.logits, axis=0)))

    assert variance(method="gumbel_rao", num_draws=20) < variance(method="st_gumbel_softmax")


def test_reinmax_matches_the_published_backward_formula():
    logits, tau = jnp.array([0.2, -0.5, 1.1]), 1.7
    weights = jnp.array([1.0, 10.0, 100.0])  # f(D) = w·D: the value identifies D
    dist = rx.OneHotCategorical(logits)
    pi = jax.nn.softmax(logits)

    def jacobian_times(p, g):
        return p * g - p * jnp.dot(p, g)

    for key in jax.random.split(KEY, 10):
        est = rx.gradient_estimate(
            lambda d: jnp.dot(weights, d), dist, key, method="reinmax", temperature=tau
        )
        hard = jax.nn.one_hot(jnp.argmax(est.value == weights), 3)
        p_bar = 0.5 * (jax.nn.softmax(logits / tau) + hard)
        expected = 2 * jacobian_times(p_bar, weights) - 0.5 * jacobian_times(pi, weights)
        # float32 rounding of terms of size |w| ~ 100 that cancel: tolerance relative to them
        np.testing.assert_allclose(est.grad.logits, expected, atol=1e-6 * 100 * 3)


def test_conditional_noise_has_the_right_distribution():
    # Draw b ~ Bernoulli(σ(θ)), then z̃ ~ p(z | b): z̃ must agree with b, and marginally be
    # Logistic(θ); for the categorical, argmax z̃ = D and z̃_k marginally Gumbel(θ_k).
    theta = 0.7
    bern = rx.Bernoulli(jnp.array(theta))
    keys = jax.random.split(KEY, 20000)
    hard = jax.vmap(bern.sample)(keys)
    z = jax.vmap(bern.conditional_perturbed)(jax.random.split(keys[0], 20000), hard)
    assert bool(jnp.all((z > 0) == (hard > 0.5)))
    assert scipy.stats.kstest(np.asarray(z), scipy.stats.logistic(loc=theta).cdf).pvalue > 1e-3
    cat = rx.OneHotCategorical(LOGITS[0])
    hard = jax.vmap(cat.sample)(keys)
    z = jax.vmap(cat.conditional_perturbed)(jax.random.split(keys[1], 20000), hard)
    assert bool(jnp.all(jax.nn.one_hot(jnp.argmax(z, -1), 3) == hard))
    for k in range(3):
        gumbel = scipy.stats.gumbel_r(loc=float(LOGITS[0, k]))
        assert scipy.stats.kstest(np.asarray(z[:, k]), gumbel.cdf).pvalue > 1e-3


# Same-shaped extreme distributions (probabilities exactly 0 included), checked with one
# vmapped compilation each.
EDGE_CASES = {
    "OneHotCategorical": (
        rx.OneHotCategorical(jnp.array([[50.0, -50.0, 0.0], [-50.0, 0.0, 50.0]])),  # logits ±50
        rx.OneHotCategorical.from_probs(jnp.array([[1e-30, 0.5, 0.5], [0.3, 0.7, 1e-30]])),
        rx.OneHotCategorical.from_probs(jnp.array([[0.0, 0.5, 0.5], [0.3, 0.7, 0.0]])),  # −inf
    ),
    "Bernoulli": (
        rx.Bernoulli(jnp.array([50.0, -50.0, 0.0])),
        rx.Bernoulli.from_probs(jnp.array([1e-30, 1.0 - 1e-7, 0.5])),
        rx.Bernoulli.from_probs(jnp.array([0.0, 1.0, 0.5])),  # logits −inf and +inf
    ),
    "Categorical": (
        rx.Categorical(jnp.array([50.0, -50.0, 0.0])),
        rx.Categorical.from_probs(jnp.array([1e-30, 0.3, 0.7])),
        rx.Categorical.from_probs(jnp.array([0.0, 0.3, 0.7])),
    ),
}


@pytest.mark.parametrize("case", EDGE_CASES)
def test_extreme_probabilities_give_finite_gradients(case):
    pair = EDGE_CASES[case]
    stacked = jax.tree.map(lambda *leaves: jnp.stack(leaves), *pair)
    if case == "Categorical":
        f = lambda z: jnp.sum(jnp.sin(z.astype(jnp.float32) + 1.0))  # noqa: E731
    else:
        f = lambda z: jnp.sum(jnp.sin(3.0 * z) + z**2)  # noqa: E731
    for method in rx.supported_methods(pair[0]):
        options = {"temperature": 1e-3} if "temperature" in _options(method) else {}

        def one(dist, method=method, options=options):
            return rx.gradient_estimate(f, dist, KEY, method=method, num_samples=4, **options)

        est = jax.jit(jax.vmap(one))(stacked)
        assert bool(jnp.all(jnp.isfinite(est.grad.logits))), method
        assert bool(jnp.all(jnp.isfinite(est.value))), method


def _options(method):
    import inspect

    return inspect.signature(rx.methods()[method].fn).parameters


@pytest.mark.parametrize("method", ["gumbel_softmax", "st_gumbel_softmax", "gumbel_rao"])
def test_temperature_near_zero_gives_finite_gradients(method):
    for dist in (rx.OneHotCategorical(LOGITS), rx.Bernoulli(LOGITS[0])):
        est = rx.gradient_estimate(
            smooth_for(dist), dist, KEY, method=method, num_samples=8, temperature=1e-3
        )
        assert bool(jnp.all(jnp.isfinite(est.grad.logits)))


@pytest.mark.parametrize(
    "method", ["gumbel_softmax", "straight_through", "st_gumbel_softmax", "gumbel_rao", "reinmax"]
)
def test_categorical_refuses_relaxations_naming_one_hot(method):
    with pytest.raises(ValueError, match="OneHotCategorical"):
        rx.gradient_estimate(lambda z: jnp.sum(z * 1.0), rx.Categorical(LOGITS), KEY, method=method)


@pytest.mark.parametrize("temperature", [0.0, -1.0, jnp.array([0.5, -0.1])])
def test_bad_temperature(temperature):
    with pytest.raises(ValueError, match="temperature"):
        rx.gradient_estimate(
            smooth,
            rx.OneHotCategorical(LOGITS),
            KEY,
            method="gumbel_softmax",
            temperature=temperature,
        )


def test_exact_refuses_large_supports():
    dist = rx.Bernoulli(jnp.zeros(17))
    with pytest.raises(ValueError, match="131072 joint outcomes.*max_support=65536"):
        rx.gradient_estimate(jnp.sum, dist, KEY, method="exact")
    small = rx.gradient_estimate(
        jnp.sum, rx.Bernoulli(jnp.zeros(3)), KEY, method="exact", max_support=8
    )
    assert jnp.allclose(small.value, 1.5)


def test_auto_spends_num_samples_as_a_budget_of_evaluations():
    """auto's DisARM runs ⌊N / 2⌋ pairs and IndeCateR ⌊N / (D·(K − 1) + 1)⌋ samples: the same
    numbers as naming them with those counts."""
    f = lambda b: jnp.sum((b - 0.45) ** 2)  # noqa: E731
    dist = rx.Bernoulli(jnp.linspace(-1.0, 1.0, 12))
    for budget, method, samples in [(8, rx.disarm, 4), (60, rx.indecater, 4)]:
        assert rx.resolve_method("auto", dist, budget) is method
        auto = rx.gradient_estimate(f, dist, KEY, num_samples=budget)
        named = rx.gradient_estimate(f, dist, KEY, method=method, num_samples=samples)
        np.testing.assert_array_equal(auto.grad.logits, named.grad.logits)
        assert rx.diagnostics.f_evaluations("auto", dist, budget) <= budget


def test_auto_is_unbiased_for_discrete():
    assert rx.resolve_method("auto", rx.Bernoulli(jnp.zeros(3)), 1) is rx.exact
    assert rx.resolve_method("auto", rx.Bernoulli(jnp.zeros(200)), 8) is rx.disarm
    assert rx.resolve_method("auto", rx.OneHotCategorical(jnp.zeros((20, 10))), 1) is (
        rx.score_function
    )
    for dist in (rx.Bernoulli(jnp.zeros(200)), rx.Normal(0.0, 1.0)):
        for n in (1, 4):
            assert rx.resolve_method("auto", dist, n).unbiased
