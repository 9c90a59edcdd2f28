"""A temperature ≤ 0 is refused by every relaxation, concrete or traced.

A Python or NumPy temperature ≤ 0 raises ValueError at the call. A traced one cannot be read
at trace time, so it must make the value and the gradient NaN (``_checks.positive_or_nan``),
never a silently finite, wrong gradient; a traced valid temperature must change nothing.
"""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import reparax as rx

LOGITS = jnp.array([0.3, -1.2, 2.0])
METHODS = ("reinmax", "gumbel_rao", "rebar", "gumbel_softmax", "st_gumbel_softmax")


def cost(b):
    return jnp.sum((b - 0.4) ** 2)


def loss(logits, temperature, method):
    dist = rx.Bernoulli(logits=logits)
    return rx.expectation(
        cost, dist, jax.random.key(0), method=method, num_samples=2, temperature=temperature
    )


@pytest.mark.parametrize("method", METHODS)
def test_a_traced_temperature_at_most_zero_gives_nan(method):
    temperatures = jnp.array([-1.0, 0.0, jnp.inf, 0.7])
    traced = jax.vmap(jax.value_and_grad(loss), in_axes=(None, 0, None))
    values, grads = jax.jit(traced, static_argnums=2)(LOGITS, temperatures, method)
    assert np.all(np.isnan(grads[:3])), f"{method}: {grads[:3]}"
    assert np.all(np.isnan(values[:3])), f"{method}: {values[:3]}"
    # A valid traced temperature gives what the same Python float gives.
    concrete = jax.jit(jax.value_and_grad(lambda logits: loss(logits, 0.7, method)))(LOGITS)
    np.testing.assert_allclose(values[3], concrete[0], rtol=1e-6)
    np.testing.assert_allclose(grads[3], concrete[1], rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("temperature", [0.0, -0.5, float("nan")])
def test_a_concrete_temperature_at_most_zero_raises(method, temperature):
    with pytest.raises(ValueError, match="temperature"):
        rx.expectation(
            cost,
            rx.Bernoulli(logits=LOGITS),
            jax.random.key(0),
            method=method,
            temperature=temperature,
        )
