"""Toy problems with exact answers, shared by the CLI, the benchmarks, notebooks and tests.

Gaussian moments (Mohamed et al. 2020, §3): for x ~ N(μ, σ²),

* E[(x − k)²] = (μ − k)² + σ²,
* E[exp(−k x²)] = (1 + 2kσ²)^{−1/2} exp(−k μ² / (1 + 2kσ²)),
* E[cos(k x)] = cos(kμ) exp(−k²σ²/2).

Each problem is a pair ``(g, exact)``: ``g(x)`` acts elementwise and ``exact(μ, σ)`` is the
expectation of ``g`` for one Gaussian coordinate, differentiable with ``jax.grad``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import jax
import jax.numpy as jnp


class GaussianProblem(NamedTuple):
    g: Callable
    exact: Callable


def square(k: float) -> GaussianProblem:
    """g(x) = (x − k)²."""
    return GaussianProblem(lambda x: (x - k) ** 2, lambda mu, sigma: (mu - k) ** 2 + sigma**2)


def exp_square(k: float) -> GaussianProblem:
    """g(x) = exp(−k x²)."""

    def exact(mu: jax.Array, sigma: jax.Array) -> jax.Array:
        s = 1.0 + 2.0 * k * sigma**2
        return s**-0.5 * jnp.exp(-k * mu**2 / s)

    return GaussianProblem(lambda x: jnp.exp(-k * x**2), exact)


def cosine(k: float) -> GaussianProblem:
    """g(x) = cos(k x)."""

    def exact(mu: jax.Array, sigma: jax.Array) -> jax.Array:
        return jnp.cos(k * mu) * jnp.exp(-(k**2) * sigma**2 / 2)

    return GaussianProblem(lambda x: jnp.cos(k * x), exact)


GAUSSIAN_PROBLEMS: dict[str, Callable[[float], GaussianProblem]] = {
    "square": square,
    "exp_square": exp_square,
    "cosine": cosine,
}
