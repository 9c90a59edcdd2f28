"""``has_aux=True``: f returns ``(cost, aux)``; the estimate carries E[aux] from the same pass.

The cost's value and gradient must be unchanged (to float32 rounding) by asking for aux, the
aux must be the method's own average (a plain sample mean for the score function, the enumerated
expectation for ``exact``), and f must be traced no more often than without aux.
"""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import reparax as rx
from reparax._keyed import inner_key

KEY = jax.random.key(7)
BITS = rx.Bernoulli(jnp.array([0.3, -0.2, 0.5]))
GAUSS = rx.Normal(jnp.array([0.1, -0.4]), jnp.array([1.0, 0.5]))


def _bits_cost(z):
    return jnp.sum((z - 0.4) ** 2), {"ones": jnp.sum(z), "each": z}


def _gauss_cost(z):
    return jnp.sum((z - 1.0) ** 2), (jnp.sum(z), z**2)


@pytest.mark.parametrize(
    "dist,f,method",
    [
        (GAUSS, _gauss_cost, "pathwise"),
        (GAUSS, _gauss_cost, "measure_valued"),
        (BITS, _bits_cost, "rloo"),
        (BITS, _bits_cost, "disarm"),
        (BITS, _bits_cost, "indecater"),
        (BITS, _bits_cost, "gumbel_softmax"),
    ],
)
def test_cost_value_and_gradient_are_unchanged_by_aux(dist, f, method):
    @jax.jit
    def both(d):
        with_aux = rx.gradient_estimate(f, d, KEY, method=method, num_samples=4, has_aux=True)
        plain = rx.gradient_estimate(lambda z: f(z)[0], d, KEY, method=method, num_samples=4)
        return with_aux, plain

    with_aux, plain = both(dist)
    # Equal up to float32 rounding: XLA may fuse the slot-batched reductions differently.
    close = lambda a, b: np.testing.assert_allclose(a, b, rtol=2e-6, atol=1e-7)  # noqa: E731
    close(with_aux.value, plain.value)
    jax.tree.map(close, with_aux.grad, plain.grad)
    assert plain.aux is None
    assert jax.tree.structure(with_aux.aux) == jax.tree.structure(f(dist.sample(KEY))[1])


def test_score_function_aux_is_the_sample_mean_of_aux():
    num = 6
    est = rx.gradient_estimate(
        _bits_cost, BITS, KEY, method="score_function", num_samples=num, has_aux=True
    )
    samples = jax.vmap(BITS.sample)(jax.random.split(KEY, num))
    np.testing.assert_allclose(est.aux["ones"], jnp.mean(jnp.sum(samples, -1)), rtol=1e-6)
    np.testing.assert_allclose(est.aux["each"], jnp.mean(samples, 0), rtol=1e-6)


def test_exact_aux_is_the_exact_expectation():
    est = rx.gradient_estimate(_bits_cost, BITS, KEY, method="exact", has_aux=True)
    probs = jax.nn.sigmoid(BITS.logits)
    np.testing.assert_allclose(est.aux["each"], probs, rtol=1e-6)
    np.testing.assert_allclose(est.aux["ones"], jnp.sum(probs), rtol=1e-6)


def test_aux_carries_no_gradient_and_expectation_returns_a_pair():
    def loss(loc):
        value, aux = rx.expectation(
            _gauss_cost, rx.Normal(loc, 1.0), KEY, method="pathwise", num_samples=4, has_aux=True
        )
        return value + aux[0]  # aux is stop_gradient-ed: only the cost's gradient remains

    def cost_only(loc):
        d = rx.Normal(loc, 1.0)
        return rx.expectation(lambda z: _gauss_cost(z)[0], d, KEY, method="pathwise", num_samples=4)

    loc = jnp.array([0.2, -0.3])
    np.testing.assert_allclose(jax.grad(loss)(loc), jax.grad(cost_only)(loc), rtol=1e-6)


def test_f_is_traced_no_more_often_with_aux():
    traces = {"aux": 0, "plain": 0}

    def counted(name):
        def f(z):
            traces[name] += 1
            return _bits_cost(z)

        return f

    jax.jit(
        lambda d: rx.gradient_estimate(
            counted("aux"), d, KEY, method="disarm", num_samples=4, has_aux=True
        )
    ).lower(BITS)
    jax.jit(
        lambda d: rx.gradient_estimate(
            lambda z: counted("plain")(z)[0], d, KEY, method="disarm", num_samples=4
        )
    ).lower(BITS)
    assert traces["aux"] <= traces["plain"] + 2  # + validation's abstract evaluations


def test_plates_with_scalar_aux_sum_to_the_batch_summary():
    dist = rx.Bernoulli(jnp.zeros((5, 3)))

    def f(z):
        return jnp.sum((z - 0.3) ** 2, -1), jnp.sum(z)

    est = rx.gradient_estimate(f, dist, KEY, method="exact", plates=1, has_aux=True)
    plain = rx.gradient_estimate(lambda z: f(z)[0], dist, KEY, method="exact", plates=1)
    np.testing.assert_allclose(est.aux, 7.5, rtol=1e-6)  # E[Σ z] = 15 · ½
    np.testing.assert_array_equal(est.grad.logits, plain.grad.logits)


def test_keyed_f_with_aux():
    def f(z, key):
        noise = jax.random.normal(key)
        return jnp.sum(z) + noise, noise

    est = rx.gradient_estimate(
        rx.with_key(f), GAUSS, KEY, method="pathwise", num_samples=4, has_aux=True
    )
    # Each sample's aux is f's noise under that sample's own inner key.
    inner = jax.vmap(lambda k: jax.random.normal(inner_key(k)))(jax.random.split(KEY, 4))
    np.testing.assert_allclose(est.aux, jnp.mean(inner), rtol=1e-5)


def test_errors():
    with pytest.raises(TypeError, match=r"pair \(cost, aux\)"):
        rx.gradient_estimate(lambda z: jnp.sum(z), GAUSS, KEY, method="pathwise", has_aux=True)
    with pytest.raises(ValueError, match="aux leaf must be a scalar"):
        rx.gradient_estimate(
            lambda z: (jnp.sum(z, -1), z),
            rx.Bernoulli(jnp.zeros((4, 2))),
            KEY,
            method="rloo",
            num_samples=2,
            plates=1,
            has_aux=True,
        )
    joint = rx.Joint({"z": GAUSS})
    with pytest.raises(TypeError, match="rx.Joint"):
        rx.gradient_estimate(lambda v: (jnp.sum(v["z"]), 0.0), joint, KEY, has_aux=True)
