"""Strict JAX settings for every test: silent broadcasting bugs become errors."""

import jax

jax.config.update("jax_numpy_rank_promotion", "raise")
jax.config.update("jax_numpy_dtype_promotion", "standard")
