"""Samplers for the p± laws of weak derivatives (Mohamed et al. 2020, Table 1)."""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp

from reparax.distributions._noise import open_uniform, positive_exponential


def weibull_2_sqrt2(key: jax.Array, shape: tuple[int, ...], dtype: Any) -> jax.Array:
    """W ~ Weibull(shape 2, scale √2), density w·exp(−w²/2), by inversion: √(−2 log U)."""
    u = open_uniform(key, shape, dtype)
    return jnp.sqrt(-2.0 * jnp.log(u))


def double_sided_maxwell(key: jax.Array, shape: tuple[int, ...], dtype: Any) -> jax.Array:
    """M with density m² exp(−m²/2)/√(2π): a random sign times the norm of a 3-d normal."""
    key_norm, key_sign = jax.random.split(key)
    radius = jnp.linalg.norm(jax.random.normal(key_norm, shape + (3,), dtype), axis=-1)
    return jnp.where(jax.random.bernoulli(key_sign, 0.5, shape), radius, -radius)


def exponential_and_gamma2(
    key: jax.Array, size: int, dtype: Any, coupled: bool
) -> tuple[jax.Array, jax.Array]:
    """E ~ Exp(1) and G ~ Gamma(2, 1), coupled as G = E + E' (else independent), shape (size,).

    The weak derivatives of Exponential's rate and Weibull's scale are differences between
    these two laws."""
    k1, k2, k3 = jax.random.split(key, 3)
    e1 = positive_exponential(k1, (size,), dtype)  # Weibull's λE^{1/k}: never exactly 0
    e2 = positive_exponential(k2, (size,), dtype)
    first = e1 if coupled else positive_exponential(k3, (size,), dtype)
    return e1, first + e2
