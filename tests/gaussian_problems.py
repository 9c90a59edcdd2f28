"""Closed-form Gaussian expectations E_{N(μ, σ²)}[g(x)] for the unbiasedness tests."""

from __future__ import annotations

import jax.numpy as jnp


def square(k):
    return lambda x: (x - k) ** 2, lambda mu, sigma: (mu - k) ** 2 + sigma**2


def exp_square(k):
    def exact(mu, sigma):
        s = 1.0 + 2.0 * k * sigma**2
        return s**-0.5 * jnp.exp(-k * mu**2 / s)

    return lambda x: jnp.exp(-k * x**2), exact


def cosine(k):
    return lambda x: jnp.cos(k * x), lambda mu, sigma: jnp.cos(k * mu) * jnp.exp(
        -(k**2) * sigma**2 / 2
    )


PROBLEMS = {"square": square, "exp_square": exp_square, "cosine": cosine}
