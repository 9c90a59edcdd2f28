"""``rx.Joint``: a program of named random choices, each a distribution or a function of
earlier choices returning one.

::

    joint = rx.Joint({
        "z": rx.Normal(0.0, 1.0),                              # a distribution
        "b": lambda z: rx.Bernoulli(logits=2.0 * z),           # a function of site "z"
        "c": lambda z, b: rx.Categorical(logits=w @ b + z),    # of sites "z" and "b"
    })
    est = rx.gradient_estimate(f, joint, key, method={"z": "pathwise", "b": "disarm",
                                                      "c": "rloo"}, num_samples=8)

A site's parents are the names of its function's arguments, which must be earlier sites. The
joint is a pytree whose leaves are the parameters of the sites given as distributions, so the
gradient has the joint's structure (``est.grad["z"].loc``); parameters that site functions
close over get their gradients through ``rx.expectation``. How the estimate is formed, site by
site, is in :mod:`reparax._program`.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterator, Mapping
from typing import Any

import jax

from reparax._checks import check_distribution


def _parents(name: str, fn: Callable, earlier: list[str]) -> tuple[str, ...]:
    try:
        parameters = inspect.signature(fn).parameters.values()
    except (TypeError, ValueError):
        raise TypeError(
            f"rx.Joint: site {name!r} must be a distribution or a function whose argument "
            f"names are earlier sites; its signature cannot be read."
        ) from None
    names = []
    for p in parameters:
        if p.kind not in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY):
            raise TypeError(
                f"rx.Joint: site {name!r}'s function takes *args/**kwargs; name the parent "
                f"sites as arguments (earlier sites: {', '.join(earlier) or 'none'})."
            )
        if p.name not in earlier:
            raise ValueError(
                f"rx.Joint: site {name!r} reads {p.name!r}, which is not an earlier site; "
                f"earlier sites: {', '.join(earlier) or 'none'} (sites are in order)."
            )
        names.append(p.name)
    return tuple(names)


class Joint:
    """A joint distribution over named sites, in order (see the module docstring).

    Args:
      sites: a mapping from site names to distributions, or to functions of earlier sites
        (by argument name) that return a distribution. Order is the order of sampling.

    Example:
      >>> import jax, jax.numpy as jnp, reparax as rx
      >>> joint = rx.Joint({"z": rx.Normal(jnp.array(0.5), 1.0),
      ...                   "b": lambda z: rx.Bernoulli(logits=z)})
      >>> sample = joint.sample(jax.random.key(0))
      >>> sorted(sample), joint.parents("b")
      (['b', 'z'], ('z',))
    """

    def __init__(self, sites: Mapping[str, Any]) -> None:
        if not isinstance(sites, Mapping) or not sites:
            raise TypeError(
                f"rx.Joint: `sites` must be a non-empty mapping of names to distributions or "
                f"functions of earlier sites, got {sites!r}."
            )
        names: list[str] = []
        fixed: dict[str, Any] = {}
        functions: dict[str, Callable] = {}
        parents: dict[str, tuple[str, ...]] = {}
        for name, site in sites.items():
            if not isinstance(name, str) or not name.isidentifier():
                raise ValueError(f"rx.Joint: site names must be identifiers, got {name!r}.")
            if callable(site) and not hasattr(site, "log_prob"):
                parents[name] = _parents(name, site, names)
                functions[name] = site
            else:
                check_distribution(site)
                parents[name] = ()
                fixed[name] = site
            names.append(name)
        self._names = tuple(names)
        self._fixed = fixed
        self._functions = functions
        self._parents = parents

    # -- structure ---------------------------------------------------------------------------
    @property
    def names(self) -> tuple[str, ...]:
        """The site names, in sampling order."""
        return self._names

    def parents(self, name: str) -> tuple[str, ...]:
        """The sites that site ``name``'s distribution reads."""
        return self._parents[self._known(name)]

    def ancestors(self, name: str) -> frozenset[str]:
        """Every site whose value site ``name``'s distribution depends on (transitively)."""
        found: set[str] = set()
        stack = list(self.parents(name))
        while stack:
            parent = stack.pop()
            if parent not in found:
                found.add(parent)
                stack.extend(self._parents[parent])
        return frozenset(found)

    def __getitem__(self, name: str) -> Any:
        """The site: a distribution, or the function returning one."""
        name = self._known(name)
        return self._fixed.get(name, self._functions.get(name))

    def __iter__(self) -> Iterator[str]:
        return iter(self._names)

    def __len__(self) -> int:
        return len(self._names)

    def __repr__(self) -> str:
        parts = [
            f"{n}: {type(self._fixed[n]).__name__}"
            if n in self._fixed
            else f"{n}: f({', '.join(self._parents[n])})"
            for n in self._names
        ]
        return f"Joint({{{', '.join(parts)}}})"

    def _known(self, name: str) -> str:
        if name not in self._parents:
            raise KeyError(f"rx.Joint has no site {name!r}; its sites: {', '.join(self._names)}.")
        return name

    # -- the distributions ------------------------------------------------------------------
    def distribution(self, name: str, values: Mapping[str, Any]) -> Any:
        """Site ``name``'s distribution given the values of its parents."""
        if name in self._fixed:
            return self._fixed[name]
        dist = self._functions[name](**{p: values[p] for p in self._parents[name]})
        if not hasattr(dist, "log_prob") or not hasattr(dist, "sample"):
            raise TypeError(
                f"rx.Joint: site {name!r}'s function must return a reparax distribution, got "
                f"{type(dist).__name__}."
            )
        check_distribution(dist)
        return dist

    def site_key(self, key: jax.Array, name: str) -> jax.Array:
        """The key of site ``name`` within one sample of the program drawn with ``key``."""
        return jax.random.fold_in(key, self._names.index(name))

    def sample(self, key: jax.Array) -> dict[str, jax.Array]:
        """One joint sample (no gradient): a dict of site values."""
        values: dict[str, jax.Array] = {}
        for name in self._names:
            values[name] = self.distribution(name, values).sample(self.site_key(key, name))
        return values

    def log_prob(self, values: Mapping[str, Any]) -> jax.Array:
        """log p(values) = Σ_sites log p(site value | parents), summed over batch axes."""
        total = 0.0
        for name in self._names:
            total = total + self.distribution(name, values).joint_log_prob(values[name])
        return jax.numpy.asarray(total)


def _flatten(joint: Joint) -> tuple[list[Any], tuple[Any, ...]]:
    children = [joint._fixed[n] for n in joint._names if n in joint._fixed]
    functions = tuple((n, joint._functions[n]) for n in joint._names if n in joint._functions)
    parents = tuple(joint._parents[n] for n in joint._names)
    return children, (joint._names, functions, parents)


def _unflatten(aux: tuple[Any, ...], children: Any) -> Joint:
    # No validation: JAX reassembles joints whose leaves are tracers, gradients or None.
    names, functions, parents = aux
    function_of = dict(functions)
    joint = object.__new__(Joint)
    joint._names = names
    joint._fixed = dict(zip([n for n in names if n not in function_of], children))
    joint._functions = function_of
    joint._parents = dict(zip(names, parents))
    return joint


jax.tree_util.register_pytree_node(Joint, _flatten, _unflatten)
