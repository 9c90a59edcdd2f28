"""Plates: ``plates=k`` credits each independent batch element with its own cost.

The contract: with plates, an estimate equals a ``jax.vmap`` of the single-datum estimator
over the data points, element b using key ``split(key, B)[b]`` — checked here exactly, per
method — while ``f`` runs once per evaluation on the whole batch. Unbiasedness against
per-element enumeration, with power, for the unbiased families; the variance cut against
summing f over the batch is measured.
"""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import reparax as rx
from reparax import _registry
from tests.stats import assert_unbiased, assert_variance_lower, enumerate_exact

B, L = 3, 4
LOGITS = jnp.array([[0.3, -0.8, 1.2, 0.1], [-1.0, 0.5, 0.0, 0.7], [0.9, 0.2, -0.4, -1.3]])
TARGET = jnp.array([[1.0, 0.0, 1.0, 0.0], [0.0, 0.0, 1.0, 1.0], [1.0, 1.0, 0.0, 0.0]])
WEIGHTS = jnp.array([1.0, 2.0, 0.5, 1.5])


def datum_cost(z, target):
    """One data point's cost: a weighted squared error (smooth in z, for every method)."""
    return jnp.sum(WEIGHTS * (z - target) ** 2 + 0.3 * z[0] * z[1])


def batch_cost(z):
    return jax.vmap(datum_cost)(z, TARGET)


def _family(name):
    if name == "OneHotCategorical":
        return rx.OneHotCategorical(logits=LOGITS.reshape(B, 2, 2)), lambda z: jnp.sum(
            z[..., 0] * TARGET.reshape(B, 2, 2)[..., 0]
            + 2.0 * z[..., 1] * TARGET.reshape(B, 2, 2)[..., 1],
            -1,
        )
    return rx.Bernoulli(logits=LOGITS), batch_cost


# Unbiased methods in the default tier; the biased relaxations (same mechanism, no own code
# path for plates) in the slow tier, to keep CI's run short.
_METHODS = [
    pytest.param(e, id=e.name, marks=() if e.unbiased else pytest.mark.slow)
    for e in _registry.BUILTIN
    if e.supports(rx.Bernoulli(logits=LOGITS)) and e.objective == "expectation"
]


@pytest.mark.parametrize("method", _METHODS)
def test_plates_equal_a_vmap_over_data_points(method):
    """Same keys, same numbers: plates=1 is the per-datum estimator vmapped over the batch."""
    dist = rx.Bernoulli(logits=LOGITS)
    key = jax.random.key(7)
    num_samples = max(2, method.min_samples)
    plated = jax.jit(
        lambda dist, key: rx.gradient_estimate(
            batch_cost, dist, key, method=method, num_samples=num_samples, plates=1
        )
    )(dist, key)

    def one_datum(logits, target, datum_key):
        return rx.gradient_estimate(
            lambda z: datum_cost(z, target),
            rx.Bernoulli(logits=logits),
            datum_key,
            method=method,
            num_samples=num_samples,
        )

    per_datum = jax.jit(jax.vmap(one_datum))(LOGITS, TARGET, jax.random.split(key, B))
    np.testing.assert_allclose(plated.value, jnp.sum(per_datum.value), rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(plated.grad.logits, per_datum.grad.logits, rtol=1e-4, atol=1e-5)


def test_f_runs_on_the_whole_batch_once_per_evaluation():
    seen = []

    def f(z):
        seen.append(z.shape)
        return batch_cost(z)

    rx.expectation(f, rx.Bernoulli(logits=LOGITS), jax.random.key(0), method="indecater", plates=1)
    # Traced once for the shape check and once inside the estimator: always the whole batch.
    assert set(seen) == {(B, L)}


def test_plates_with_two_axes_and_a_chunked_run():
    logits = LOGITS.reshape(3, 2, 2)
    target = TARGET.reshape(3, 2, 2)
    f = lambda z: jnp.sum((z - target) ** 2, -1)  # noqa: E731  costs of shape (3, 2)
    dist = rx.Bernoulli(logits=logits)
    key = jax.random.key(3)
    full = rx.gradient_estimate(f, dist, key, method="rloo", num_samples=5, plates=2)
    chunked = rx.gradient_estimate(
        f, dist, key, method="rloo", num_samples=5, plates=2, chunk_size=2
    )
    np.testing.assert_allclose(full.grad.logits, chunked.grad.logits, rtol=1e-5, atol=1e-6)
    flat = rx.gradient_estimate(
        lambda z: f(z.reshape(3, 2, 2)).reshape(6),
        rx.Bernoulli(logits=logits.reshape(6, 2)),
        key,
        method="rloo",
        num_samples=5,
        plates=1,
    )
    np.testing.assert_allclose(full.grad.logits.reshape(6, 2), flat.grad.logits, rtol=1e-5)


def test_plates_broadcast_parameters_and_gradients_keep_their_shape():
    """A scale shared by the batch gets the sum of the elements' gradients."""
    loc = jnp.array([0.5, -1.0, 2.0])
    dist = rx.Normal(loc, jnp.array(1.5))
    f = lambda z: (z - 1.0) ** 2  # noqa: E731  one cost per element
    est = rx.gradient_estimate(
        f, dist, jax.random.key(0), method="pathwise", num_samples=4, plates=1
    )
    assert est.grad.scale.shape == ()
    assert est.grad.loc.shape == (3,)


def test_plates_under_jit_vmap_and_hessian():
    dist = rx.Bernoulli(logits=LOGITS)
    keys = jax.random.split(jax.random.key(0), 3)
    run = jax.jit(
        jax.vmap(
            lambda k: rx.expectation(batch_cost, dist, k, method="rloo", num_samples=3, plates=1)
        )
    )
    assert run(keys).shape == (3,)
    hessian = jax.hessian(
        lambda lg: rx.expectation(
            batch_cost,
            rx.Bernoulli(logits=lg),
            keys[0],
            method="score_function",
            num_samples=3,
            plates=1,
        )
    )(LOGITS)
    # Elements are independent: no cross-element second derivative.
    cross = hessian[0, :, 1, :]
    assert jnp.all(cross == 0.0)


# -- unbiasedness, per element, against enumeration --------------------------------------
# A smaller problem (3 elements of 2 bits) so that every coordinate has power at a budget
# the default tier affords: 5 standard errors < 5% of |exact| on all six coordinates.
SMALL_LOGITS = jnp.array([[0.4, -0.6], [-0.2, 0.8], [0.9, 0.1]])
SMALL_TARGET = jnp.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])


def small_datum_cost(z, target):
    return jnp.sum(jnp.array([2.0, 3.0]) * (z - target) ** 2) + z[0] * z[1]


def small_batch_cost(z):
    return jax.vmap(small_datum_cost)(z, SMALL_TARGET)


# num_samples per estimate (1000 estimates each), from measured per-sample variances ×1.5.
_NUM_SAMPLES = {
    "score_function": 384,
    "rloo": 96,
    "arm": 96,
    "disarm": 96,
    "indecater": 2,
    "measure_valued": 4,
}


def _exact_per_element(f_datum, logits, targets):
    def one(lg, t):
        return enumerate_exact(lambda z: f_datum(z, t), rx.Bernoulli(logits=lg))[1]

    return jnp.stack([one(lg, t) for lg, t in zip(logits, targets)])


@pytest.mark.parametrize("name", sorted(_NUM_SAMPLES))
def test_plates_unbiased_against_enumeration(name):
    exact = _exact_per_element(small_datum_cost, SMALL_LOGITS, SMALL_TARGET)
    dist = rx.Bernoulli(logits=SMALL_LOGITS)
    run = jax.jit(
        jax.vmap(
            lambda k: (
                rx.gradient_estimate(
                    small_batch_cost, dist, k, method=name, num_samples=_NUM_SAMPLES[name], plates=1
                ).grad.logits
            )
        )
    )
    estimates = run(jax.random.split(jax.random.key(11), 1000))
    assert_unbiased(estimates, exact, label=f"{name} with plates")


def test_plates_cut_the_variance_of_summing_over_the_batch():
    """The same estimator, with f summed over the batch (one distribution of shape (B, L)):
    unbiased but every element's gradient carries the other elements' noise."""
    dist = rx.Bernoulli(logits=LOGITS)
    keys = jax.random.split(jax.random.key(5), 2000)

    def grads(plates):
        f = batch_cost if plates else (lambda z: jnp.sum(batch_cost(z)))
        return jax.jit(
            jax.vmap(
                lambda k: (
                    rx.gradient_estimate(
                        f, dist, k, method="rloo", num_samples=4, plates=plates
                    ).grad.logits
                )
            )
        )(keys)

    assert_variance_lower(grads(1), grads(0))


def test_plates_for_one_hot_categorical_elements():
    dist, f = _family("OneHotCategorical")
    key = jax.random.key(2)
    plated = rx.gradient_estimate(f, dist, key, method="disarm", num_samples=2, plates=1)
    assert plated.grad.logits.shape == (B, 2, 2)


# -- errors ---------------------------------------------------------------------------------
def test_a_vector_cost_without_plates_suggests_them():
    with pytest.raises(ValueError, match="plates=1"):
        rx.expectation(
            batch_cost, rx.Bernoulli(logits=LOGITS), jax.random.key(0), method="rloo", num_samples=2
        )


def test_a_cost_of_the_wrong_shape_is_refused():
    with pytest.raises(ValueError, match=r"plates=1.*shape \(3,\)"):
        rx.expectation(
            lambda z: jnp.sum(z),
            rx.Bernoulli(logits=LOGITS),
            jax.random.key(0),
            method="rloo",
            num_samples=2,
            plates=1,
        )


@pytest.mark.parametrize(
    "plates, error", [(3, ValueError), (-1, ValueError), (True, TypeError), (1.0, TypeError)]
)
def test_bad_plates_are_refused(plates, error):
    with pytest.raises(error, match="`plates`"):
        rx.expectation(
            batch_cost,
            rx.Bernoulli(logits=LOGITS),
            jax.random.key(0),
            method="rloo",
            num_samples=2,
            plates=plates,
        )


def test_control_variates_with_plates_are_refused():
    control = rx.control_variates.delta_method(lambda z: jnp.sum(z))
    with pytest.raises(ValueError, match="not supported with `plates`"):
        rx.expectation(
            batch_cost,
            rx.Bernoulli(logits=LOGITS),
            jax.random.key(0),
            method="score_function",
            num_samples=2,
            plates=1,
            control_variate=control,
        )


def test_plated_expectation_inside_a_joint_under_jit_matches_eager():
    """Regression: the element's cost was a gather with batched operand and index, which
    crashed XLA's CPU backend under jit with ≥ 31 vmapped keys around a Joint."""

    def f(s):
        normal = rx.Normal(s["z"] * jnp.ones(3), 1.0)
        return rx.expectation(
            lambda y: (y - s["b"]) ** 2,
            normal,
            jax.random.key(1),
            method="score_function",
            num_samples=2,
            plates=1,
        )

    def loss(logits, key):
        joint = rx.Joint({"z": rx.Normal(0.3, 1.0), "b": lambda z: rx.Bernoulli(logits=logits + z)})
        return rx.expectation(
            f, joint, key, method={"z": "score_function", "b": "indecater"}, num_samples=4
        )

    run = jax.vmap(jax.grad(loss), in_axes=(None, 0))
    logits, keys = jnp.array([0.2, -0.4, 0.9]), jax.random.split(jax.random.key(0), 64)
    # Few keys never triggered it: they are the reference.
    np.testing.assert_allclose(
        jax.jit(run)(logits, keys)[:4], jax.jit(run)(logits, keys[:4]), rtol=1e-4, atol=1e-5
    )
