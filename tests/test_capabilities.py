"""``requires`` cannot understate: each estimator runs on a distribution that has exactly its
declared capabilities and nothing more, and no estimator looks at concrete families."""

from __future__ import annotations

import ast
import pathlib
from typing import Any

import jax
import numpy as np
import pytest

import reparax as rx
from reparax import capabilities
from reparax.capabilities import DistributionLike, members
from tests.examples import EXAMPLES

ALL_CAPABILITIES = [
    value
    for value in vars(capabilities).values()
    if isinstance(value, type) and getattr(value, "_is_protocol", False)
]
EVERY_MEMBER = frozenset().union(*(members(c) for c in ALL_CAPABILITIES))


def restricted(dist: Any, declared: tuple[type, ...]) -> Any:
    """``dist`` behind a facade with the required surface and the members of ``declared``
    only; every other capability member is absent (``None``, so not callable)."""
    allowed = frozenset().union(members(DistributionLike), *(members(c) for c in declared))
    namespace: dict[str, Any] = {name: None for name in EVERY_MEMBER - allowed}
    for name in allowed:
        if isinstance(getattr(type(dist), name, None), property):
            namespace[name] = property(lambda self, n=name: getattr(self.inner, n))
        else:
            namespace[name] = lambda self, *a, n=name, **k: getattr(self.inner, n)(*a, **k)

    def wrap(inner: Any) -> Any:
        out = object.__new__(cls)
        object.__setattr__(out, "inner", inner)
        return out

    namespace["replace"] = lambda self, **p: wrap(self.inner.replace(**p))
    namespace["checked"] = lambda self, **k: wrap(self.inner.checked(**k))
    namespace["check_parameters"] = lambda self: self.inner.check_parameters()
    namespace["fixed_support"] = getattr(type(dist), "fixed_support", True)
    names = "".join(c.__name__ for c in declared) or "Nothing"
    cls = type(f"Only{names}", (rx.Distribution,), namespace)
    jax.tree_util.register_pytree_node(cls, lambda d: ((d.inner,), None), lambda _, c: wrap(c[0]))
    return wrap(dist)


def _first_example(method):
    for name, example in EXAMPLES.items():
        dist = example.build(example.params)
        if method.supports(dist):
            return name, example, dist
    raise AssertionError(f"no example family supports {method.name}")


def _entry(method):
    """The Estimate-returning entry point for the method's objective (bound methods take the
    family's f as log_joint)."""
    if method.objective == "bound":
        return rx.multisample_bound_estimate
    return rx.gradient_estimate


@pytest.mark.parametrize("method", list(rx.methods().values()), ids=lambda m: m.name)
def test_an_estimator_needs_nothing_beyond_what_it_declares(method):
    family, example, dist = _first_example(method)
    facade = restricted(dist, method.requires)
    assert method.supports(facade), method.missing(facade)
    key = jax.random.key(1)
    n = max(2, method.min_samples)
    estimate = _entry(method)
    est = estimate(example.f, facade, key, method=method, num_samples=n)
    direct = estimate(example.f, dist, key, method=method, num_samples=n)
    np.testing.assert_allclose(est.value, direct.value, rtol=1e-5)
    for got, want in zip(jax.tree.leaves(est.grad), jax.tree.leaves(direct.grad)):
        np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-6)


@pytest.mark.parametrize("method", list(rx.methods().values()), ids=lambda m: m.name)
def test_without_a_declared_capability_the_estimator_is_refused(method):
    if not method.requires or method.requires == (DistributionLike,):
        pytest.skip(f"{method.name} needs only the required surface")
    _, example, dist = _first_example(method)
    facade = restricted(dist, ())
    with pytest.raises(ValueError, match="does not support"):
        _entry(method)(example.f, facade, jax.random.key(0), method=method, num_samples=2)


def test_no_estimator_or_control_variate_looks_at_a_concrete_family():
    package = pathlib.Path(rx.__file__).parent
    families = set(rx.distributions.__all__)
    for folder in ("estimators", "control_variates"):
        for path in (package / folder).glob("*.py"):
            tree = ast.parse(path.read_text())
            for node in ast.walk(tree):
                if isinstance(node, ast.ImportFrom) and (node.module or "").startswith(
                    "reparax.distributions"
                ):
                    imported = {alias.name for alias in node.names}
                    assert not imported & families, f"{path.name} imports {imported & families}"
                if isinstance(node, ast.Call) and getattr(node.func, "id", "") == "isinstance":
                    named = {getattr(a, "id", getattr(a, "attr", "")) for a in ast.walk(node)}
                    assert not named & families, (
                        f"{path.name}: isinstance against {named & families}"
                    )
