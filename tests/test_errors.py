"""Bad input fails early with a clear ValueError/TypeError naming the argument."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import reparax as rx

KEY = jax.random.key(0)
DIST = rx.Normal(jnp.zeros(3), jnp.ones(3))
F = lambda z: jnp.sum(z**2)  # noqa: E731


def test_unknown_method_lists_methods():
    with pytest.raises(ValueError, match="Known methods:.*pathwise.*score_function"):
        rx.gradient_estimate(F, DIST, KEY, method="pathwize")


def test_unsupported_pair_lists_supported_methods():
    class NoTransform(rx.Normal):  # a Normal without reparameterized samples
        rsample = None

    dist = jax.tree_util.register_dataclass(
        NoTransform, data_fields=["loc", "scale"], meta_fields=[]
    )(jnp.zeros(2), jnp.ones(2))
    with pytest.raises(ValueError, match="pathwise.*Methods that support NoTransform:.*rloo"):
        rx.gradient_estimate(F, dist, KEY, method="pathwise")


@pytest.mark.parametrize("num_samples", [0, -3])
def test_num_samples_too_small(num_samples):
    with pytest.raises(ValueError, match="num_samples"):
        rx.gradient_estimate(F, DIST, KEY, method="pathwise", num_samples=num_samples)


@pytest.mark.parametrize("num_samples", [2.0, "4", True, np.float32(3)])
def test_num_samples_not_an_integer(num_samples):
    with pytest.raises(TypeError, match="num_samples"):
        rx.gradient_estimate(F, DIST, KEY, method="pathwise", num_samples=num_samples)


def test_rloo_needs_two_samples():
    with pytest.raises(ValueError, match="method='rloo': `num_samples` must be >= 2"):
        rx.gradient_estimate(F, DIST, KEY, method="rloo", num_samples=1)


def test_chunk_size_must_be_positive_int():
    with pytest.raises(ValueError, match="chunk_size"):
        rx.gradient_estimate(F, DIST, KEY, method="pathwise", num_samples=4, chunk_size=0)


def test_non_scalar_cost():
    with pytest.raises(ValueError, match="`f` must map one sample .* to a scalar"):
        rx.gradient_estimate(lambda z: z**2, DIST, KEY, method="pathwise")


def test_integer_cost():
    with pytest.raises(TypeError, match="floating-point"):
        rx.gradient_estimate(lambda z: jnp.sum(z > 0), DIST, KEY, method="score_function")


def test_shapes_that_do_not_broadcast():
    with pytest.raises(ValueError, match="do not broadcast.*loc \\(3,\\).*scale \\(2,\\)"):
        rx.Normal(jnp.zeros(3), jnp.ones(2))


def test_mvn_shape_mismatch():
    with pytest.raises(ValueError, match="scale_tril"):
        rx.MultivariateNormalTriL(jnp.zeros(3), jnp.eye(2))


@pytest.mark.parametrize("key", [0, jnp.zeros(3), jnp.zeros(2, jnp.float32), "key"])
def test_not_a_key(key):
    with pytest.raises(TypeError, match="`key` must be a PRNG key"):
        rx.gradient_estimate(F, DIST, key, method="pathwise")


def test_batch_of_keys():
    with pytest.raises(TypeError, match="single PRNG key"):
        rx.gradient_estimate(F, DIST, jax.random.split(KEY, 2), method="pathwise")


def test_negative_scale():
    with pytest.raises(ValueError, match="`scale` must be > 0"):
        rx.gradient_estimate(F, rx.Normal(0.0, -1.0), KEY, method="pathwise")


def test_not_a_distribution():
    with pytest.raises(TypeError, match="`dist` must be a reparax distribution"):
        rx.gradient_estimate(F, {"loc": 0.0}, KEY, method="score_function")


def test_bad_baseline():
    with pytest.raises(ValueError, match="baseline"):
        rx.gradient_estimate(F, DIST, KEY, method="score_function", baseline="mean")
    with pytest.raises(ValueError, match="baseline"):
        rx.gradient_estimate(
            F, DIST, KEY, method="score_function", num_samples=3, baseline=jnp.ones(2)
        )


def test_unknown_option_is_a_type_error():
    with pytest.raises(TypeError, match="temprature"):
        rx.gradient_estimate(F, DIST, KEY, method="pathwise", temprature=0.5)


def test_implicit_rsample_needs_a_cdf():
    with pytest.raises(TypeError, match="needs cdf on Bernoulli"):
        rx.distributions.implicit_rsample(rx.Bernoulli(jnp.zeros(2)), KEY)
