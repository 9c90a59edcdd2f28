"""Test-suite settings, for tests/ and the doctests in reparax/.

Strict JAX settings turn silent broadcasting bugs into errors. XLA's backend optimization
is lowered: the suite's programs are small and compiled once each, so compilation, not
execution, dominates its run time (about 30% faster on 2 CPU cores). Benchmarks do not use
this file.
"""

import os

os.environ.setdefault("XLA_FLAGS", "--xla_backend_optimization_level=0")

import jax  # noqa: E402

jax.config.update("jax_numpy_rank_promotion", "raise")
jax.config.update("jax_numpy_dtype_promotion", "standard")
