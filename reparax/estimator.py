"""The estimator value: everything about one gradient estimator, and its function.

Each estimator is one :class:`Estimator`, defined in its own module of
``reparax.estimators``. The value is what the rest of the library reads: the registry
(``rx.methods()``), the README's table, ``method="auto"``, ``rx.variance_gradient``, the
diagnostics and the command line. Calling it runs the estimator with its checks done once::

    rx.pathwise(f, dist, key, num_samples=64)       # == rx.expectation(..., method="pathwise")
    rx.pathwise.unbiased, rx.pathwise.requires      # its metadata

The function it wraps, ``fn(f, dist, key, *, num_samples, chunk_size, **options)``, returns a
*surrogate*: a scalar whose value is the Monte Carlo estimate of E[f] and whose derivatives
are the estimator's. ``fn`` does no validation; :meth:`Estimator.__call__` validates first.
"""

from __future__ import annotations

import dataclasses
import inspect
import math
from collections.abc import Callable, Mapping
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp

from reparax import _checks, _plates, _sharding
from reparax._keyed import bind_key, is_keyed
from reparax._order import limit_order
from reparax.capabilities import has_capability
from reparax.control_variates._apply import apply_control_variate
from reparax.distributions._base import Distribution


class Trainable(NamedTuple):
    """How ``rx.variance_gradient`` trains an estimator's own control-variate parameters.

    Attributes:
      init: ``init(dist, key) -> params``, the initial parameters (a pytree).
      to_options: ``to_options(params) -> dict`` of the estimator's keyword options.
    """

    init: Callable[[Any, jax.Array], Any]
    to_options: Callable[[Any], dict[str, Any]]


def _one_evaluation(dist: Any, **options: Any) -> int:
    del dist, options
    return 1


#: Options every estimator takes; the rest are the estimator's own (its ``fn`` signature).
COMMON_OPTIONS = ("num_samples", "chunk_size", "plates", "sample_sharding")
#: Options of the control-variate mechanism, accepted where ``accepts_control_variate``.
CONTROL_VARIATE_OPTIONS = ("control_variate", "cv_coefficient")
#: What a surrogate can estimate: E[f], or a multi-sample bound (``rx.multisample_bound``).
OBJECTIVES = ("expectation", "bound")


@dataclasses.dataclass(frozen=True, eq=False)
class Estimator:
    """One gradient estimator: its metadata and its function.

    Attributes:
      name: the ``method=`` string.
      fn: ``fn(f, dist, key, *, num_samples, chunk_size, **options) -> surrogate``.
      unbiased: whether the gradient's expectation is the exact gradient.
      differentiable_f: whether ``f`` must be differentiable in its input.
      evaluations: f-evaluations per sample, in words (D = batch elements, K = classes,
        P = parameter elements).
      references: papers, with arXiv links.
      requires: the capability protocols (``reparax.capabilities``) it needs; it calls
        nothing else on the distribution.
      count_evaluations: ``count_evaluations(dist, **options) -> int``, f-evaluations per
        sample with the estimator's ``options`` (callers that know them pass them:
        ``rx.diagnostics.f_evaluations``); a count that does not depend on them may take
        ``dist`` alone.
      needs_fixed_support: it differentiates the density only, so a support that moves with
        the parameters (``Uniform``'s bounds) would make it biased: such families refuse it.
      min_samples: the smallest ``num_samples`` it accepts.
      aliases: other names the dispatcher accepts.
      auto_rank: its place in ``method="auto"``'s preference (lower first); ``None`` if auto
        never picks it. Only unbiased estimators may have one.
      max_order: the highest derivative order it gives without bias (``None``: any order,
        as for the DiCE-based and pathwise estimators); higher orders raise.
      accepts_control_variate: whether ``control_variate=``/``cv_coefficient=`` apply (the
        estimator is linear in f and unbiased for any integrand).
      trainable: its own trainable control-variate parameters, for ``rx.variance_gradient``.
      accepts_keyed_f: whether ``f`` may take the per-sample key (``rx.with_key``).
      objective: what the surrogate estimates: ``"expectation"`` (E[f], through
        ``rx.expectation``/``rx.gradient_estimate``) or ``"bound"`` (a multi-sample bound
        L_K = E[log (1/K) Σ_k w_k] with ``f`` the log-joint, through
        ``rx.multisample_bound``). Bound methods are never chosen by ``"auto"``.
    """

    name: str
    fn: Callable[..., jax.Array]
    unbiased: bool
    differentiable_f: bool
    evaluations: str
    references: tuple[str, ...]
    requires: tuple[type, ...] = ()
    count_evaluations: Callable[..., int] = _one_evaluation
    needs_fixed_support: bool = False
    min_samples: int = 1
    aliases: tuple[str, ...] = ()
    auto_rank: int | None = None
    max_order: int | None = None
    accepts_control_variate: bool = False
    trainable: Trainable | None = None
    accepts_keyed_f: bool = True
    objective: str = "expectation"

    def __post_init__(self) -> None:
        if self.auto_rank is not None and not self.unbiased:
            raise ValueError(f"estimator {self.name!r}: only unbiased estimators may be auto.")
        if self.objective not in OBJECTIVES:
            raise ValueError(
                f"estimator {self.name!r}: `objective` must be one of {OBJECTIVES}, got "
                f"{self.objective!r}."
            )
        if self.objective != "expectation" and (
            self.auto_rank is not None or self.accepts_control_variate
        ):
            # auto and control variates are defined for E[f]; a bound is not an expectation
            # of the function the user passes.
            raise ValueError(
                f"estimator {self.name!r}: a {self.objective!r} estimator can have neither an "
                "auto_rank nor accept control variates."
            )
        # The value stands in for its function: same docstring and signature.
        object.__setattr__(self, "__doc__", self.fn.__doc__)
        object.__setattr__(self, "__signature__", inspect.signature(self.fn))

    def __repr__(self) -> str:
        return f"Estimator({self.name!r})"

    # -- what it accepts ---------------------------------------------------------------------
    @property
    def options(self) -> Mapping[str, Any]:
        """The estimator's own keyword options and their defaults (from ``fn``'s signature)."""
        return {
            name: p.default
            for name, p in inspect.signature(self.fn).parameters.items()
            if p.kind is inspect.Parameter.KEYWORD_ONLY and name not in COMMON_OPTIONS
        }

    def accepts(self, option: str) -> bool:
        """Whether ``option`` is one of its keyword options."""
        if option in COMMON_OPTIONS or option in self.options:
            return True
        return self.accepts_control_variate and option in CONTROL_VARIATE_OPTIONS

    def missing(self, dist: Any) -> list[str]:
        """The capabilities (by name) this estimator needs that ``dist`` lacks."""
        missing = [c.__name__ for c in self.requires if not has_capability(dist, c)]
        if self.needs_fixed_support and not getattr(dist, "fixed_support", True):
            missing.append("fixed_support")
        return missing

    def supports(self, dist: Any) -> bool:
        """Whether ``dist`` has every capability this estimator needs."""
        return not self.missing(dist)

    # -- running it --------------------------------------------------------------------------
    def validate(
        self,
        f: Callable,
        dist: Any,
        key: Any,
        *,
        num_samples: Any,
        chunk_size: Any = None,
        plates: Any = 0,
        options: Mapping[str, Any] | None = None,
        chosen_by: str | None = None,
    ) -> None:
        """Every check before tracing, once: raises ``ValueError``/``TypeError`` on bad input."""
        _checks.check_distribution(dist)
        _checks.check_supported(self, dist)
        dist.check_parameters()
        _checks.check_key(key)
        _checks.check_count("num_samples", num_samples, minimum=self.min_samples, method=self)
        _checks.check_count("chunk_size", chunk_size, allow_none=True, method=self)
        _plates.check_plates(plates, dist)
        options = dict(options or {})
        _sharding.check_sample_sharding(options.pop("sample_sharding", None), self.name)
        _checks.check_options(self, options, dist, chosen_by=chosen_by)
        if plates and options.get("control_variate") is not None:
            raise ValueError(
                f"method={self.name!r}: `control_variate` is not supported with `plates` (the "
                "control variate would see one element's sample); use a baseline, or no plates."
            )
        if is_keyed(f) and not self.accepts_keyed_f:
            keyed = [e.name for e in _registry_estimators() if e.accepts_keyed_f]
            raise ValueError(
                f"method={self.name!r} cannot give f its key (rx.with_key): its control "
                f"variate evaluates f outside the sample's key. Methods that can: "
                f"{', '.join(keyed)}."
            )
        example = jax.eval_shape(dist.sample, key)
        plate_shape = tuple(dist.batch_shape)[:plates]
        _checks.check_cost(f, example, plate_shape)
        cost = bind_key(f, jax.random.key(0))
        if self.differentiable_f and _checks.derivative_is_structurally_zero(cost, example):
            alternatives = [
                e.name
                for e in _registry_estimators()
                if e.unbiased
                and not e.differentiable_f
                and e.objective == self.objective
                and e.supports(dist)
            ]
            auto = " (method='auto' picks one)" if self.objective == "expectation" else ""
            raise ValueError(
                f"method={self.name!r} needs a differentiable f, but f's derivative is zero "
                "by construction (a comparison, an integer cast or stop_gradient in f): its "
                f"gradient would be a silent 0. Unbiased methods for a non-differentiable f: "
                f"{', '.join(alternatives)}{auto}."
            )

    def surrogate(
        self,
        f: Callable,
        dist: Any,
        key: jax.Array,
        *,
        num_samples: int,
        chunk_size: int | None = None,
        plates: int = 0,
        guard_order: bool = True,
        sample_sharding: Any = None,
        site: str | None = None,
        **options: Any,
    ) -> jax.Array:
        """The traced part (no validation): invalid traced parameters become NaN, control
        variates apply, and derivative orders beyond ``max_order`` raise (``site``: the
        ``rx.Joint`` site estimated, named by that error).

        ``guard_order=False`` lifts that last guard for callers that take a mixed derivative
        the estimator does give exactly: ``rx.variance_gradient`` differentiates the gradient
        estimate with respect to the control variate's own parameters φ (∂ĝ/∂φ is exact by
        construction for REBAR/RELAX), never a second derivative in θ.

        ``sample_sharding`` (a ``NamedSharding`` of the sample axis) splits the samples over
        devices, same per-sample values (``reparax._sharding``)."""
        # NaN for invalid traced parameters, without checkify's debug_check: its effect would
        # take every jitted caller off JAX's C++ dispatch path (≈ 2× on small estimates).
        # Users who want the report call `dist.checked()` themselves, under checkify. A
        # foreign distribution's own `checked()` is called as it is.
        dist = dist.checked(report=False) if isinstance(dist, Distribution) else dist.checked()
        if math.prod(dist.batch_shape) == 0:
            # No random element: E[f] = f(the empty sample), and no parameter affects it.
            keys = jax.random.split(key, num_samples)
            empty = dist.sample(key, (num_samples,))
            values = jax.vmap(lambda z, k: bind_key(f, k)(z))(empty, keys)
            return jnp.mean(jnp.sum(values.reshape(num_samples, -1), -1))

        def single(f: Callable, dist: Any, key: jax.Array) -> jax.Array:
            with _sharding.scope(sample_sharding):  # read by map_samples while tracing
                return self._single(
                    f, dist, key, num_samples, chunk_size, guard_order, dict(options), site
                )

        if plates:
            return _plates.plated(single, f, dist, key, plates)
        return single(f, dist, key)

    def _single(
        self,
        f: Callable,
        dist: Any,
        key: jax.Array,
        num_samples: int,
        chunk_size: int | None,
        guard_order: bool,
        options: dict[str, Any],
        site: str | None,
    ) -> jax.Array:
        """One site's surrogate: control variates applied, derivative orders guarded."""
        control_variate = options.pop("control_variate", None)
        coefficient = options.pop("cv_coefficient", 1.0)
        if control_variate is None:
            out = self.fn(f, dist, key, num_samples=num_samples, chunk_size=chunk_size, **options)
            return limit_order(
                out,
                self.max_order if guard_order else None,
                self.name,
                objective=self.objective,
                dist=dist,
                site=site,
            )
        out = apply_control_variate(
            self.fn,
            f,
            dist,
            key,
            num_samples=num_samples,
            chunk_size=chunk_size,
            options=options,
            control_variate=control_variate,
            coefficient=coefficient,
            name=self.name,
        )
        optimal = isinstance(coefficient, str)  # "optimal": first-order by construction
        max_order = 1 if optimal else self.max_order
        return limit_order(
            out,
            max_order,
            self.name,
            objective=self.objective,
            dist=dist,
            site=site,
            # Named only where it, not the method, sets the limit.
            optimal="cv_coefficient" if optimal and max_order != self.max_order else None,
        )

    def __call__(
        self,
        f: Callable,
        dist: Any,
        key: jax.Array,
        *,
        num_samples: int | None = None,
        chunk_size: int | None = None,
        plates: int = 0,
        **options: Any,
    ) -> jax.Array:
        """Validates, then returns the surrogate (see the estimator's docstring).

        ``plates=k``: the leading ``k`` batch axes are independent elements and ``f``
        returns one cost per element (shape ``dist.batch_shape[:k]``); each element is
        credited with its own cost only (see ``reparax._plates``). ``sample_sharding=``
        a ``jax.sharding.NamedSharding`` of one axis splits the samples over devices, with
        the per-sample values of one device (see ``reparax._sharding``)."""
        num_samples = self.min_samples if num_samples is None else num_samples
        self.validate(
            f,
            dist,
            key,
            num_samples=num_samples,
            chunk_size=chunk_size,
            plates=plates,
            options=options,
        )
        return self.surrogate(
            f,
            dist,
            key,
            num_samples=num_samples,
            chunk_size=chunk_size,
            plates=plates,
            **options,
        )


def _registry_estimators() -> tuple[Estimator, ...]:
    # Imported here: the registry imports every estimator module, which imports this one.
    from reparax._registry import estimators

    return tuple(estimators())
