"""Declared parameters: conversion, validation from constraints, the traced counterpart
(``checked``), ``logits=``/``probs=``, and pytree reassembly that never validates."""

import re

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.experimental import checkify

import reparax as rx
from reparax import capabilities, constraints
from tests.examples import EXAMPLES

KEY = jax.random.key(3)


def example_dist(name):
    example = EXAMPLES[name]
    return example.build(example.params)


def rebuild(dist, **parameters):
    """The user-facing constructor with some parameters changed (statics kept)."""
    statics = {n: getattr(dist, n) for n in type(dist)._static_names}
    return type(dist)(**{**dist.parameters(), **parameters}, **statics)


def bad_values(constraint):
    """Values that violate ``constraint`` (NaN always, +inf unless infinities are allowed,
    and an out-of-range value where the constraint has a range)."""
    values = [np.nan]
    if constraint is not constraints.extended_real:
        values.append(np.inf)
    if constraint is constraints.positive:
        values += [-1.0, 0.0]
    if constraint is constraints.lower_cholesky:
        values.append(-0.5)  # placed on the diagonal
    return values


CASES = [
    (name, p.name, bad)
    for name in sorted(EXAMPLES)
    for p in type(example_dist(name))._declared
    for bad in bad_values(p.constraint)
]


@pytest.mark.parametrize("name,param_name,bad", CASES)
def test_invalid_values_raise_naming_family_and_parameter(name, param_name, bad):
    dist = example_dist(name)
    value = np.array(dist.parameters()[param_name])
    value[(0,) * value.ndim] = bad
    with pytest.raises(ValueError, match=f"{name}: `{param_name}` must be"):
        rebuild(dist, **{param_name: value})


def test_message_names_value_index_and_constraint():
    with pytest.raises(
        ValueError,
        match=re.escape("Normal: `scale` must be > 0 (positive); got nan at index (1,)."),
    ):
        rx.Normal(0.0, jnp.array([1.0, jnp.nan]))
    with pytest.raises(ValueError, match=re.escape("Uniform: `low` must be < `high`; got")):
        rx.Uniform(jnp.array([0.0, 2.0]), 1.0)


def test_infinities_where_they_mean_something():
    rx.TruncatedNormal(0.0, 1.0, -jnp.inf, jnp.inf)
    rx.Bernoulli(jnp.array([-jnp.inf, jnp.inf]))
    rx.Categorical(jnp.array([-jnp.inf, 0.0, 1.0]))
    with pytest.raises(ValueError, match="`logits` must be"):  # no class with mass
        rx.Categorical(jnp.array([-jnp.inf, -jnp.inf]))
    with pytest.raises(ValueError, match="`loc` must be finite"):
        rx.Normal(jnp.inf, 1.0)


def test_shapes_that_do_not_broadcast_name_parameters_and_shapes():
    with pytest.raises(ValueError, match=re.escape("(loc (3,), scale (2,))")):
        rx.Normal(jnp.zeros(3), jnp.ones(2))


def test_lists_and_traced_lists_are_converted():
    dist = rx.Normal([0.0, 1.0], [1.0, 2.0])
    assert dist.loc.shape == (2,) and dist.loc.dtype == jnp.float32
    sample = jax.jit(lambda s: rx.Normal([0.0, s], 1.0).sample(KEY))(2.0)
    assert sample.shape == (2,)


def test_non_arrays_are_a_type_error_naming_the_parameter():
    with pytest.raises(TypeError, match="Normal: `scale` must be an array or a number"):
        rx.Normal(0.0, "one")


# -- logits= / probs= ---------------------------------------------------------------------
@pytest.mark.parametrize(
    "make",
    [
        lambda: rx.Bernoulli.from_probs([1.5, 0.3]),
        lambda: rx.Bernoulli(probs=[0.2, jnp.nan]),
        lambda: rx.Categorical.from_probs([0.7, 0.5, -0.2]),
        lambda: rx.Categorical(probs=[0.2, 0.2]),  # does not sum to 1
        lambda: rx.OneHotCategorical(probs=[[0.5, 0.5], [0.9, 0.3]]),
        lambda: rx.Geometric(probs=0.0),
        lambda: rx.Binomial(probs=1.0, total_count=3),
    ],
)
def test_invalid_probs_raise_naming_probs(make):
    with pytest.raises(ValueError, match="`probs` must be"):
        make()


@pytest.mark.parametrize("family", [rx.Bernoulli, rx.Categorical, rx.OneHotCategorical])
def test_exactly_one_of_logits_and_probs(family):
    with pytest.raises(TypeError, match="exactly one of `logits` and `probs` \\(got both\\)"):
        family(jnp.zeros(2), probs=jnp.array([0.5, 0.5]))
    with pytest.raises(TypeError, match="got neither"):
        family()


def test_probs_are_stored_as_logits():
    np.testing.assert_allclose(
        rx.Bernoulli(probs=[0.2, 0.5]).logits, rx.Bernoulli.from_probs([0.2, 0.5]).logits
    )
    np.testing.assert_allclose(rx.Bernoulli(probs=[0.0, 1.0]).logits, [-np.inf, np.inf])
    probs = jnp.array([0.2, 0.3, 0.5])
    np.testing.assert_allclose(rx.Categorical(probs=probs).probs(), probs, rtol=1e-6)
    np.testing.assert_allclose(rx.Geometric(probs=0.25).logits, np.log(0.25 / 0.75), rtol=1e-6)
    np.testing.assert_allclose(rx.Binomial(probs=0.25, total_count=4).mean(), 1.0, rtol=1e-6)


# -- the traced counterpart ---------------------------------------------------------------
def normal_objective(scale, key):
    dist = rx.Normal(jnp.array([0.0, 1.0]), scale).checked()
    return rx.expectation(lambda z: jnp.sum(z**2), dist, key, method="pathwise", num_samples=4)


def test_checked_turns_invalid_traced_parameters_into_nan_value_and_gradient():
    value_and_grad = jax.jit(jax.value_and_grad(normal_objective))
    value, grad = value_and_grad(jnp.array([1.0, -2.0]), KEY)
    # the invalid element's gradient is NaN; the valid one's is untouched
    assert bool(jnp.isnan(value)) and bool(jnp.isnan(grad[1])), (value, grad)
    value, grad = value_and_grad(jnp.array([1.0, 2.0]), KEY)
    assert bool(jnp.isfinite(value)) and bool(jnp.all(jnp.isfinite(grad)))
    unchecked = jax.grad(
        lambda s, k: rx.expectation(
            lambda z: jnp.sum(z**2), rx.Normal(jnp.array([0.0, 1.0]), s), k, num_samples=4
        )
    )(jnp.array([1.0, 2.0]), KEY)
    np.testing.assert_allclose(grad, unchecked, rtol=1e-6)


def test_checkify_reports_the_parameter():
    checked_fn = checkify.checkify(jax.jit(normal_objective))
    error, _ = checked_fn(jnp.array([1.0, -2.0]), KEY)
    message = error.get()
    assert message is not None and "Normal: `scale` must be > 0" in message
    error, _ = checked_fn(jnp.array([1.0, 2.0]), KEY)
    assert error.get() is None


def test_checked_applies_relations_and_event_constraints():
    uniform = jax.jit(lambda low: rx.Uniform(low, 1.0).checked().mean())(jnp.array([0.0, 2.0]))
    assert bool(jnp.isfinite(uniform[0])) and bool(jnp.isnan(uniform[1]))
    logits = jnp.array([[0.0, 1.0], [jnp.nan, 1.0]])
    probs = jax.jit(lambda x: rx.Categorical(x).checked().probs())(logits)
    assert bool(jnp.all(jnp.isfinite(probs[0]))) and bool(jnp.all(jnp.isnan(probs[1])))


def test_check_parameters_skips_traced_values():
    jax.jit(lambda s: rx.Normal(0.0, s).check_parameters())(-1.0)  # nothing to see: no error
    with pytest.raises(ValueError, match="`scale`"):
        rx.Normal(0.0, 1.0).replace(scale=jnp.array(-1.0)).check_parameters()


# -- the pytree ---------------------------------------------------------------------------
def test_reassembly_never_validates():
    dist = rx.Normal(jnp.zeros(3), 1.0)
    nones = jax.tree.map(lambda _: None, dist)
    assert nones.loc is None and nones.scale is None
    shapes = jax.eval_shape(lambda d: d, dist)
    assert shapes.loc.shape == (3,)
    negated = jax.tree.map(lambda x: -x, dist)  # an invalid scale, e.g. a gradient
    assert float(negated.scale) == -1.0
    stacked = jax.tree.map(lambda *xs: jnp.stack(xs), dist, dist)
    assert jax.vmap(lambda d: d.mean())(stacked).shape == (2, 3)
    axes = dist.replace(loc=0, scale=None)  # vmap in_axes with a leaf that is not an array
    out = jax.vmap(lambda d: d.mean(), in_axes=(axes,))(rx.Normal(jnp.zeros((4, 3)), 1.0))
    assert out.shape == (4, 3)


def test_parameters_and_replace():
    dist = rx.TruncatedNormal(0.0, 1.0, -1.0, 2.0)
    assert list(dist.parameters()) == ["loc", "scale", "low", "high"]
    moved = dist.replace(loc=jnp.array(0.5))
    assert float(moved.loc) == 0.5 and float(dist.loc) == 0.0 and moved.high is dist.high
    with pytest.raises(TypeError, match="unknown parameter\\(s\\) mean.*loc, scale, low, high"):
        dist.replace(mean=1.0)
    binomial = rx.Binomial(jnp.zeros(2), total_count=3).replace(logits=jnp.ones(2))
    assert binomial.total_count == 3


def test_empty_batches():
    dist = rx.Normal(jnp.zeros(0), 1.0)
    assert dist.batch_shape == (0,)
    assert dist.sample(KEY, (5,)).shape == (5, 0)
    assert dist.log_prob(jnp.zeros((2, 0))).shape == (2, 0)


# -- capabilities -------------------------------------------------------------------------
PATHWISE = {
    "Normal", "MultivariateNormalTriL", "Laplace", "Logistic", "Gumbel", "Cauchy", "LogNormal",
    "Exponential", "Weibull", "Uniform", "Kumaraswamy", "TruncatedNormal", "Gamma", "Beta",
    "Dirichlet", "StudentT", "VonMises",
}  # fmt: skip


@pytest.mark.parametrize("name", sorted(EXAMPLES))
def test_reparameterized_exactly_when_pathwise_works(name):
    dist = example_dist(name)
    assert capabilities.has_capability(dist, capabilities.Reparameterized) == (name in PATHWISE)
    assert isinstance(dist, capabilities.DistributionLike)
    assert not hasattr(rx.Distribution, "rsample")


def test_one_hot_capability():
    categorical = example_dist("Categorical")
    for proto in (capabilities.Relaxable, capabilities.OneHot):
        assert not capabilities.has_capability(categorical, proto)
    bernoulli = rx.Bernoulli(jnp.zeros(3))
    bits = jnp.array([0.0, 1.0, 0.25])
    rows = bernoulli.to_one_hot(bits)
    np.testing.assert_allclose(rows, [[1.0, 0.0], [0.0, 1.0], [0.75, 0.25]])
    np.testing.assert_allclose(bernoulli.from_one_hot(rows), bits)
    one_hot = example_dist("OneHotCategorical")
    sample = one_hot.sample(KEY)
    assert capabilities.has_capability(one_hot, capabilities.OneHot)
    np.testing.assert_array_equal(one_hot.from_one_hot(one_hot.to_one_hot(sample)), sample)


@pytest.mark.parametrize(
    "name",
    [
        n
        for n in sorted(EXAMPLES)
        if capabilities.has_capability(example_dist(n), capabilities.OneHot)
    ],
)
def test_from_one_hot_of_unit_rows_is_the_support(name):
    """The ``OneHot`` contract ARM relies on: unit row k maps to the k-th support value."""
    dist = example_dist(name)
    support = dist.enumerate_support()
    rows = jnp.eye(dist.num_classes, dtype=support.dtype)
    np.testing.assert_array_equal(dist.from_one_hot(rows), support)
    np.testing.assert_array_equal(dist.to_one_hot(support), rows)


def test_hints_are_keyed_by_protocols():
    hints = rx.Categorical.capability_hints
    assert "OneHotCategorical" in hints[capabilities.Relaxable]
    assert "pathwise" in rx.Uniform.capability_hints["fixed_support"]


def test_authoring_kit_is_public():
    @rx.distribution
    class Shifted(rx.distributions.ExplicitReparameterization):
        shift: jax.Array = rx.param(rx.constraints.real)
        width: jax.Array = rx.param(rx.constraints.positive)

        def noise(self, key, sample_shape=()):
            return jax.random.uniform(key, tuple(sample_shape) + self.batch_shape)

        def transform(self, noise):
            return self.shift + self.width * noise

        def log_prob(self, z):
            return -jnp.log(self.width) * jnp.ones_like(z)

    with pytest.raises(ValueError, match="Shifted: `width` must be > 0"):
        Shifted(0.0, -1.0)
    est = rx.gradient_estimate(lambda z: z, Shifted(0.0, 2.0), KEY, method="pathwise")
    assert float(est.grad.shift) == 1.0
    with pytest.raises(TypeError, match="must be declared with reparax.param"):

        @rx.distribution
        class Undeclared(rx.Distribution):
            loc: jax.Array
