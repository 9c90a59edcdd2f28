"""Gapped straight-through, decoupled ST-Gumbel-softmax and hard-sample values, each against
its definition written out by hand here."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import reparax as rx
from reparax.estimators.gapped_straight_through import gapped_logits

KEY = jax.random.key(12)
LOGITS = jnp.array([[0.3, -0.2, 1.0], [0.0, 2.5, -1.5]])
BITS = jnp.array([0.4, -1.2, 2.0])
WEIGHTS = jnp.array([[1.0, -2.0, 0.5], [0.3, 0.7, -1.1]])
NUM = 6


def smooth(z):  # OneHotCategorical: rows of shape (2, 3)
    return jnp.sum(WEIGHTS * z) + jnp.sum(jnp.sin(3.0 * z))


def smooth_bits(b):  # Bernoulli: bits of shape (3,)
    return jnp.sum(jnp.sin(3.0 * b) + (b - 0.3) ** 2 * jnp.arange(1.0, 4.0))


def _sample_keys(key, num):
    """Sample i of an estimate uses split(key, num)[i]."""
    return jax.random.split(key, num)


def _paper_surrogate(theta, hard, f, temperature, gap):
    """Fan et al.'s GST as the authors state it: lift the sampled logit to the max
    (θ_max − θ)·D, push every other logit to at least κ below it, relu(θ − θ_max + κ)·(1 − D),
    both moves held fixed; straight-through on softmax(m/τ)."""
    fixed = jax.lax.stop_gradient(theta)
    top = jnp.max(fixed, axis=-1, keepdims=True)
    lift = (top - fixed) * hard
    push = jax.nn.relu(fixed - top + gap) * (1.0 - hard)
    soft = jax.nn.softmax((theta + (lift - push)) / temperature, axis=-1)
    return f(hard + soft - jax.lax.stop_gradient(soft))


# -- gapped straight-through -----------------------------------------------------------------


def test_gst_forward_value_is_the_hard_sample_exactly():
    keys = _sample_keys(KEY, 5)
    for dist, f in ((rx.OneHotCategorical(LOGITS), smooth), (rx.Bernoulli(BITS), smooth_bits)):
        values, hard = jax.jit(
            lambda keys, dist=dist, f=f: (
                jax.vmap(lambda k: rx.expectation(f, dist, k, method="gapped_straight_through"))(
                    keys
                ),
                jax.vmap(lambda k: f(dist.sample(jax.random.split(k, 1)[0])))(keys),
            )
        )(keys)
        np.testing.assert_array_equal(values, hard)


@pytest.mark.parametrize("temperature, gap", [(1.0, 1.0), (0.4, 2.5)])
def test_gst_gradient_is_that_of_the_papers_surrogate_one_hot(temperature, gap):
    keys = _sample_keys(KEY, NUM)

    def by_hand(theta, tau):
        hard = jax.vmap(lambda k: rx.OneHotCategorical(jax.lax.stop_gradient(theta)).sample(k))(
            keys
        )
        terms = jax.vmap(lambda d: _paper_surrogate(theta, d, smooth, tau, gap))(hard)
        return jnp.mean(terms)

    def ours(theta, tau):
        return rx.gapped_straight_through(
            smooth,
            rx.OneHotCategorical(theta),
            KEY,
            num_samples=NUM,
            temperature=tau,
            gap=gap,
        )

    tau = jnp.asarray(temperature)
    both = jax.jit(lambda t, s: [jax.value_and_grad(g, (0, 1))(t, s) for g in (ours, by_hand)])
    (value, grads), (expected_value, expected) = both(LOGITS, tau)
    np.testing.assert_allclose(value, expected_value, rtol=1e-6)
    for a, b in zip(grads, expected):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


def test_gst_gradient_is_that_of_the_papers_surrogate_bernoulli():
    """A bit is the two-class categorical with logits (0, θ) (any shift gives the same
    softmax); f receives the class-1 coordinate."""
    keys = _sample_keys(KEY, NUM)

    def by_hand(theta):
        bits = jax.vmap(lambda k: rx.Bernoulli(jax.lax.stop_gradient(theta)).sample(k))(keys)
        rows = jnp.stack([1.0 - bits, bits], axis=-1)
        two_class = jnp.stack([jnp.zeros_like(theta), theta], axis=-1)
        terms = jax.vmap(
            lambda d: _paper_surrogate(two_class, d, lambda z: smooth_bits(z[..., 1]), 0.7, 1.0)
        )(rows)
        return jnp.mean(terms)

    def ours(theta):
        return rx.gapped_straight_through(
            smooth_bits, rx.Bernoulli(theta), KEY, num_samples=NUM, temperature=0.7
        )

    both = jax.jit(lambda t: [jax.value_and_grad(g)(t) for g in (ours, by_hand)])
    (value, grad), (expected_value, expected) = both(BITS)
    np.testing.assert_allclose(value, expected_value, rtol=1e-6)
    np.testing.assert_allclose(grad, expected, rtol=1e-5)


def test_gst_perturbation_is_consistent_with_a_gap_and_moves_no_derivative():
    theta = jax.random.normal(jax.random.key(3), (64, 5)) * 3.0
    hard = jax.nn.one_hot(jax.random.randint(jax.random.key(4), (64,), 0, 5), 5)
    moved = gapped_logits(theta, hard, 1.5)
    sampled = jnp.sum(moved * hard, -1)
    others = jnp.max(jnp.where(hard > 0, -jnp.inf, moved), -1)
    assert bool(jnp.all(jnp.argmax(moved, -1) == jnp.argmax(hard, -1)))  # consistency
    assert bool(jnp.all(sampled - others >= 1.5 - 1e-5))  # the gap
    np.testing.assert_allclose(sampled, jnp.max(theta, -1), rtol=1e-6)  # lifted to the max
    # classes already κ below the max are not moved
    untouched = (hard == 0) & (theta <= jnp.max(theta, -1, keepdims=True) - 1.5)
    np.testing.assert_array_equal(moved[untouched], theta[untouched])
    jac = jax.jacobian(lambda t: gapped_logits(t, hard[0], 1.5))(theta[0])
    np.testing.assert_array_equal(jac, jnp.eye(5))


def test_gst_refuses_categorical_naming_one_hot_and_a_bad_gap():
    with pytest.raises(ValueError, match="OneHotCategorical"):
        rx.gradient_estimate(
            lambda z: jnp.sum(z * 1.0),
            rx.Categorical(LOGITS),
            KEY,
            method="gapped_straight_through",
        )
    dist = rx.OneHotCategorical(LOGITS)
    for gap, error in ((0.0, ValueError), (-1.0, ValueError), ("1", TypeError)):
        with pytest.raises(error, match="gap"):
            rx.gradient_estimate(smooth, dist, KEY, method="gapped_straight_through", gap=gap)


def test_gst_refuses_a_second_derivative():
    def loss(theta):
        return rx.gapped_straight_through(smooth, rx.OneHotCategorical(theta), KEY)

    with pytest.raises(rx.DerivativeOrderError):
        jax.jit(jax.hessian(loss))(LOGITS)  # refused while tracing


# -- decoupled ST-Gumbel-softmax -------------------------------------------------------------


def _st_gs_by_hand(theta, tau_backward):
    """Forward: D = one_hot(argmax(θ + G)) (the same for every forward temperature);
    backward: y = softmax((θ + G)/τ_b) of the same noise; z = D + y − sg(y)."""
    gumbels = jax.vmap(lambda k: jax.random.gumbel(k, theta.shape))(_sample_keys(KEY, NUM))

    def one(g):
        soft = jax.nn.softmax((theta + g) / tau_backward, axis=-1)
        hard = jax.nn.one_hot(jnp.argmax(theta + g, -1), theta.shape[-1])
        return smooth(hard + soft - jax.lax.stop_gradient(soft))

    return jnp.mean(jax.vmap(one)(gumbels))


def test_decoupled_st_gs_is_its_definition():
    def ours(theta, tau_f, tau_b):
        return rx.st_gumbel_softmax(
            smooth,
            rx.OneHotCategorical(theta),
            KEY,
            num_samples=NUM,
            temperature=tau_f,
            backward_temperature=tau_b,
        )

    @jax.jit
    def everything(theta, tau_f, tau_b):
        return (
            jax.value_and_grad(ours, (0, 1, 2))(theta, tau_f, tau_b),
            jax.value_and_grad(_st_gs_by_hand, (0, 1))(theta, tau_b),
            jax.grad(ours)(theta, tau_b, None),  # plain ST-GS at τ_b
            jax.grad(ours)(theta, tau_f, None),  # plain ST-GS at τ_f
        )

    (value, grads), (expected_value, expected), at_tau_b, at_tau_f = everything(LOGITS, 2.0, 0.3)
    np.testing.assert_allclose(value, expected_value, rtol=1e-6)
    np.testing.assert_allclose(grads[0], expected[0], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(grads[2], expected[1], rtol=1e-5)
    assert float(grads[1]) == 0.0  # τ_f does not move the hard sample
    # ... so decoupled (τ_f, τ_b) is ST-GS at τ_b, bit for bit, and not ST-GS at τ_f
    np.testing.assert_array_equal(grads[0], at_tau_b)
    assert not np.allclose(grads[0], at_tau_f)


@pytest.mark.parametrize("family", [rx.OneHotCategorical, rx.Bernoulli])
def test_backward_temperature_none_is_the_single_temperature_estimator(family):
    dist = family(LOGITS) if family is rx.OneHotCategorical else family(BITS)
    f = smooth if family is rx.OneHotCategorical else smooth_bits

    def est(**options):
        return rx.gradient_estimate(
            f, dist, KEY, method="st_gumbel_softmax", num_samples=NUM, **options
        )

    default, explicit = est(temperature=0.7), est(temperature=0.7, backward_temperature=None)
    np.testing.assert_array_equal(default.grad.logits, explicit.grad.logits)
    np.testing.assert_array_equal(default.value, explicit.value)
    if family is rx.OneHotCategorical:  # today's ST-GS: the by-hand surrogate at τ = 0.7
        expected = jax.grad(_st_gs_by_hand)(LOGITS, 0.7)
        np.testing.assert_allclose(default.grad.logits, expected, rtol=1e-5, atol=1e-6)
    with pytest.raises(ValueError, match="backward_temperature"):
        est(backward_temperature=0.0)


# -- hard-sample values ----------------------------------------------------------------------


@pytest.mark.parametrize("family", [rx.OneHotCategorical, rx.Bernoulli])
def test_gumbel_softmax_hard_value_is_f_at_the_hard_sample(family):
    dist = family(LOGITS) if family is rx.OneHotCategorical else family(BITS)
    f = smooth if family is rx.OneHotCategorical else smooth_bits
    keys = _sample_keys(KEY, 5)

    def value(k):
        return rx.expectation(f, dist, k, method="gumbel_softmax", value="hard", temperature=0.5)

    # argmax (one-hot) / threshold (bits) of the same noise as sample 0 of the estimate
    hard = jax.vmap(lambda k: f(dist.transform(dist.noise(jax.random.split(k, 1)[0]))))(keys)
    relaxed = jax.vmap(
        lambda k: rx.expectation(f, dist, k, method="gumbel_softmax", temperature=0.5)
    )(keys)
    # jit may reassociate f's sum (1 ulp at XLA's default optimization): equal to rounding.
    np.testing.assert_allclose(jax.jit(jax.vmap(value))(keys), hard, rtol=1e-6)
    assert not np.allclose(relaxed, hard)  # the default still reports the relaxed objective


def test_gumbel_softmax_hard_value_leaves_every_derivative_unchanged():
    """First and second derivatives, in the logits and the temperature, with an f that also
    depends on θ directly (its own dependence must not enter through the hard term)."""

    def estimate(theta, tau, value):
        f = lambda z: smooth(z) + jnp.sum(jnp.tanh(theta) * z)  # noqa: E731
        return rx.gumbel_softmax(
            f, rx.OneHotCategorical(theta), KEY, num_samples=4, temperature=tau, value=value
        )

    tau = jnp.asarray(0.6)
    for derivative in (jax.grad(estimate, (0, 1)), jax.hessian(estimate)):
        both = jax.jit(lambda t, s, d=derivative: [d(t, s, v) for v in ("hard", "relaxed")])
        hard, relaxed = both(LOGITS, tau)
        for a, b in zip(jax.tree.leaves(hard), jax.tree.leaves(relaxed)):
            np.testing.assert_array_equal(a, b)
    # several samples: the mean of f at the argmax of each sample's own noise
    gumbels = jax.vmap(lambda k: jax.random.gumbel(k, LOGITS.shape))(_sample_keys(KEY, NUM))
    at_argmax = jax.vmap(lambda g: smooth(jax.nn.one_hot(jnp.argmax(LOGITS + g, -1), 3)))
    value = rx.gumbel_softmax(
        smooth, rx.OneHotCategorical(LOGITS), KEY, num_samples=NUM, value="hard"
    )
    np.testing.assert_allclose(value, jnp.mean(at_argmax(gumbels)), rtol=1e-6)


def test_gumbel_softmax_hard_value_reads_aux_at_the_hard_samples():
    """With has_aux, the aux estimate comes from the same evaluations as the value: at the
    hard samples (each has one 1 per row, so Σz² is 2 exactly)."""

    def f(z):
        return smooth(z), {"squares": jnp.sum(z**2), "first": z[0, 0]}

    est = rx.gradient_estimate(
        f,
        rx.OneHotCategorical(LOGITS),
        KEY,
        method="gumbel_softmax",
        num_samples=NUM,
        value="hard",
        has_aux=True,
    )
    gumbels = jax.vmap(lambda k: jax.random.gumbel(k, LOGITS.shape))(_sample_keys(KEY, NUM))
    hard = jax.nn.one_hot(jnp.argmax(LOGITS[None] + gumbels, -1), 3)
    assert float(est.aux["squares"]) == 2.0
    np.testing.assert_allclose(est.aux["first"], jnp.mean(hard[:, 0, 0]), rtol=1e-6)
    np.testing.assert_allclose(est.value, jnp.mean(jax.vmap(smooth)(hard)), rtol=1e-6)


def test_bad_value_choice_is_refused_naming_it():
    with pytest.raises(ValueError, match="`value`"):
        rx.gradient_estimate(
            smooth, rx.OneHotCategorical(LOGITS), KEY, method="gumbel_softmax", value="soft"
        )
