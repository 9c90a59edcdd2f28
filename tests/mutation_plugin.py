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
    """Replaces estimator ``name`` everywhere the tests can reach it by a gradient-scaled one.

    NOTE: this targets the registry INTERNALS as they are on branch ``stats`` today, and the
    registry is being rewritten on main; port this one function when it lands. Today:
    ``reparax._registry._REGISTRY[name]`` is a ``MethodInfo`` NamedTuple whose ``.fn`` the
    dispatcher (``rx.gradient_estimate``/``rx.expectation`` via ``_registry.lookup``) calls,
    and the same function object is exported as ``rx.<name>`` (and aliases such as
    ``rx.reinforce``), ``reparax.estimators.<name>`` and in its defining module.
    """
    import reparax
    import reparax.estimators
    from reparax import _registry

    info = _registry._REGISTRY[name]  # KeyError for an unknown name, on purpose
    original = info.fn

    @functools.wraps(original)
    def mutant(*args, **kwargs):
        return scale_gradient(original(*args, **kwargs), factor)

    mutant.__reparax_mutation__ = (name, factor)
    _registry._REGISTRY[name] = info._replace(fn=mutant)
    defining = __import__(original.__module__, fromlist=["_"])
    for module in (reparax, reparax.estimators, defining):
        for attribute, value in list(vars(module).items()):
            if value is original:
                setattr(module, attribute, mutant)


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
