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
}
