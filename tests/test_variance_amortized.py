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


def cost(p, z, x):
    """Squared reconstruction error of the minibatch from its bits z (shape (3, 2))."""
    return jnp.sum((x - linear(p, z)) ** 2)


def make_model(x):
    def model(params):
        return (lambda z: cost(params["dec"], z, x)), rx.Bernoulli(logits=linear(params["enc"], x))

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
    assert est.grad["dec"]["w"].shape == (2, 2)  # the decoder's gradient is part of ĝ


def test_fixed_distribution_form_is_the_identity_model():
    """variance_gradient(f, dist, ...) is unchanged: ĝ on dist's leaves, the same numbers as
    the hand-written double backprop and as the model form on the logits."""
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
    same, same_cv = jax.jit(
        lambda logits, cv_params: rx.variance_gradient(
            lambda logits: (f, rx.Bernoulli(logits=logits)),
            logits,
            KEY,
            method="rebar",
            cv_params=cv_params,
        )
    )(dist.logits, cv_params)
    assert_trees_close((same.value, same.grad, same_cv), (est.value, est.grad.logits, cv_grad))


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
# and after training and, with the same estimates, the unbiasedness check with power.
NUM_ESTIMATES, NUM_SAMPLES = 2000, 64


def train_jointly(method, cv_params, *, steps=300, cv_learning_rate=0.03):
    """The amortized loop: each jitted step updates the model (SGD on ĝ) and the control
    variate (Adam on ∂‖ĝ‖²/∂φ) from one variance_trainer call; the data x is an argument of
    the step, and the learned baseline's options are built from it inside the step."""
    trainer = rx.control_variates.variance_trainer(optax.adam(cv_learning_rate), method=method)
    model_optimizer = optax.sgd(0.01)

    @jax.jit
    def run(params, cv_params, x, key):
        def step(carry, k):
            params, model_state, cv_state = carry
            overrides = {"to_options": baseline_options(x)} if method == "score_function" else {}
            est, cv_state = trainer.step(cv_state, make_model(x), params, k, **overrides)
            updates, model_state = model_optimizer.update(est.grad, model_state)
            return (optax.apply_updates(params, updates), model_state, cv_state), est.value

        init = (params, model_optimizer.init(params), trainer.init(cv_params))
        (params, _, cv_state), values = jax.lax.scan(step, init, jax.random.split(key, steps))
        return params, cv_state.cv_params, values

    return run(PARAMS, cv_params, X, jax.random.key(3))


def encoder_gradients(method):
    """``(params, cv_params) -> ĝ_enc`` for NUM_ESTIMATES keys: the estimate
    variance_gradient returns, with NUM_SAMPLES samples each, compiled once per method."""
    to_options = baseline_options(X) if method == "score_function" else None
    keys = jax.random.split(jax.random.key(5), NUM_ESTIMATES)

    @jax.jit
    def run(params, cv_params):
        def one(k):
            est, _ = rx.variance_gradient(
                MODEL,
                params,
                k,
                method=method,
                cv_params=cv_params,
                num_samples=NUM_SAMPLES,
                to_options=to_options,
            )
            return est.grad["enc"]["w"]

        return jax.vmap(one)(keys).reshape(NUM_ESTIMATES, -1)

    return run


def check_training(method, init):
    params, trained, values = train_jointly(method, init)
    assert float(jnp.mean(values[-50:])) < float(jnp.mean(values[:50]))  # the model learned
    gradients = encoder_gradients(method)
    before, after = np.asarray(gradients(params, init)), np.asarray(gradients(params, trained))
    ratio = float(np.sum(np.var(after, 0)) / np.sum(np.var(before, 0)))
    print(f"{method}: encoder-gradient variance after/before training = {ratio:.3f}")
    assert_variance_lower(after, before)
    # Unbiased with the trained φ: the mean of ĝ_enc against enumeration at the same params.
    exact = np.asarray(jax.grad(exact_loss)(params)["enc"]["w"]).ravel()
    assert_unbiased(after, exact, label=f"{method} trained, encoder weights")


def test_learned_baseline_trains_lowers_variance_and_stays_unbiased():
    # Measured: variance ratio after/before ≈ 0.29 (power ratio 0.81).
    check_training("score_function", BASELINE_INIT)


@pytest.mark.parametrize("method", ["rebar", pytest.param("relax", marks=pytest.mark.slow)])
def test_relaxation_control_variate_trains_lowers_variance_and_stays_unbiased(method):
    # Measured: variance ratio after/before ≈ 0.64 (REBAR: η 1 → 1.31, λ 0.5 → 1.13).
    check_training(method, rx.rebar_init() if method == "rebar" else RELAX_INIT)
