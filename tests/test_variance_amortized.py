"""rx.variance_gradient(model, params, key): control variates of amortized models.

A linear encoder maps three data points to the logits of two bits each; a linear decoder's
squared reconstruction error is the cost. The whole minibatch is one Bernoulli of shape
(3, 2), so the exact loss and gradient are a sum over its 64 joint outcomes.
"""

import itertools

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

import reparax as rx
from tests.stats import assert_unbiased, assert_variance_lower

X = jnp.array([[1.0, -0.5], [0.2, 0.3], [-1.0, 0.8]])
PARAMS = {
    "enc": {"w": jnp.array([[0.5, -0.3], [0.2, 0.8]]), "b": jnp.array([0.1, -0.2])},
    "dec": {"w": jnp.array([[0.6, -0.4], [-0.3, 0.5]]), "b": jnp.array([0.2, 0.1])},
}
KEY = jax.random.key(17)
SUPPORT = jnp.array(list(itertools.product([0.0, 1.0], repeat=6))).reshape(-1, 3, 2)


def linear(p, inputs):
    return inputs @ p["w"] + p["b"][None]


def costs(p, z, x):
    """Each data point's squared reconstruction error from its bits (z: shape (3, 2))."""
    return jnp.sum((x - linear(p, z)) ** 2, axis=1)


def cost(p, z, x):
    """The minibatch's squared reconstruction error."""
    return jnp.sum(costs(p, z, x))


def make_model(x, plates=0):
    """``model(params) -> (f, dist)``; with ``plates=1`` f returns one cost per data point."""
    per_datum = costs if plates else cost

    def model(params):
        dist = rx.Bernoulli(logits=linear(params["enc"], x))
        return (lambda z: per_datum(params["dec"], z, x)), dist

    return model


MODEL = make_model(X)


def exact_loss(params):
    """E_{q(z|x)}[cost] by enumeration of the 64 joint outcomes."""
    dist = rx.Bernoulli(logits=linear(params["enc"], X))
    log_probs = jax.vmap(lambda z: jnp.sum(dist.log_prob(z)))(SUPPORT)
    costs = jax.vmap(lambda z: cost(params["dec"], z, X))(SUPPORT)
    return jnp.sum(jnp.exp(log_probs) * costs)


def baseline_net(psi, x):
    """c_ψ(x) = Σ_n (ψ_w·x_n + ψ_b): one baseline per data point, summed like the cost."""
    return jnp.sum(x @ psi["w"] + psi["b"])


def baseline_options(x):
    return lambda psi: {"baseline": baseline_net(psi, x)}


BASELINE_INIT = {"w": jnp.zeros(2), "b": jnp.zeros(())}
RELAX_INIT = rx.relax_init(rx.Bernoulli(logits=jnp.zeros((3, 2))), jax.random.key(3))


def squared_norm(tree):
    return sum(jnp.sum(leaf**2) for leaf in jax.tree.leaves(tree))


def hand_double_backprop(surrogate, params, cv_params):
    """(ĝ, ∂‖ĝ‖²/∂φ) written out: jax.grad of the squared norm of jax.grad of a surrogate."""

    @jax.jit
    def both(params, cv_params):
        ghat = jax.grad(surrogate)(params, cv_params)
        cv_grad = jax.grad(lambda phi: squared_norm(jax.grad(surrogate)(params, phi)))(cv_params)
        return ghat, cv_grad

    return both(params, cv_params)


def assert_trees_close(got, want, rtol=1e-5, atol=1e-6):
    assert jax.tree.structure(got) == jax.tree.structure(want)
    for g, w in zip(jax.tree.leaves(got), jax.tree.leaves(want)):
        np.testing.assert_allclose(g, w, rtol=rtol, atol=atol)


# -- cv_grad equals the hand-written double backprop ----------------------------------------


def _rebar_surrogate(params, phi):
    f, dist = MODEL(params)
    temperature, eta = jnp.exp(phi["log_temperature"]), phi["eta"]
    # The raw estimator function: no derivative-order guard, nothing but the estimator.
    return rx.rebar.fn(f, dist, KEY, num_samples=3, temperature=temperature, eta=eta)


def _relax_surrogate(params, phi):
    f, dist = MODEL(params)
    return rx.relax.fn(f, dist, KEY, num_samples=3, cv_params=phi)


def _score_function_by_hand(params, psi):
    """ĝ = mean_i (f(z_i) − c_ψ(x)) ∇log q(z_i|x) + ∇f(z_i), written without DiCE; its
    value is not E[f] (only its gradient matters here)."""
    keys = jax.random.split(KEY, 3)
    samples = jax.vmap(MODEL(params)[1].sample)(keys)  # sample i from key i, as reparax does

    def one(z):
        def log_q(p):
            return jnp.sum(MODEL(p)[1].log_prob(z))

        def f(p):
            return MODEL(p)[0](z)

        signal = jax.lax.stop_gradient(f(params)) - baseline_net(psi, X)
        grad_log_q, grad_f = jax.grad(log_q)(params), jax.grad(f)(params)
        return jax.tree.map(lambda s, d: signal * s + d, grad_log_q, grad_f)

    return jax.tree.map(lambda g: jnp.mean(g, 0), jax.vmap(one)(samples))


def linear_control_variate(psi, x):
    """h(z) = Σ W_ψ(x) ⊙ z with E_q[h] = Σ W_ψ(x) ⊙ σ(logits): a learned, x-dependent control
    variate for rloo (whose leave-one-out baseline already absorbs any constant baseline)."""
    weights = psi["w"][None] * x  # (3, 2): one coefficient per bit, from its data point

    return rx.control_variates.ControlVariate(
        value=lambda anchor, z: jnp.sum(weights * z),
        expectation=lambda dist, anchor: jnp.sum(weights * dist.mean()),
    )


def _rloo_surrogate(params, psi):
    """RLOO on f − h plus E[h], written with the raw estimator function."""
    f, dist = MODEL(params)
    cv = linear_control_variate(psi, X)
    corrected = lambda z: f(z) - cv.value(None, z)  # noqa: E731
    return rx.rloo.fn(corrected, dist, KEY, num_samples=3) + cv.expectation(dist, None)


@pytest.mark.parametrize("method", ["rebar", "relax", "score_function", "rloo"])
def test_cv_grad_equals_hand_written_double_backprop(method):
    if method == "rloo":
        cv_params = {"w": jnp.array([0.3, -0.2])}
        ghat, want_cv = hand_double_backprop(_rloo_surrogate, PARAMS, cv_params)
        options = {"to_options": lambda psi: {"control_variate": linear_control_variate(psi, X)}}
    elif method == "score_function":
        cv_params = {"w": jnp.array([0.3, -0.2]), "b": jnp.array(0.5)}
        ghat, want_cv = jax.jit(
            lambda psi: (
                _score_function_by_hand(PARAMS, psi),
                jax.grad(lambda p: squared_norm(_score_function_by_hand(PARAMS, p)))(psi),
            )
        )(cv_params)
        options = {"to_options": baseline_options(X)}
    else:
        cv_params = rx.rebar_init(0.7, 0.8) if method == "rebar" else RELAX_INIT
        surrogate = _rebar_surrogate if method == "rebar" else _relax_surrogate
        ghat, want_cv = hand_double_backprop(surrogate, PARAMS, cv_params)
        options = {}

    @jax.jit
    def call(params, cv_params, key):
        return rx.variance_gradient(
            MODEL, params, key, method=method, cv_params=cv_params, num_samples=3, **options
        )

    est, cv_grad = call(PARAMS, cv_params, KEY)
    assert_trees_close(est.grad, ghat)
    assert_trees_close(cv_grad, want_cv)
    assert float(squared_norm(cv_grad)) > 0
    # φ moves the encoder's gradient only: the decoder's is ∇f at the hard sample for any φ.
    other, _ = call(PARAMS, jax.tree.map(lambda leaf: leaf + 0.3, cv_params), KEY)
    assert_trees_close(other.grad["dec"], est.grad["dec"])
    assert not np.allclose(other.grad["enc"]["w"], est.grad["enc"]["w"])
    assert est.grad["dec"]["w"].shape == (2, 2)  # the decoder's gradient is part of ĝ


def test_fixed_distribution_form_is_unchanged():
    """variance_gradient(f, dist, ...) is unchanged: ĝ on dist's leaves, the same numbers as
    the hand-written double backprop on the distribution (what it computed before)."""
    f, dist = MODEL(PARAMS)
    cv_params = rx.rebar_init(0.7, 0.8)
    est, cv_grad = jax.jit(
        lambda dist, cv_params: rx.variance_gradient(
            f, dist, KEY, method="rebar", cv_params=cv_params
        )
    )(dist, cv_params)

    def surrogate(d, phi):
        temperature = jnp.exp(phi["log_temperature"])
        return rx.rebar.fn(f, d, KEY, num_samples=1, temperature=temperature, eta=phi["eta"])

    ghat, want_cv = hand_double_backprop(surrogate, dist, cv_params)
    assert isinstance(est.grad, rx.Bernoulli)
    assert_trees_close(est.grad, ghat)
    assert_trees_close(cv_grad, want_cv)


# -- errors -----------------------------------------------------------------------------------


def test_method_without_trainable_control_variate_is_refused():
    for method in ("pathwise", "rloo", "exact"):
        with pytest.raises(ValueError, match=r"needs `to_options` for method=.*rebar, relax"):
            rx.variance_gradient(MODEL, PARAMS, KEY, method=method, cv_params={})


@pytest.mark.parametrize(
    ("model", "match"),
    [
        (None, r"`model` must be a callable"),
        (lambda p: MODEL(p)[1], r"`model\(params\)` must return a pair \(f, dist\).*Bernoulli"),
        (lambda p: (*MODEL(p), 1.0), r"`model\(params\)` must return a pair.*length 3"),
        (lambda p: MODEL(p)[::-1], r"first element of `model\(params\)` must be the cost f"),
        (lambda p: (MODEL(p)[0], {"logits": p}), r"second element of `model\(params\)`.*dict"),
    ],
    ids=["not-callable", "dist-only", "triple", "swapped", "not-a-distribution"],
)
def test_bad_model_is_a_type_error_naming_it(model, match):
    with pytest.raises(TypeError, match=match):
        rx.variance_gradient(model, PARAMS, KEY, method="rebar", cv_params=rx.rebar_init())


def test_bad_to_options_and_unreachable_cv_params():
    with pytest.raises(TypeError, match=r"`to_options` must be a callable"):
        rx.variance_gradient(
            MODEL, PARAMS, KEY, method="score_function", cv_params={}, to_options={}
        )
    # A baseline held fixed by the user: its parameters cannot reach ĝ, a silent 0 refused.
    with pytest.raises(ValueError, match=r"does not depend on `cv_params`.*silent 0"):
        rx.variance_gradient(
            MODEL,
            PARAMS,
            KEY,
            method="score_function",
            cv_params=BASELINE_INIT,
            to_options=lambda psi: {"baseline": jax.lax.stop_gradient(baseline_net(psi, X))},
        )
    # rloo has no baseline option (its leave-one-out baseline already absorbs any constant).
    with pytest.raises(TypeError, match="method='rloo' has no option `baseline`"):
        rx.variance_gradient(
            MODEL,
            PARAMS,
            KEY,
            method="rloo",
            cv_params=BASELINE_INIT,
            to_options=baseline_options(X),
            num_samples=2,
        )


# -- training: lower variance, still unbiased --------------------------------------------------

# Independent estimates (vmapped over keys) and samples per estimate, for the variance before
# and after training and, with the same estimates, the unbiasedness check with power (plates
# lower the variance fourfold: a quarter of the samples gives the same power).
NUM_ESTIMATES = 2000
NUM_SAMPLES = {0: 64, 1: 16}


def train_jointly(method, cv_params, *, plates=0, steps=300, cv_learning_rate=0.03):
    """The amortized loop: each jitted step updates the model (SGD on ĝ) and the control
    variate (Adam on ∂‖ĝ‖²/∂φ) from one variance_trainer call; the data x is an argument of
    the step, and the learned baseline's options are built from it inside the step."""
    options = {"plates": plates} if plates else {}
    trainer = rx.control_variates.variance_trainer(
        optax.adam(cv_learning_rate), method=method, **options
    )
    model_optimizer = optax.sgd(0.01)

    @jax.jit
    def run(params, cv_params, x, key):
        def step(carry, k):
            params, model_state, cv_state = carry
            overrides = {"to_options": baseline_options(x)} if method == "score_function" else {}
            est, cv_state = trainer.step(cv_state, make_model(x, plates), params, k, **overrides)
            updates, model_state = model_optimizer.update(est.grad, model_state)
            return (optax.apply_updates(params, updates), model_state, cv_state), est.value

        init = (params, model_optimizer.init(params), trainer.init(cv_params))
        (params, _, cv_state), values = jax.lax.scan(step, init, jax.random.split(key, steps))
        return params, cv_state.cv_params, values

    return run(PARAMS, cv_params, X, jax.random.key(3))


def encoder_gradients(method, plates=0):
    """``(params, cv_params) -> ĝ_enc`` for NUM_ESTIMATES keys, NUM_SAMPLES[plates] each,
    compiled once per method: the gradient of ``rx.expectation`` with the options φ gives,
    the ĝ that variance_gradient returns (the same surrogate; its cv_grad is not needed)."""
    estimator = rx.methods()[method]
    to_options = baseline_options(X) if method == "score_function" else None
    to_options = to_options or estimator.trainable.to_options
    keys = jax.random.split(jax.random.key(5), NUM_ESTIMATES)

    @jax.jit
    def run(params, cv_params):
        def one(k):
            def loss(p):
                f, dist = make_model(X, plates)(p)
                options = {"plates": plates, **to_options(cv_params)}
                return rx.expectation(
                    f, dist, k, method=method, num_samples=NUM_SAMPLES[plates], **options
                )

            return jax.grad(loss)(params)["enc"]["w"]

        return jax.vmap(one)(keys).reshape(NUM_ESTIMATES, -1)

    return run


def check_training(method, init, plates=0):
    params, trained, values = train_jointly(method, init, plates=plates)
    assert float(jnp.mean(values[-50:])) < float(jnp.mean(values[:50]))  # the model learned
    gradients = encoder_gradients(method, plates)
    before, after = np.asarray(gradients(params, init)), np.asarray(gradients(params, trained))
    ratio = float(np.sum(np.var(after, 0)) / np.sum(np.var(before, 0)))
    print(f"{method}, plates={plates}: encoder-gradient variance after/before = {ratio:.3f}")
    assert_variance_lower(after, before)
    # Unbiased with the trained φ: the mean of ĝ_enc against enumeration at the same params.
    exact = np.asarray(jax.jit(jax.grad(exact_loss))(params)["enc"]["w"]).ravel()
    assert_unbiased(after, exact, label=f"{method} trained, plates={plates}, encoder weights")
    return after


def test_learned_baseline_trains_lowers_variance_and_stays_unbiased():
    # Measured: variance ratio after/before ≈ 0.29 (power ratio 0.81).
    check_training("score_function", BASELINE_INIT)


# Slow tier: the default tier trains REBAR with plates (below), the minibatch case.
@pytest.mark.slow
@pytest.mark.parametrize("method", ["rebar", "relax"])
def test_relaxation_control_variate_trains_lowers_variance_and_stays_unbiased(method):
    # Measured: variance ratio after/before ≈ 0.64 (REBAR: η 1 → 1.31, λ 0.5 → 1.13).
    check_training(method, rx.rebar_init() if method == "rebar" else RELAX_INIT)


# -- plates: a minibatch, each data point credited with its own cost ----------------------------


def test_plates_cv_grad_equals_the_sum_over_data_points():
    """With plates=1, ĝ and cv_grad are those of Σ_n REBAR(cost_n, q(z_n|x_n), key_n): the
    raw estimator function on each data point alone (vmapped), summed."""
    cv_params = rx.rebar_init(0.7, 0.8)

    def surrogate(params, phi):
        temperature, eta = jnp.exp(phi["log_temperature"]), phi["eta"]
        keys = jax.random.split(KEY, X.shape[0])  # data point n's key, as plates split it

        def one(x_n, key_n):
            def cost_n(z_n):
                return jnp.sum((x_n - z_n @ params["dec"]["w"] - params["dec"]["b"]) ** 2)

            dist_n = rx.Bernoulli(logits=x_n @ params["enc"]["w"] + params["enc"]["b"])
            return rx.rebar.fn(
                cost_n, dist_n, key_n, num_samples=3, temperature=temperature, eta=eta
            )

        return jnp.sum(jax.vmap(one)(X, keys))

    ghat, want_cv = hand_double_backprop(surrogate, PARAMS, cv_params)
    est, cv_grad = jax.jit(
        lambda params, cv_params: rx.variance_gradient(
            make_model(X, plates=1),
            params,
            KEY,
            method="rebar",
            cv_params=cv_params,
            num_samples=3,
            plates=1,
        )
    )(PARAMS, cv_params)
    assert_trees_close(est.grad, ghat)
    # cv_grad = 2 ĝᵀ∂ĝ/∂φ ≈ 0.05 is a sum of O(1) products, accumulated in another order than
    # the reference's: float32 rounding of a few 1e-6 (in float64 the two agree to 2e-15).
    assert_trees_close(cv_grad, want_cv, rtol=0, atol=1e-5)


def test_plates_training_lowers_variance_and_stays_unbiased():
    # Measured: variance ratio after/before ≈ 0.40 (η 1 → 1.46, λ 0.5 → 3.1). At the same
    # params, plated REBAR trained has ≈ 0.47× the variance of summed-cost REBAR trained.
    check_training("rebar", rx.rebar_init(), plates=1)


def test_custom_relax_surrogate_that_ignores_cv_params_is_refused():
    ignores = lambda phi, z: jnp.sum(jnp.tanh(z))  # noqa: E731
    with pytest.raises(ValueError, match=r"does not depend on `cv_params`"):
        rx.variance_gradient(
            MODEL, PARAMS, KEY, method="relax", cv_params={"w": jnp.ones(())}, surrogate=ignores
        )
