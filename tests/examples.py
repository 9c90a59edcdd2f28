"""One example per distribution family, for the contract suite.

Each example builds a distribution from an unconstrained parameter pytree (so that
``jax.grad`` through the parameterization can be checked) and gives a cost ``f`` suited to
the samples the family hands to ``f``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp

import reparax as rx


class Example(NamedTuple):
    build: Callable[[Any], Any]
    params: Any
    f: Callable[[jax.Array], jax.Array]


def _smooth_cost(z):
    return jnp.sum((z - 0.3) ** 2) + jnp.sum(jnp.sin(z))


_TABLE = jnp.array([[0.3, -1.0, 2.0], [1.5, 0.2, -0.7]])


def _table_cost(index):  # Categorical: integer indices of shape (2,)
    return jnp.sum(_TABLE[jnp.arange(2), index]) + jnp.sin(1.0 * index[0] * index[1])


def _one_hot_cost(z):  # OneHotCategorical: one-hot (or simplex) rows of shape (2, 3)
    return jnp.sum(_TABLE * z) + jnp.sin(z[0, 0] * z[1, 2])


EXAMPLES = {
    "Normal": Example(
        lambda p: rx.Normal(p["loc"], jax.nn.softplus(p["rho"])),
        {"loc": jnp.array([0.5, -0.2]), "rho": jnp.array([0.3, -0.4])},
        _smooth_cost,
    ),
    "MultivariateNormalTriL": Example(
        lambda p: rx.MultivariateNormalTriL(
            p["loc"], jnp.tril(p["tril"], -1) + jnp.diag(jax.nn.softplus(jnp.diag(p["tril"])))
        ),
        {"loc": jnp.array([0.1, 0.4]), "tril": jnp.array([[0.5, 0.0], [0.3, 0.2]])},
        _smooth_cost,
    ),
    "Bernoulli": Example(
        lambda p: rx.Bernoulli(p["logits"]), {"logits": jnp.array([0.4, -1.2, 2.0])}, _smooth_cost
    ),
    "Categorical": Example(
        lambda p: rx.Categorical(p["logits"]),
        {"logits": jnp.array([[0.1, 0.5, -0.3], [1.0, 0.0, -1.0]])},
        _table_cost,
    ),
    "OneHotCategorical": Example(
        lambda p: rx.OneHotCategorical(p["logits"]),
        {"logits": jnp.array([[0.1, 0.5, -0.3], [1.0, 0.0, -1.0]])},
        _one_hot_cost,
    ),
    **{
        name: Example(lambda p, make=make: make(**p), params, _smooth_cost)
        for name, (make, params) in {
            "Laplace": (
                rx.Laplace,
                {"loc": jnp.array([0.5, -0.2]), "scale": jnp.array([1.0, 0.5])},
            ),
            "Logistic": (
                rx.Logistic,
                {"loc": jnp.array([0.5, -0.2]), "scale": jnp.array([1.0, 0.5])},
            ),
            "Gumbel": (rx.Gumbel, {"loc": jnp.array([0.5, -0.2]), "scale": jnp.array([1.0, 0.5])}),
            "Cauchy": (rx.Cauchy, {"loc": jnp.array([0.5, -0.2]), "scale": jnp.array([1.0, 0.5])}),
            "LogNormal": (
                rx.LogNormal,
                {"loc": jnp.array([0.1, -0.2]), "scale": jnp.array([0.3, 0.5])},
            ),
            "Exponential": (rx.Exponential, {"rate": jnp.array([1.5, 0.7])}),
            "Weibull": (
                rx.Weibull,
                {"concentration": jnp.array([1.5, 2.0]), "scale": jnp.array([1.0, 0.5])},
            ),
            "Uniform": (rx.Uniform, {"low": jnp.array([-1.0, 0.0]), "high": jnp.array([1.0, 0.5])}),
            "Kumaraswamy": (
                rx.Kumaraswamy,
                {"concentration1": jnp.array([2.0, 0.7]), "concentration0": jnp.array([1.5, 3.0])},
            ),
            "TruncatedNormal": (
                rx.TruncatedNormal,
                {
                    "loc": jnp.array([0.0, 0.5]),
                    "scale": jnp.array([1.0, 2.0]),
                    "low": jnp.array([-1.0, 0.0]),
                    "high": jnp.array([1.0, 3.0]),
                },
            ),
            "Gamma": (
                rx.Gamma,
                {"concentration": jnp.array([0.7, 3.0]), "rate": jnp.array([1.0, 2.0])},
            ),
            "Beta": (
                rx.Beta,
                {"concentration1": jnp.array([0.7, 3.0]), "concentration0": jnp.array([1.5, 2.0])},
            ),
            "Dirichlet": (rx.Dirichlet, {"concentration": jnp.array([0.7, 3.0, 1.2])}),
            "StudentT": (
                rx.StudentT,
                {
                    "df": jnp.array([3.0, 8.0]),
                    "loc": jnp.array([0.5, -0.2]),
                    "scale": jnp.array([1.0, 0.5]),
                },
            ),
            "VonMises": (
                rx.VonMises,
                {"loc": jnp.array([0.5, -2.0]), "concentration": jnp.array([0.7, 30.0])},
            ),
            "Poisson": (rx.Poisson, {"rate": jnp.array([2.0, 0.5])}),
            "Geometric": (rx.Geometric, {"logits": jnp.array([0.3, -1.0])}),
            "Binomial": (
                lambda logits: rx.Binomial(logits, total_count=5),
                {"logits": jnp.array([0.3, -1.0])},
            ),
        }.items()
    },
}
