"""The registry is the one list of estimators: everything reads the values."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import pytest

import reparax as rx
from reparax import _registry
from tests import test_contract
from tests.toy_estimator import toy_score_function as TOY


def test_a_registered_toy_estimator_appears_everywhere_with_no_other_edit():
    assert rx.methods()["toy_loo"] is TOY
    assert "`toy_loo`" in rx.methods_table()
    assert TOY in _registry.auto_candidates()
    assert ("Bernoulli", "toy_loo") in test_contract.PAIRS
    dist = rx.Bernoulli(jnp.zeros(2))
    assert "toy_loo" in rx.supported_methods(dist)
    assert "toy_loo" not in rx.supported_methods(rx.Normal(0.0, 1.0))
    est = rx.gradient_estimate(
        lambda z: jnp.sum(z), dist, jax.random.key(0), method="TOY_LOO", num_samples=4
    )
    assert est.grad.logits.shape == (2,)


def test_the_readme_table_is_the_builtin_estimators():
    assert "toy_loo" not in rx.methods_table(_registry.BUILTIN)


def test_names_are_unique_and_registering_twice_is_refused():
    names = [n.lower() for e in _registry.estimators() for n in (e.name, *e.aliases)]
    assert len(names) == len(set(names))
    with pytest.raises(ValueError, match="already registered"):
        rx.register(TOY)
    with pytest.raises(TypeError, match="rx.Estimator"):
        rx.register("pathwise")


def test_method_names_are_case_insensitive_and_typos_get_a_suggestion():
    assert _registry.lookup("REINFORCE") is rx.score_function
    assert _registry.lookup("Pathwise") is rx.pathwise
    with pytest.raises(ValueError, match="Did you mean 'disarm'"):
        _registry.lookup("disram")


def test_the_value_is_the_function():
    assert rx.pathwise.__doc__ and "reparameterization" in rx.pathwise.__doc__
    assert "num_samples" in str(rx.pathwise.__signature__)
    assert rx.methods()["rloo"] is rx.rloo
    assert rx.reinforce is rx.score_function


def test_auto_only_ranks_unbiased_estimators():
    with pytest.raises(ValueError, match="only unbiased"):
        rx.Estimator(
            name="x",
            fn=lambda *a, **k: 0.0,
            unbiased=False,
            differentiable_f=True,
            evaluations="1",
            references=(),
            auto_rank=1,
        )
