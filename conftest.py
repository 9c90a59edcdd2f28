"""Test-suite settings, for tests/ and the doctests in reparax/.

Strict JAX settings turn silent broadcasting bugs into errors.

The suite's programs are small and each is run a few times, so XLA compilation, not
execution, dominates its run time. Three settings cut it (measured on 2 CPU cores, the
contract suite's slowest programs: 24.8 s of compilation down to 12.6 s for the first two):

- ``--xla_backend_optimization_level=0``: LLVM does not optimize the generated code.
- ``--xla_cpu_use_fusion_emitters=false``: XLA CPU's older elemental emitters for fusions,
  which compile about twice as fast as the MLIR fusion emitters and compute the same values
  (jaxlib ≥ 0.5.3 knows the flag; older ones abort on it, so it is left out there).
- A persistent compilation cache in a temporary folder shared by the xdist workers: tests
  that build the same program with fresh closures (the same HLO) compile it once per run.
  Every program is cached, however quick to compile: eager (un-jitted) code compiles each
  primitive for each new shape, about 11 000 programs of ~10 ms in a run, many of them the
  same in both workers and the notebook kernels (13–15% less CPU time on the eager-heavy
  tests than caching only programs above 0.05 s).

Benchmarks do not use this file: they measure the defaults users get.
"""

import atexit
import os
import shutil
import tempfile
from importlib.metadata import version

from packaging.version import Version

_flags = ["--xla_backend_optimization_level=0"]
if Version(version("jaxlib")) >= Version("0.5.3"):  # older XLA aborts on an unknown flag
    _flags.append("--xla_cpu_use_fusion_emitters=false")
os.environ.setdefault("XLA_FLAGS", " ".join(_flags))
# The pytest process that starts first creates the folder; xdist workers, notebook kernels
# and the suite's other subprocesses inherit the variables (JAX reads them at import) and
# share it. Only its creator removes it.
if "REPARAX_TEST_JAX_CACHE" not in os.environ:
    os.environ["REPARAX_TEST_JAX_CACHE"] = tempfile.mkdtemp(prefix="reparax-jax-cache-")
    atexit.register(shutil.rmtree, os.environ["REPARAX_TEST_JAX_CACHE"], ignore_errors=True)
os.environ.setdefault("JAX_COMPILATION_CACHE_DIR", os.environ["REPARAX_TEST_JAX_CACHE"])
os.environ.setdefault("JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS", "0")
os.environ.setdefault("JAX_PERSISTENT_CACHE_MIN_ENTRY_SIZE_BYTES", "0")

import jax  # noqa: E402

jax.config.update("jax_numpy_rank_promotion", "raise")
jax.config.update("jax_numpy_dtype_promotion", "standard")
