"""The speed rewrites of issue #13 compute what the slower forms computed.

* ``other_classes`` (IndeCateR's and the categorical weak derivative's rows) equals
  ``local_replacements`` without each element's own class, for every finite family.
* The measure-valued weak derivatives now evaluate D + 1 (bits) and D·(K − 1) + 1
  (categoricals) rows: pulled back, they equal the 1 + 2D / 1 + D·K definitions.
* Bernoulli's one-log conditional noise is the mirror image for b = 1 of the b = 0 formula,
  agrees with b, and stays finite (or ±inf with the logit) at the edges.
* Bernoulli's ``checked(report=False)`` skips a poison that changes nothing: a NaN logit
  still gives a NaN estimate and gradient.
* Gumbel-Rao's conditional draws, now one call over a repeated ``hard``, differ per draw.

Small problems, no Monte Carlo: every check is exact (or float32-exact) equality.
"""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import reparax as rx
from reparax.distributions._finite import other_classes
from reparax.estimators._relaxation import conditional_noise

KEY = jax.random.key(5)
FAMILIES = {
    "Bernoulli": rx.Bernoulli(jnp.array([[0.3, -1.2, 2.0], [0.0, 0.7, -0.4]])),
    "Categorical": rx.Categorical(jax.random.normal(jax.random.key(1), (2, 3, 4))),
    "OneHotCategorical": rx.OneHotCategorical(jax.random.normal(jax.random.key(2), (2, 3, 4))),
}


def cost(z):
    flat = jnp.ravel(z).astype(jnp.float32)
    return jnp.sum(jnp.sin(jnp.arange(1, flat.shape[0] + 1) * flat))


@pytest.mark.parametrize("family", FAMILIES)
def test_other_classes_are_the_local_replacements_without_the_own_class(family):
    dist = FAMILIES[family]
    samples = dist.sample(KEY, (6,))
    rows, before = jax.vmap(lambda z: other_classes(dist, z))(samples)
    full = jax.vmap(dist.local_replacements)(samples)  # (6, D, K, *sample)
    num, k = before.shape[1], dist.num_classes
    for i in range(samples.shape[0]):  # 6 tiny host-side comparisons, no tracing
        flat = np.asarray(samples[i]).reshape((num,) + dist.event_shape)
        support = np.asarray(dist.enumerate_support())
        own = [
            int(np.flatnonzero(np.all(support == flat[d], axis=tuple(range(1, support.ndim))))[0])
            for d in range(num)
        ]
        expected = np.stack([np.delete(np.asarray(full[i, d]), own[d], axis=0) for d in range(num)])
        np.testing.assert_array_equal(np.asarray(rows[i]), expected)
        np.testing.assert_array_equal(
            np.asarray(before[i]), np.arange(k - 1)[None, :] < np.array(own)[:, None]
        )


def _pulled_back(dist, z):
    (term,) = dist.weak_derivative(KEY, z).values()
    f_minus = cost(z) if term.minus is None else jax.vmap(cost)(term.minus)
    return term.pullback(term.scale * (jax.vmap(cost)(term.plus) - f_minus)), term


def test_bernoulli_weak_derivative_is_the_two_sided_difference_with_d_plus_1_rows():
    dist = FAMILIES["Bernoulli"]
    z = dist.sample(KEY)
    grad, term = _pulled_back(dist, z)
    full = dist.local_replacements(z)  # (D, 2, *batch): bit d set to 0 and to 1
    slope = jax.nn.sigmoid(dist.logits) * jax.nn.sigmoid(-dist.logits)
    two_sided = slope * (jax.vmap(cost)(full[:, 1]) - jax.vmap(cost)(full[:, 0])).reshape(z.shape)
    assert term.minus is None and term.plus.shape[0] == z.size  # D rows, plus f(z): D + 1
    np.testing.assert_allclose(grad, two_sided, rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("family", ["Categorical", "OneHotCategorical"])
def test_categorical_weak_derivative_skips_only_the_zero_own_class_terms(family):
    dist = FAMILIES[family]
    z = dist.sample(KEY)
    grad, term = _pulled_back(dist, z)
    full = dist.local_replacements(z)  # (D, K, *sample)
    probs = jnp.exp(dist.class_log_probs())
    every_class = jax.vmap(jax.vmap(cost))(full).reshape(probs.shape) - cost(z)
    num = int(np.prod(dist.batch_shape))
    assert term.plus.shape[0] == num * (dist.num_classes - 1)
    np.testing.assert_allclose(grad, probs * every_class, rtol=1e-6, atol=1e-7)


def test_measure_valued_counts_the_rows_it_evaluates():
    mv = rx.measure_valued
    assert mv.count_evaluations(FAMILIES["Bernoulli"]) == 6 + 1
    assert mv.count_evaluations(FAMILIES["OneHotCategorical"]) == 6 * 3 + 1


def test_bernoulli_conditional_noise_is_the_mirror_image_and_finite_at_the_edges():
    logits = jnp.array([-jnp.inf, -50.0, -3.0, 0.0, 0.4, 3.0, 50.0, jnp.inf])
    dist = rx.Bernoulli(logits)
    zeros, ones = jnp.zeros_like(logits), jnp.ones_like(logits)
    below = dist.conditional_perturbed(KEY, zeros)
    above = dist.conditional_perturbed(KEY, ones)
    mirrored = rx.Bernoulli(-logits).conditional_perturbed(KEY, zeros)
    np.testing.assert_array_equal(above, -mirrored)  # b = 1 at θ is b = 0 at −θ, negated
    possible = jnp.isfinite(logits)
    assert bool(jnp.all(jnp.where(possible, (below < 0) & (above > 0), True)))
    assert not bool(jnp.any(jnp.isnan(below) | jnp.isnan(above)))
    assert float(below[0]) == -np.inf and float(above[-1]) == np.inf
    # b = 0 at θ = −50 is logistic noise below 50, exactly: z̃ = logit(v) − 50
    v = jax.random.uniform(KEY, logits.shape, minval=jnp.finfo(jnp.float32).tiny, maxval=1.0)
    np.testing.assert_allclose(below[1], jnp.log(v[1]) - jnp.log1p(-v[1]) - 50.0, rtol=1e-6)
    grads = jax.grad(lambda t: jnp.sum(rx.Bernoulli(t).conditional_perturbed(KEY, ones)))(logits)
    assert bool(jnp.all(jnp.isfinite(grads)))


def test_bernoulli_nan_logits_still_poison_value_and_gradient():
    dist = rx.Bernoulli(jnp.array([0.3, -0.2]))
    assert dist.checked(report=False) is dist

    def estimate(logits):
        return rx.expectation(cost, rx.Bernoulli(logits), KEY, method="indecater", num_samples=4)

    value, grad = jax.jit(jax.value_and_grad(estimate))(jnp.array([0.3, jnp.nan]))
    assert np.isnan(float(value)) or bool(jnp.isnan(grad[1]))
    assert bool(jnp.isnan(grad[1]))


@pytest.mark.parametrize("family", ["Bernoulli", "OneHotCategorical"])
def test_gumbel_rao_conditional_draws_differ_per_draw(family):
    dist = FAMILIES[family]
    hard = dist.sample(KEY)
    repeated = jnp.broadcast_to(hard, (3,) + hard.shape)
    noise = conditional_noise(dist, KEY, repeated)
    assert bool(jnp.all(dist.transform(noise) == repeated))  # each draw agrees with hard
    assert not bool(jnp.any(jnp.all(noise[:1] == noise[1:], axis=tuple(range(1, noise.ndim)))))


@pytest.mark.parametrize("family", ["Categorical", "OneHotCategorical"])
def test_categorical_one_reduction_poison_marks_the_rows_the_constraint_rejects(family):
    from reparax.distributions._base import Distribution

    rows = jnp.array(
        [
            [0.0, 1.0, 2.0],
            [jnp.inf, 0.0, 1.0],  # +inf: invalid
            [-jnp.inf, -jnp.inf, -jnp.inf],  # no class with probability > 0: invalid
            [jnp.nan, 0.0, 1.0],  # NaN: invalid
            [-jnp.inf, 2.0, 0.0],  # a class of probability 0: valid
            [-1e30, 3e38, 0.0],  # extreme but finite: valid
        ]
    )
    cls = getattr(rx, family)
    fast = jax.jit(lambda x: cls(x).checked(report=False).logits)(rows)
    generic = jax.jit(lambda x: Distribution.checked(cls(x), report=False).logits)(rows)
    np.testing.assert_array_equal(fast, generic)  # NaN in exactly the same places
    assert np.isnan(np.asarray(fast)).any(-1).tolist() == [False, True, True, True, False, False]
    grad = jax.grad(lambda x: jnp.sum(cls(x).checked(report=False).probs()[0]))(rows)
    assert bool(jnp.all(jnp.isnan(grad[1:4]))) and bool(jnp.all(jnp.isfinite(grad[0])))
