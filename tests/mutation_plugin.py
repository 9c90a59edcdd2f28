"""Mutation check: a pytest plugin that scales one estimator's gradient (not its value).

    REPARAX_MUTATION=score_function REPARAX_MUTATION_FACTOR=1.05 \\
        python -m pytest -p tests.mutation_plugin tests/test_gaussian_unbiased.py

A suite with power must fail on the mutant (see ``benchmarks/mutation.py``). Without
``REPARAX_MUTATION`` the plugin does nothing.
"""

from __future__ import annotations

import functools
import os

import jax

DEFAULT_FACTOR = 1.05


def scale_gradient(surrogate, factor: float):
    """Same value, gradient (of every order through this node) times ``factor``."""
    frozen = jax.lax.stop_gradient(surrogate)
    return frozen + factor * (surrogate - frozen)


def install(name: str, factor: float = DEFAULT_FACTOR) -> None:
    """Makes estimator ``name`` gradient-scaled wherever the tests can reach it.

    Each estimator is one frozen ``rx.Estimator`` value that the registry, ``rx.<name>`` and
    the dispatcher all share, so swapping its ``fn`` in place (a test-only escape from the
    frozen dataclass) mutates every path at once.
    """
    from reparax import _registry

    estimator = _registry.lookup(name)  # ValueError for an unknown name, on purpose
    original = estimator.fn

    @functools.wraps(original)
    def mutant(*args, **kwargs):
        return scale_gradient(original(*args, **kwargs), factor)

    mutant.__reparax_mutation__ = (name, factor)
    object.__setattr__(estimator, "fn", mutant)


def pytest_configure(config) -> None:
    name = os.environ.get("REPARAX_MUTATION")
    if not name:
        return
    factor = float(os.environ.get("REPARAX_MUTATION_FACTOR", DEFAULT_FACTOR))
    install(name, factor)


def pytest_report_header(config):
    name = os.environ.get("REPARAX_MUTATION")
    if name:
        factor = os.environ.get("REPARAX_MUTATION_FACTOR", DEFAULT_FACTOR)
        return f"reparax mutation: {name} gradient × {factor}"
    return None
