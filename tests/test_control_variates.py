"""Control variates never change the expectation; REBAR/RELAX are unbiased and trainable."""

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

import reparax as rx
from tests.stats import (
    assert_unbiased,
    assert_variance_lower,
    enumerate_exact,
    estimator_samples,
    jit_many,
)

cv = rx.control_variates
KEY = jax.random.key(41)


def estimates(f, dist, num_estimates=1000, num_samples=1, **options):
    """One jit + vmap over keys; each estimate averages ``num_samples`` samples."""
    return estimator_samples(
        f, dist, KEY, num_estimates=num_estimates, num_samples=num_samples, **options
    )


# Samples per estimate (1000 estimates) that give the unbiasedness checks below power: 5
# standard errors under 5% of every |exact| coordinate, with a margin (see tests/stats.py).
POWERED_SAMPLES = 16384


# -- moving average --------------------------------------------------------------------------


def test_moving_average_closed_form():
    ma = cv.moving_average(decay=0.5)
    state = ma.init()
    for value in (1.0, 2.0, 3.0):
        state = ma.update(state, value)
    # (0.25·1 + 0.5·2 + 3) / (0.25 + 0.5 + 1)
    np.testing.assert_allclose(ma.baseline(state), 4.25 / 1.75, rtol=1e-6)
    raw = cv.moving_average(decay=0.5, debias=False)
    np.testing.assert_allclose(raw.baseline(state), 0.5 * 4.25, rtol=1e-6)
    assert float(ma.baseline(ma.init())) == 0.0


def test_moving_average_decay_one_is_the_running_mean():
    ma = cv.moving_average(decay=1.0)
    state = jax.lax.fori_loop(0, 4, lambda i, s: ma.update(s, i * 1.0), ma.init())
    np.testing.assert_allclose(ma.baseline(state), 1.5, rtol=1e-6)
    assert np.isfinite(float(cv.moving_average(decay=1.0, debias=False).baseline(state)))


def test_moving_average_under_jit_and_vmap():
    ma = cv.moving_average(decay=0.8)
    values = jnp.array([[1.0, 4.0, -2.0], [0.5, 0.5, 0.5]])  # two independent streams

    def run(stream):
        state = ma.init()
        for t in range(stream.shape[0]):
            state = jax.jit(ma.update)(state, stream[t])
        return ma.baseline(state)

    batched = jax.jit(jax.vmap(run))(values)
    for i in range(2):
        weights = 0.8 ** jnp.arange(2, -1, -1)
        np.testing.assert_allclose(
            batched[i], jnp.sum(weights * values[i]) / jnp.sum(weights), rtol=1e-6
        )


def test_moving_average_bad_state_and_decay():
    ma = cv.moving_average()
    with pytest.raises(TypeError, match="MovingAverageState"):
        ma.update({"weighted_sum": 0.0}, 1.0)
    with pytest.raises(ValueError, match="must be a scalar"):
        ma.baseline(cv.MovingAverageState(jnp.zeros(2), jnp.zeros(2), jnp.zeros(2), jnp.zeros(2)))
    with pytest.raises(ValueError, match="`value` must be a scalar"):
        ma.update(ma.init(), jnp.ones(3))
    with pytest.raises(ValueError, match="decay"):
        cv.moving_average(decay=1.5)


# -- every control variate keeps the score function unbiased ---------------------------------

NORMAL = rx.Normal(jnp.array([0.5, -0.3]), jnp.array([1.0, 0.7]))


def normal_cost(z):
    return jnp.sum(jnp.cos(2.0 * z)) + 3.0


def normal_exact_grad():
    exact = rx.problems.cosine(2.0).exact
    return jax.grad(lambda m, s: jnp.sum(exact(m, s)), argnums=(0, 1))(NORMAL.loc, NORMAL.scale)


@pytest.mark.parametrize(
    "options",
    [
        {"baseline": 2.5},
        {"baseline": "optimal"},
        {"control_variate": cv.delta_method(normal_cost)},
        {"control_variate": cv.muprop(normal_cost)},
        {"control_variate": cv.delta_method(normal_cost), "cv_coefficient": 0.7},
        {"control_variate": cv.delta_method(normal_cost), "baseline": "leave_one_out"},
    ],
    ids=["constant", "optimal", "delta", "muprop", "delta-0.7", "delta+loo"],
)
def test_score_function_with_control_variates_is_unbiased_gaussian(options):
    est = estimates(
        normal_cost, NORMAL, method="score_function", num_samples=POWERED_SAMPLES, **options
    )
    exact_loc, exact_scale = normal_exact_grad()
    assert_unbiased(est.grad.loc, exact_loc, label="loc")
    assert_unbiased(est.grad.scale, exact_scale, label="scale")


def test_delta_method_lowers_the_variance_when_taylor_is_accurate():
    # Over a narrow Gaussian f is close to its quadratic expansion, so h tracks f. (Over a wide
    # one, e.g. σ = 1 for cos(2z), the expansion is poor and the variance can grow: the
    # delta method is a tool for small σ.)
    narrow = rx.Normal(NORMAL.loc, jnp.array([0.2, 0.1]))
    plain = estimates(normal_cost, narrow, method="score_function", num_samples=4)
    delta = estimates(
        normal_cost,
        narrow,
        method="score_function",
        num_samples=4,
        control_variate=cv.delta_method(normal_cost),
    )
    assert_variance_lower(delta.grad.loc, plain.grad.loc)


DISCRETE = {
    "Bernoulli": (
        rx.Bernoulli(jnp.array([0.3, -0.8, 1.2])),
        lambda b: jnp.sum((b - 0.45) ** 2) + 2.0 * b[0] * b[2],
    ),
    "OneHotCategorical": (
        rx.OneHotCategorical(jnp.array([[0.2, -0.4, 0.9], [-1.0, 0.5, 0.0]])),
        lambda z: jnp.sum(jnp.arange(6.0).reshape(2, 3) * z) + z[0, 0] * z[1, 1],
    ),
}


DISCRETE_SAMPLES = 16384


# OneHotCategorical shares Categorical's maths (tests/test_cv_every_estimator.py covers the
# mechanism on bits in the default tier): its cases are in the slow tier.
@pytest.mark.parametrize(
    "family",
    [pytest.param(d, marks=pytest.mark.slow) if "OneHot" in str(d) else d for d in DISCRETE],
)
@pytest.mark.parametrize("options", ["muprop", "optimal", "moving_average"])
def test_score_function_with_control_variates_is_unbiased_discrete(family, options):
    dist, f = DISCRETE[family]
    if options == "muprop":
        kwargs = {"control_variate": cv.muprop(f)}
    elif options == "optimal":
        kwargs = {"baseline": "optimal"}
    else:
        ma = cv.moving_average(0.9)  # a baseline tracking E[f], as in training
        mean_f = float(enumerate_exact(f, dist)[0])
        state = ma.update(ma.update(ma.init(), mean_f + 0.3), mean_f - 0.2)
        kwargs = {"baseline": ma.baseline(state)}
    est = estimates(f, dist, method="score_function", num_samples=DISCRETE_SAMPLES, **kwargs)
    assert_unbiased(est.grad.logits, enumerate_exact(f, dist)[1])


def test_learned_baseline_gradient_training_and_unbiasedness():
    # An amortized family: inputs x select the logits; c_ψ(x) = w·x + b regresses onto f.
    baseline = cv.learned_baseline(lambda p, x: jnp.dot(p["w"], x) + p["b"])
    params = {"w": jnp.zeros(2), "b": jnp.zeros(())}
    inputs = jnp.array([1.0, -0.5])
    values = jnp.array([2.0, 3.5])
    loss, grads = baseline.loss_and_grad(params, inputs, values)
    # d/dψ mean (v − c)² = −2 mean(v − c) ∂c/∂ψ, with c = 0 here
    np.testing.assert_allclose(loss, jnp.mean(values**2), rtol=1e-6)
    np.testing.assert_allclose(grads["w"], -2 * jnp.mean(values) * inputs, rtol=1e-6)
    np.testing.assert_allclose(grads["b"], -2 * jnp.mean(values), rtol=1e-6)

    dist, f = DISCRETE["Bernoulli"]
    support, log_probs = dist.joint_support()
    f_values = jax.vmap(f)(support)
    mean_f = jnp.sum(jnp.exp(log_probs) * f_values)

    def expected_regression_loss(p):  # E[(f − c_ψ(x))²] = (E f − c)² + Var f, by enumeration
        c = jnp.dot(p["w"], inputs) + p["b"]
        return jnp.sum(jnp.exp(log_probs) * (f_values - c) ** 2)

    before = expected_regression_loss(params)
    for step in range(100):
        est = rx.gradient_estimate(
            f, dist, jax.random.fold_in(KEY, step), method="score_function", num_samples=4
        )
        _, grads = baseline.loss_and_grad(params, inputs, est.value)
        params = jax.tree.map(lambda p, g: p - 0.05 * g, params, grads)
    assert float(expected_regression_loss(params)) < 0.5 * float(before)
    b = baseline.baseline(params, inputs)
    assert abs(float(b - mean_f)) < abs(float(mean_f))  # nearer E[f] than the zero baseline
    est = estimates(f, dist, method="score_function", num_samples=POWERED_SAMPLES, baseline=b)
    assert_unbiased(est.grad.logits, enumerate_exact(f, dist)[1])
    with pytest.raises(ValueError, match="scalar"):
        cv.learned_baseline(lambda p, x: x).baseline(params, inputs)


# -- REBAR and RELAX ------------------------------------------------------------------------


REBAR_SAMPLES = 8192


def _train_control_variate(f, dist, method, cv_params, steps=60, learning_rate=0.05):
    optimizer = optax.adam(learning_rate)

    @jax.jit
    def step(carry, key):
        params, opt_state = carry
        _, grad = rx.variance_gradient(f, dist, key, method=method, cv_params=params)
        updates, opt_state = optimizer.update(grad, opt_state)
        return (optax.apply_updates(params, updates), opt_state), None

    keys = jax.random.split(jax.random.key(7), steps)
    (params, _), _ = jax.lax.scan(step, (cv_params, optimizer.init(cv_params)), keys)
    return params


# Slow tier (about 2.5 minutes): REBAR and RELAX are also tested with power against
# enumeration in the default tier (tests/test_discrete_unbiased.py); here, after training.
@pytest.mark.slow
@pytest.mark.parametrize("family", DISCRETE)
@pytest.mark.parametrize("method", ["rebar", "relax"])
def test_rebar_relax_unbiased_before_and_after_training(family, method):
    dist, f = DISCRETE[family]
    exact_value, exact_grad = enumerate_exact(f, dist)
    est = estimates(f, dist, method=method, num_samples=REBAR_SAMPLES)
    assert_unbiased(est.grad.logits, exact_grad, label="untrained grad")
    assert_unbiased(est.value[:, None], exact_value, label="untrained value")
    init = rx.rebar_init() if method == "rebar" else rx.relax_init(dist, jax.random.key(7))
    trained = _train_control_variate(f, dist, method, init)
    assert not np.allclose(trained["eta"], init["eta"])  # training moved the parameters
    options = (
        {"temperature": jnp.exp(trained["log_temperature"]), "eta": trained["eta"]}
        if method == "rebar"
        else {"cv_params": trained}
    )
    est = estimates(f, dist, method=method, num_samples=REBAR_SAMPLES, **options)
    assert_unbiased(est.grad.logits, exact_grad, label="trained grad")


@pytest.mark.parametrize("method", ["rebar", "relax"])
def test_training_the_control_variate_lowers_the_variance(method):
    # The RELAX toy: E[(b − 0.499)²] for a bit with logit 0 (Grathwohl et al. 2018, Fig. 1).
    dist = rx.Bernoulli(jnp.zeros(1))
    f = lambda b: jnp.sum((b - 0.499) ** 2)  # noqa: E731
    init = rx.rebar_init() if method == "rebar" else rx.relax_init(dist, jax.random.key(7))
    trained = _train_control_variate(f, dist, method, init, steps=300, learning_rate=0.03)

    def gradients(params):
        keys = jax.random.split(jax.random.key(8), 4000)
        one = lambda k: rx.variance_gradient(f, dist, k, method=method, cv_params=params)[0]  # noqa: E731
        return jit_many(jax.vmap(one))(keys).grad.logits

    assert_variance_lower(gradients(trained), gradients(init))


def test_rebar_relax_bad_input():
    dist, f = DISCRETE["Bernoulli"]
    with pytest.raises(ValueError, match="temperature"):
        rx.gradient_estimate(f, dist, KEY, method="rebar", temperature=0.0)
    with pytest.raises(ValueError, match="must return a scalar"):
        rx.gradient_estimate(
            f, dist, KEY, method="relax", surrogate=lambda p, z: z * p, cv_params=1.0
        )
    with pytest.raises(ValueError, match="cv_params"):
        rx.gradient_estimate(f, dist, KEY, method="relax", surrogate=lambda p, z: jnp.sum(z))
    with pytest.raises(ValueError, match="OneHotCategorical"):
        rx.gradient_estimate(
            lambda z: jnp.sum(z * 1.0), rx.Categorical(jnp.zeros((2, 3))), KEY, method="rebar"
        )
    with pytest.raises(ValueError, match="to_options"):
        rx.variance_gradient(f, dist, KEY, method="rloo", cv_params={})
