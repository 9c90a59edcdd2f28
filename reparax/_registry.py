"""The one registry of gradient estimators, and ``methods()`` that describes it."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

from reparax import capabilities


class MethodInfo(NamedTuple):
    """What ``rx.methods()`` says about one estimator.

    Attributes:
      name: the ``method=`` string.
      fn: the public estimator function ``fn(f, dist, key, *, num_samples, ...)``.
      unbiased: whether the gradient's expectation is the exact gradient.
      differentiable_f: whether ``f`` must be differentiable in its input.
      evaluations: f-evaluations per sample, in words (D = batch elements, K = classes,
        P = parameter elements).
      count_evaluations: ``count_evaluations(dist) -> int``, the same as a number.
      requires: the distribution capabilities it needs (see ``reparax.distributions``).
      min_samples: the smallest ``num_samples`` it accepts.
      references: papers, with arXiv links.
      aliases: other names the dispatcher accepts.
    """

    name: str
    fn: Callable
    unbiased: bool
    differentiable_f: bool
    evaluations: str
    count_evaluations: Callable[[Any], int]
    requires: tuple[str, ...]
    min_samples: int
    references: tuple[str, ...]
    aliases: tuple[str, ...] = ()

    def supports(self, dist: Any) -> bool:
        """Whether ``dist`` has every capability this method needs."""
        return not self.missing(dist)

    def missing(self, dist: Any) -> list[str]:
        """The capabilities this method needs that ``dist`` lacks."""
        return [c for c in self.requires if not _has(dist, c)]


# Shim until the estimators declare capability protocols (main branch rewrites this file):
# the string names the estimators use today, mapped to the protocols whose hints apply.
_PROTOCOL_OF = {
    "reparameterized": capabilities.Reparameterized,
    "relaxed_transform": capabilities.Relaxable,
    "conditional_perturbed": capabilities.ConditionalNoise,
}


def _has(dist: Any, capability: str) -> bool:
    if capability == "reparameterized":
        # A subclass may still opt out with the legacy `reparameterized = False`.
        opted_out = getattr(dist, "reparameterized", True) is False
        return capabilities.has_capability(dist, capabilities.Reparameterized) and not opted_out
    if capability == "fixed_support":
        return bool(getattr(dist, "fixed_support", True))
    return callable(getattr(dist, capability, None))


_REGISTRY: dict[str, MethodInfo] = {}
_ALIASES: dict[str, str] = {}


def register(
    name: str,
    *,
    unbiased: bool,
    differentiable_f: bool,
    evaluations: str,
    requires: tuple[str, ...],
    count_evaluations: Callable[[Any], int] = lambda dist: 1,
    references: tuple[str, ...],
    min_samples: int = 1,
    aliases: tuple[str, ...] = (),
) -> Callable[[Callable], Callable]:
    """Decorator: adds an estimator function to the registry under ``name`` (and aliases)."""

    def decorate(fn: Callable) -> Callable:
        info = MethodInfo(
            name,
            fn,
            unbiased,
            differentiable_f,
            evaluations,
            count_evaluations,
            requires,
            min_samples,
            references,
            aliases,
        )
        _REGISTRY[name] = info
        for alias in aliases:
            _ALIASES[alias] = name
        return fn

    return decorate


#: The order ``methods()`` lists estimators in: continuous, then discrete, then relaxations.
_ORDER = (
    "pathwise",
    "score_function",
    "rloo",
    "measure_valued",
    "exact",
    "indecater",
    "arm",
    "disarm",
    "rebar",
    "relax",
    "gumbel_softmax",
    "straight_through",
    "st_gumbel_softmax",
    "gumbel_rao",
    "reinmax",
)


def methods() -> dict[str, MethodInfo]:
    """Every registered estimator (``"auto"`` excluded), by name."""
    rank = {name: i for i, name in enumerate(_ORDER)}
    return dict(sorted(_REGISTRY.items(), key=lambda item: rank.get(item[0], len(rank))))


def lookup(name: Any) -> MethodInfo:
    """The registry entry for ``name`` or an alias; a clear error listing the names if none."""
    if not isinstance(name, str):
        raise TypeError(f"`method` must be a string, got {type(name).__name__}.")
    info = _REGISTRY.get(_ALIASES.get(name, name))
    if info is None:
        known = sorted(list(_REGISTRY) + list(_ALIASES) + ["auto"])
        raise ValueError(f"Unknown method {name!r}. Known methods: {', '.join(known)}.")
    return info


def supported_methods(dist: Any) -> list[str]:
    """Names of the methods whose required capabilities ``dist`` has."""
    return [name for name, info in methods().items() if info.supports(dist)]


def check_supported(info: MethodInfo, dist: Any) -> None:
    if info.supports(dist):
        return
    missing = info.missing(dist)
    hints = getattr(dist, "capability_hints", {})
    found = [hints.get(c) or hints.get(_PROTOCOL_OF.get(c)) for c in missing]
    hint = "".join(f" {h}" for h in dict.fromkeys(found) if h)
    raise ValueError(
        f"method={info.name!r} does not support {type(dist).__name__} (it needs "
        f"{', '.join(missing)}).{hint} Methods that support {type(dist).__name__}: "
        f"{', '.join(supported_methods(dist))}."
    )


def methods_table() -> str:
    """``rx.methods()`` as a Markdown table (the README's table is this, checked by a test)."""
    lines = [
        "| method | unbiased | f differentiable | f-evaluations per sample | needs |",
        "|---|---|---|---|---|",
    ]
    for name, info in methods().items():
        alias = f" (alias `{'`, `'.join(info.aliases)}`)" if info.aliases else ""
        lines.append(
            f"| `{name}`{alias} | {'yes' if info.unbiased else '**no**'} | "
            f"{'yes' if info.differentiable_f else 'no'} | {info.evaluations} | "
            f"{', '.join(f'`{c}`' for c in info.requires)} |"
        )
    return "\n".join(lines)
