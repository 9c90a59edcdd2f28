"""ARM/ARS and DisARM: the binary formulas, the stick-breaking coupling, categorical claims.

Unbiasedness of ``arm`` and ``disarm`` on Bernoulli, Categorical and OneHotCategorical
against exact enumeration is in ``test_discrete_unbiased.py`` (they are picked up there
like every unbiased method).
"""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import reparax as rx
from reparax.estimators._stick_breaking import stick_breaking_pair
from tests.stats import Z, assert_variance_lower

LOGITS = jnp.array([0.3, -1.2, 2.5, -0.1, 0.0, 4.0, -50.0, 50.0])
TARGETS = jnp.linspace(0.4, 0.6, LOGITS.shape[0])


def interacting(b):
    return jnp.sum((b - TARGETS) ** 2 * jnp.arange(1.0, 9.0)) + 3.0 * b[0] * b[1]


def test_on_bernoulli_they_are_the_published_arm_and_disarm():
    # Per sample, for the noise ℓ of the sample key: ARM (Yin & Zhou 2019) is
    # (f(b₁) − f(b₂))(σ(ℓ) − ½) and DisARM (Dong et al. 2020) is
    # ½(f(b₁) − f(b₂))(−1)^{b₂} 1[b₁ ≠ b₂] σ(|θ|), b₁ = 1[θ + ℓ > 0], b₂ = 1[θ − ℓ > 0].
    dist = rx.Bernoulli(LOGITS)
    keys = jax.random.split(jax.random.key(5), 64)

    def one(key):
        noise = dist.noise(jax.random.split(key, 1)[0])  # the key of sample 0
        b1 = (LOGITS + noise > 0).astype(jnp.float32)
        b2 = (LOGITS - noise > 0).astype(jnp.float32)
        diff = interacting(b1) - interacting(b2)
        arm = diff * (jax.nn.sigmoid(noise) - 0.5)
        disarm = 0.5 * diff * (1 - 2 * b2) * (b1 != b2) * jax.nn.sigmoid(jnp.abs(LOGITS))
        got = [rx.gradient_estimate(interacting, dist, key, method=m) for m in ("arm", "disarm")]
        value = 0.5 * (interacting(b1) + interacting(b2))
        return arm, disarm, got[0].grad.logits, got[1].grad.logits, value, got[1].value

    arm, disarm, got_arm, got_disarm, value, got_value = jax.jit(jax.vmap(one))(keys)
    np.testing.assert_allclose(got_arm, arm, atol=1e-6)
    np.testing.assert_allclose(got_disarm, disarm, atol=1e-6)
    np.testing.assert_allclose(got_value, value, rtol=1e-6)
    assert float(jnp.mean(jnp.abs(disarm) > 0)) > 0.1  # the comparison is not vacuous


@pytest.mark.parametrize(
    "log_probs",
    [
        jax.nn.log_softmax(jnp.array([0.3, -1.2, 1.5, 0.1, -0.4])),
        jnp.log(jnp.array([1e-30, 0.2, 0.2, 0.6 - 1e-30])),  # a negligible class and a tie
    ],
    ids=["random", "tiny-and-tie"],
)
def test_stick_breaking_pair_frequencies_match_the_importance_weights(log_probs):
    # Each draw of the pair must be distributed as q, and p(n, m) = q(n) q(m) / w(n, m) for
    # n ≠ m: both checked as z-tests on frequencies of 200 000 pairs.
    num, k = 200_000, log_probs.shape[0]
    u = jax.random.uniform(jax.random.key(7), (num, k - 1), minval=1e-12)
    first, second, log_w = stick_breaking_pair(
        jnp.broadcast_to(log_probs, (num, k)), jnp.log(u), jnp.log1p(-u)
    )
    first, second, log_w = np.asarray(first), np.asarray(second), np.asarray(log_w)
    q = np.exp(np.asarray(log_probs, np.float64))
    for draws in (first, second):
        freq = np.bincount(draws, minlength=k) / num
        np.testing.assert_array_less(np.abs(freq - q), Z * np.sqrt(q * (1 - q) / num) + 1e-9)
    same = first == second
    assert np.all(first[same] == np.argmax(q))  # only the most probable class repeats
    assert np.all(np.isneginf(log_w[same])) and np.all(np.isfinite(log_w[~same]))
    weights = np.full((k, k), np.nan)
    weights[first[~same], second[~same]] = np.exp(log_w[~same])
    joint = np.zeros((k, k))
    np.add.at(joint, (first, second), 1.0 / num)
    off = ~np.eye(k, dtype=bool) & (q[:, None] * q[None, :] > 1e-12)
    expected = q[:, None] * q[None, :] / weights
    assert np.all(np.isfinite(expected[off])), "a pair with q(n)q(m) > 0 was never drawn"
    stderr = np.sqrt(expected * (1 - expected) / num)
    np.testing.assert_array_less(np.abs(joint - expected)[off], (Z * stderr + 1e-9)[off])


def _single_categorical_grads(method, num_samples, k=3, num_estimates=20000):
    dist = rx.OneHotCategorical(jax.random.normal(jax.random.key(3), (k,)))
    costs = jax.random.normal(jax.random.key(2), (k,))
    f = lambda z: jnp.sum(costs * z)  # noqa: E731
    keys = jax.random.split(jax.random.key(4), num_estimates)
    one = lambda key: rx.gradient_estimate(f, dist, key, method=method, num_samples=num_samples)  # noqa: E731
    return jax.jit(jax.vmap(one))(keys).grad.logits


def test_categorical_claims_of_dong_mnih_tucker_2021():
    # At an equal number of f-evaluations: the importance-weighted antithetic estimator
    # (2 evaluations) beats REINFORCE leave-one-out with 2 samples, while ARS (K evaluations)
    # underperforms leave-one-out with K samples (their §6 finding about Yin et al. 2019).
    k = 3
    assert_variance_lower(
        _single_categorical_grads("disarm", 1), _single_categorical_grads("rloo", 2)
    )
    assert_variance_lower(_single_categorical_grads("rloo", k), _single_categorical_grads("arm", 1))


def test_two_class_categorical_disarm_is_exact_at_equal_logits():
    # K = 2, equal logits: the pair always differs and w = ½, so every estimate is exactly
    # ¼ (f(0) − f(1)) (±1 on the two logits), the gradient itself: variance zero, as for
    # the Bernoulli DisARM at logit 0.
    dist = rx.Categorical(jnp.zeros(2))
    f = lambda z: jnp.where(z == 0, 0.8, -0.4)  # noqa: E731
    keys = jax.random.split(jax.random.key(9), 256)
    one = lambda key: rx.gradient_estimate(f, dist, key, method="disarm").grad.logits  # noqa: E731
    grads = jax.jit(jax.vmap(one))(keys)
    np.testing.assert_allclose(
        grads, jnp.broadcast_to(jnp.array([0.3, -0.3]), grads.shape), atol=1e-6
    )


def test_arm_counts_k_evaluations():
    assert rx.methods()["arm"].count_evaluations(rx.OneHotCategorical(jnp.zeros((20, 10)))) == 10
    assert rx.methods()["arm"].count_evaluations(rx.Bernoulli(jnp.zeros(200))) == 2
    assert rx.methods()["disarm"].count_evaluations(rx.Categorical(jnp.zeros((4, 7)))) == 2


@pytest.mark.parametrize("method", ["arm", "disarm"])
def test_classes_of_probability_zero_are_never_drawn_and_values_stay_finite(method):
    probs = jnp.array([[0.0, 0.3, 0.7], [0.5, 0.5, 0.0]])
    dist = rx.OneHotCategorical.from_probs(probs)  # log 0 = −inf logits
    f = lambda z: jnp.sum(z * jnp.arange(3.0)[None])  # noqa: E731
    est = rx.gradient_estimate(f, dist, jax.random.key(8), method=method, num_samples=64)
    assert bool(jnp.isfinite(est.value)) and bool(jnp.all(jnp.isfinite(est.grad.logits)))
    assert float(est.grad.logits[0, 0]) == 0.0 and float(est.grad.logits[1, 2]) == 0.0
