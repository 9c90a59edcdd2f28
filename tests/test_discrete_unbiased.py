"""Every unbiased discrete estimator against exact enumeration (z-test on the mean)."""

import jax
import jax.numpy as jnp
import pytest

import reparax as rx
from tests.stats import assert_unbiased

UNBIASED = [name for name, info in rx.methods().items() if info.unbiased]


def estimates(f, dist, method, num_estimates=6000, seed=0):
    num_samples = 2 if rx.methods()[method].min_samples > 1 else 1
    keys = jax.random.split(jax.random.key(seed), num_estimates)

    def one(key):
        return rx.gradient_estimate(f, dist, key, method=method, num_samples=num_samples)

    return jax.jit(jax.vmap(one))(keys)


def check_against_exact(f, dist, *, differentiable=True):
    """Every unbiased method for ``dist`` (those that need a differentiable f only when
    ``f`` is differentiable on relaxed inputs) against exact enumeration."""
    exact = rx.gradient_estimate(f, dist, jax.random.key(0), method="exact")
    for method in rx.supported_methods(dist):
        if method not in UNBIASED or method == "exact":
            continue
        if rx.methods()[method].differentiable_f and not differentiable:
            continue
        est = estimates(f, dist, method)
        try:
            assert_unbiased(est.grad.logits, exact.grad.logits)
            assert_unbiased(est.value, exact.value)
        except AssertionError as error:
            raise AssertionError(f"{method}: {error}") from None


def test_one_bit_toy():
    # E[(b − t)²] for t ∈ {0.45, 0.499} at logits {−1.5, 0, 0.8}: one vmap over the six
    # (logit, t) problems per method, each checked against ∂/∂θ = σ'(θ)(1 − 2t).
    logits = jnp.array([-1.5, 0.0, 0.8] * 2)
    targets = jnp.array([0.45] * 3 + [0.499] * 3)
    sigma = jax.nn.sigmoid(logits)
    closed_form = sigma * (1 - sigma) * (1 - 2 * targets)
    keys = jax.random.split(jax.random.key(1), 6000)
    for method in UNBIASED:
        dist = rx.Bernoulli(jnp.zeros(1))
        if not rx.methods()[method].supports(dist):
            continue
        num_samples = rx.methods()[method].min_samples

        def one(logit, t, key, method=method, num_samples=num_samples):
            f = lambda b: jnp.sum((b - t) ** 2)  # noqa: E731
            est = rx.gradient_estimate(
                f, rx.Bernoulli(logit[None]), key, method=method, num_samples=num_samples
            )
            return est.grad.logits[0]

        grads = jax.jit(jax.vmap(jax.vmap(one, (None, None, 0)), (0, 0, None)))(
            logits, targets, keys
        )  # (6 problems, 6000 estimates)
        try:
            assert_unbiased(grads.T, closed_form)
        except AssertionError as error:
            raise AssertionError(f"{method}: {error}") from None


@pytest.mark.parametrize("t", [0.45, 0.499])
def test_multi_bit_toy(t):
    dist = rx.Bernoulli(jnp.array([-1.0, -0.3, 0.0, 0.5, 2.0]))
    check_against_exact(lambda b: jnp.sum((b - t) ** 2), dist)


def test_random_cost_table_bernoulli():
    table = jax.random.normal(jax.random.key(11), (2, 2, 2))
    dist = rx.Bernoulli(jnp.array([0.3, -0.7, 1.1]))

    def f(b):
        index = b.astype(jnp.int32)
        return table[index[0], index[1], index[2]]

    check_against_exact(f, dist, differentiable=False)


@pytest.mark.parametrize("family", [rx.Categorical, rx.OneHotCategorical])
def test_random_cost_table_categorical(family):
    table = jax.random.normal(jax.random.key(12), (3, 3))
    dist = family(jnp.array([[0.2, -0.4, 0.9], [-1.0, 0.5, 0.0]]))

    def f(z):
        index = z if family is rx.Categorical else jnp.argmax(z, axis=-1)
        return table[index[0], index[1]]

    check_against_exact(f, dist, differentiable=False)


@pytest.mark.parametrize("family", [rx.Categorical, rx.OneHotCategorical])
def test_three_by_four_with_interaction(family):
    logits = jax.random.normal(jax.random.key(13), (3, 4))
    costs = jax.random.normal(jax.random.key(14), (3, 4))

    def f(z):
        one_hot = jax.nn.one_hot(z, 4) if family is rx.Categorical else z
        main = jnp.sum(costs * one_hot)
        interaction = 2.0 * one_hot[0, 1] * one_hot[1, 2] - one_hot[2, 0] * one_hot[0, 3]
        return main + interaction

    check_against_exact(f, family(logits))


def test_exact_matches_closed_form_enumeration():
    # E[Σ b_d] = Σ σ(θ_d): gradient σ'(θ_d)
    logits = jnp.array([0.3, -2.0, 4.0])
    est = rx.gradient_estimate(jnp.sum, rx.Bernoulli(logits), jax.random.key(0), method="exact")
    assert jnp.allclose(est.value, jnp.sum(jax.nn.sigmoid(logits)), rtol=1e-6)
    sig = jax.nn.sigmoid(logits)
    assert jnp.allclose(est.grad.logits, sig * (1 - sig), rtol=1e-5)
