"""rx.diagnostics: many estimates from one cached compilation."""

import jax
import jax.numpy as jnp
import numpy as np

import reparax as rx
from reparax import diagnostics


def _cost(z):
    return jnp.sum(z**2)


def test_estimator_samples_compiles_once_for_new_keys_and_parameter_values():
    def draw(loc, seed):
        return diagnostics.estimator_samples(
            _cost,
            rx.Normal(loc, 1.0),
            jax.random.key(seed),
            method="pathwise",
            num_estimates=8,
            num_samples=2,
        )

    first = draw(jnp.zeros(3), 0)
    size = diagnostics._estimates._cache_size()
    second = draw(jnp.ones(3), 1)
    assert diagnostics._estimates._cache_size() == size  # no recompilation
    assert first.grad.loc.shape == second.grad.loc.shape == (8, 3)
    assert not np.allclose(first.grad.loc, second.grad.loc)


def test_array_options_are_traced_and_others_static():
    samples = diagnostics.estimator_samples(
        _cost,
        rx.Normal(jnp.zeros(2), 1.0),
        jax.random.key(0),
        method="score_function",
        num_estimates=4,
        num_samples=3,
        baseline=jnp.ones(3),
    )
    assert samples.grad.loc.shape == (4, 2)
