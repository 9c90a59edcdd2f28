"""The required surface of every distribution, and the kit to author one.

A distribution is an immutable pytree. Its parameters (``loc``, ``logits``, ...) are the
leaves, so ``jax.grad`` with respect to a distribution returns a distribution-shaped pytree of
gradients, and ``jax.vmap`` over a stacked distribution maps over a batch of them.

:class:`Distribution` holds the required surface only (``batch_shape``, ``event_shape``,
``dtype``, ``sample``, ``log_prob``, ``joint_log_prob``, ``parameters``, ``replace``) and
validation. Everything else an estimator may use is a capability (see
:mod:`reparax.capabilities`): a family has it by defining its methods, or by mixing in
:class:`~reparax.distributions.ExplicitReparameterization` /
:class:`~reparax.distributions.ImplicitReparameterization`.

Authoring a family::

    >>> import jax, jax.numpy as jnp, reparax as rx
    >>> @rx.distribution
    ... class Rayleigh(rx.distributions.ExplicitReparameterization):
    ...     scale: jax.Array = rx.param(rx.constraints.positive)
    ...     def noise(self, key, sample_shape=()):
    ...         return jax.random.exponential(key, tuple(sample_shape) + self.batch_shape)
    ...     def transform(self, noise):
    ...         return self.scale * jnp.sqrt(2.0 * noise)
    ...     def log_prob(self, z):
    ...         return jnp.log(z) - 2 * jnp.log(self.scale) - z**2 / (2 * self.scale**2)
    >>> Rayleigh(jnp.array([1.0, -2.0]))
    Traceback (most recent call last):
    ...
    ValueError: Rayleigh: `scale` must be > 0 (positive); got -2.0 at index (1,).

Validation has three entry points, so that JAX's own reassembly of the pytree (``vmap`` and
``scan`` outputs, gradient pytrees, ``tree_map`` to ``None``) never runs any of them:

* construction (``rx.Normal(loc, scale)``) converts the leaves to arrays of one floating
  dtype, checks that the batch shapes broadcast and, for concrete values, that every
  parameter satisfies its declared constraint;
* :meth:`Distribution.check_parameters` repeats the value check (concrete values only);
* :meth:`Distribution.checked`, inside a traced computation, turns every invalid parameter
  into NaN (value and gradient) and reports through ``jax.experimental.checkify``.
"""

from __future__ import annotations

import dataclasses
import sys
from types import ModuleType
from typing import Any, ClassVar, NamedTuple, TypeVar

if sys.version_info >= (3, 11):
    from typing import dataclass_transform
else:  # pragma: no cover
    from typing_extensions import dataclass_transform

import jax
import jax.numpy as jnp
import numpy as np
from jax.experimental import checkify

from reparax.constraints import Constraint, real

Shape = tuple[int, ...]
_D = TypeVar("_D", bound="Distribution")
_T = TypeVar("_T", bound=type)


class Parameter(NamedTuple):
    """A declared parameter: its name, constraint, trailing event axes and dtype kind."""

    name: str
    constraint: Constraint
    event_ndims: int
    dtype: str


class Relation(NamedTuple):
    """A constraint between parameters (e.g. ``low < high``), for :meth:`_relations`.

    Attributes:
      names: the parameters involved (each is blamed and, under ``checked``, made NaN).
      description: completes "`names[0]` must be ...", e.g. "< `high`".
      valid: boolean array, ``True`` where the relation holds (broadcast batch shape).
    """

    names: tuple[str, ...]
    description: str
    valid: Any


def param(constraint: Constraint = real, *, event_ndims: int = 0, dtype: str = "float") -> Any:
    """Declares a parameter field: a pytree leaf that must satisfy ``constraint``.

    Args:
      constraint: a value from :mod:`reparax.constraints` (default ``real``: finite).
      event_ndims: trailing axes of the parameter that belong to one event (1 for a
        Dirichlet's concentration vector, 2 for a Cholesky factor); the leading axes are
        batch axes and broadcast against the other parameters'.
      dtype: ``"float"`` (promoted with the other float parameters to one floating dtype)
        or ``"int"`` (kept as given).
    """
    if not isinstance(constraint, Constraint):
        raise TypeError(
            f"`constraint` must be a reparax.constraints value (e.g. constraints.positive), "
            f"got {constraint!r}."
        )
    if constraint.event_ndims > event_ndims:
        raise ValueError(
            f"`event_ndims` must be >= {constraint.event_ndims} for the constraint "
            f"{constraint.description!r}, got {event_ndims}."
        )
    if dtype not in ("float", "int"):
        raise ValueError(f"`dtype` must be 'float' or 'int', got {dtype!r}.")
    return dataclasses.field(
        metadata={"constraint": constraint, "event_ndims": event_ndims, "dtype": dtype}
    )


def static(default: Any = None) -> Any:
    """Declares a static (non-differentiable, hashable) field: part of the treedef."""
    return dataclasses.field(default=default, metadata={"static": True})


@dataclass_transform(frozen_default=True, field_specifiers=(param, static))
def distribution(cls: _T) -> _T:
    """Class decorator: a frozen dataclass registered as a pytree whose leaves are the
    :func:`param` fields and whose :func:`static` fields are part of the treedef.

    The pytree's unflatten bypasses ``__init__``: JAX reassembles distributions whose leaves
    are batched, gradients, ``None`` or shape structs, none of which must be converted or
    validated.
    """
    # A hand-written __init__ (e.g. ``logits=`` or ``probs=``) is kept, also when inherited.
    cls = dataclasses.dataclass(frozen=True, init=not _has_handwritten_init(cls))(cls)  # type: ignore[assignment]
    declared: list[Parameter] = []
    static_names: list[str] = []
    for field in dataclasses.fields(cls):
        if field.metadata.get("static"):
            static_names.append(field.name)
        elif "constraint" in field.metadata:
            meta = field.metadata
            declared.append(
                Parameter(field.name, meta["constraint"], meta["event_ndims"], meta["dtype"])
            )
        else:
            raise TypeError(
                f"{cls.__name__}: field `{field.name}` must be declared with "
                "reparax.param(constraint) (a parameter) or reparax.static(default)."
            )
    names = tuple(p.name for p in declared)
    statics = tuple(static_names)
    cls._declared = tuple(declared)  # type: ignore[attr-defined]
    cls._static_names = statics  # type: ignore[attr-defined]

    def flatten_with_keys(dist: Any) -> tuple[list[tuple[Any, Any]], tuple[Any, ...]]:
        children = [(jax.tree_util.GetAttrKey(n), getattr(dist, n)) for n in names]
        return children, tuple(getattr(dist, n) for n in statics)

    def flatten(dist: Any) -> tuple[list[Any], tuple[Any, ...]]:
        return [getattr(dist, n) for n in names], tuple(getattr(dist, n) for n in statics)

    def unflatten(aux: tuple[Any, ...], children: Any) -> Any:
        return _assemble(cls, dict(zip(names, children)), dict(zip(statics, aux)))

    jax.tree_util.register_pytree_with_keys(cls, flatten_with_keys, unflatten, flatten)
    return cls


def _has_handwritten_init(cls: type) -> bool:
    for klass in cls.__mro__:
        if "__init__" in vars(klass):
            return klass is not object and "__dataclass_params__" not in vars(klass)
    return False


def _assemble(cls: type, parameters: dict[str, Any], statics: dict[str, Any]) -> Any:
    """An instance with the given fields, with no conversion and no validation."""
    obj: Any = object.__new__(cls)
    for name, value in {**parameters, **statics}.items():
        object.__setattr__(obj, name, value)
    return obj


def check_concrete(family: str, name: str, constraint: Constraint, value: Any) -> np.ndarray:
    """``value`` as a NumPy array; ``ValueError`` naming ``family``, ``name``, the constraint
    and the first offending element if it violates ``constraint``. NumPy, so that nothing is
    staged into an enclosing trace."""
    value = np.asarray(value)
    valid = np.asarray(constraint.valid(np, value))
    if not valid.all():
        index = tuple(int(i) for i in np.argwhere(~valid)[0])
        raise ValueError(
            f"{family}: `{name}` must be {constraint.description}; got "
            f"{_show(value[index])}{_index_text(index)}."
        )
    return value


def _is_traced(value: Any) -> bool:
    return isinstance(value, jax.core.Tracer)


def _show(value: Any) -> str:
    value = np.asarray(value)
    if value.ndim == 0:
        return repr(value.item())  # "-2.0", "nan", "inf"
    return np.array2string(value, precision=6, threshold=8)


def _index_text(index: tuple[int, ...]) -> str:
    return f" at index {index}" if index else ""


class Distribution:
    """Base class of every distribution: the required surface and validation.

    Subclasses are decorated with :func:`distribution` and declare their parameters with
    :func:`param` (each with a constraint) and options with :func:`static`.
    """

    #: Whether the support is the same for every parameter value. The score function and
    #: measure-valued estimators differentiate the density only, so they would miss the
    #: boundary term of a moving support (Uniform's low/high): such families refuse them.
    fixed_support: ClassVar[bool] = True
    #: Sentences appended to "method not supported" errors, keyed by the missing capability
    #: (a protocol class from :mod:`reparax.capabilities`, or the string ``"fixed_support"``).
    capability_hints: ClassVar[dict[type | str, str]] = {}
    #: Set by :func:`distribution`: the declared parameters and static fields, in order.
    _declared: ClassVar[tuple[Parameter, ...]] = ()
    _static_names: ClassVar[tuple[str, ...]] = ()

    def __post_init__(self) -> None:
        self._initialize()

    # -- construction ---------------------------------------------------------------------
    def _initialize(self) -> None:
        """Converts the leaves to arrays, checks shapes and (concrete) values."""
        family = type(self).__name__
        arrays: dict[str, jax.Array] = {}
        for p in self._declared:
            value = getattr(self, p.name)
            try:
                arrays[p.name] = jnp.asarray(value)
            except (TypeError, ValueError):
                raise TypeError(
                    f"{family}: `{p.name}` must be an array or a number, got "
                    f"{type(value).__name__} {value!r}. (To build a pytree with other leaves, "
                    "e.g. vmap's in_axes, use dist.replace(...) or jax.tree.map.)"
                ) from None
        floats = [arrays[p.name] for p in self._declared if p.dtype == "float"]
        dtype = jnp.result_type(*floats, float) if floats else None
        for p in self._declared:
            value = arrays[p.name]
            if p.dtype == "float" and value.dtype != dtype:
                value = value.astype(dtype)
            object.__setattr__(self, p.name, value)
        self._check_shapes()
        self.check_parameters()

    def _param_batch_shapes(self) -> dict[str, Shape]:
        shapes = {}
        for p in self._declared:
            shape = tuple(jnp.shape(getattr(self, p.name)))
            if len(shape) < p.event_ndims:
                raise ValueError(
                    f"{type(self).__name__}: `{p.name}` must have at least {p.event_ndims} "
                    f"dimension(s), got shape {shape}."
                )
            shapes[p.name] = shape[: len(shape) - p.event_ndims]
        return shapes

    def _check_shapes(self) -> None:
        """Raises ``ValueError`` unless the parameters' batch shapes broadcast (families with
        event-shaped parameters extend it to check the event axes agree)."""
        shapes = self._param_batch_shapes()
        try:
            jnp.broadcast_shapes(*shapes.values())
        except ValueError:
            described = ", ".join(f"{n} {s}" for n, s in shapes.items())
            raise ValueError(
                f"{type(self).__name__}: parameter batch shapes do not broadcast ({described}); "
                "give parameters shapes that broadcast against each other."
            ) from None

    # -- validation -----------------------------------------------------------------------
    def _relations(self, xp: ModuleType, params: dict[str, Any]) -> list[Relation]:
        """Constraints between parameters (``low < high``), written against ``xp`` (NumPy
        for concrete checks, ``jax.numpy`` under :meth:`checked`). ``params`` may lack
        traced parameters: return only the relations whose parameters are all present."""
        del xp, params
        return []

    def check_parameters(self) -> None:
        """Raises ``ValueError`` naming the family, the parameter and its constraint if a
        concrete parameter is invalid. Traced parameters are not checked (see
        :meth:`checked` for the traced counterpart)."""
        family = type(self).__name__
        concrete = {}
        for p in self._declared:
            value = getattr(self, p.name)
            if _is_traced(value):
                continue
            concrete[p.name] = check_concrete(family, p.name, p.constraint, value)
        for relation in self._relations(np, concrete):
            valid = np.asarray(relation.valid)
            if not valid.all():
                index = tuple(int(i) for i in np.argwhere(~valid)[0])
                shown = ", ".join(
                    f"{n}={_show(np.broadcast_to(concrete[n], valid.shape)[index])}"
                    for n in relation.names
                )
                raise ValueError(
                    f"{family}: `{relation.names[0]}` must be {relation.description}; got "
                    f"{shown}{_index_text(index)}."
                )

    def checked(self: _D, *, report: bool = True) -> _D:
        """This distribution with every invalid parameter turned into NaN, for use inside a
        traced computation, where :meth:`check_parameters` cannot see values.

        An invalid element becomes ``p + nan`` (the NaN mask under ``stop_gradient``), so the
        value AND the gradient of whatever uses it are NaN instead of silently finite. With
        ``report`` (the default), each violation is also reported with
        ``checkify.debug_check``: a no-op unless the caller wraps the computation with
        ``jax.experimental.checkify.checkify``, whose error then names the family and the
        parameter. ``report=False`` is what the estimators use: a ``debug_check`` is a JAX
        effect, and a jitted function with an effect loses JAX's C++ dispatch fast path
        (≈ 0.25 ms per call on CPU, twice the whole of a small estimate).
        """
        family = type(self).__name__
        updated: dict[str, Any] = {}
        for p in self._declared:
            value = getattr(self, p.name)
            valid = jax.lax.stop_gradient(p.constraint.check(value))
            if report:
                checkify.debug_check(
                    jnp.all(valid), f"{family}: `{p.name}` must be {p.constraint.description}."
                )
            updated[p.name] = _poison(value, valid)
        for relation in self._relations(jnp, updated):
            valid = jax.lax.stop_gradient(jnp.asarray(relation.valid))
            if report:
                checkify.debug_check(
                    jnp.all(valid),
                    f"{family}: `{relation.names[0]}` must be {relation.description}.",
                )
            for name in relation.names:
                updated[name] = _poison(updated[name], valid)
        return self.replace(**updated)

    # -- parameters -----------------------------------------------------------------------
    def parameters(self) -> dict[str, jax.Array]:
        """The parameters (the pytree leaves), by name, in declaration order."""
        return {p.name: getattr(self, p.name) for p in self._declared}

    def replace(self: _D, **parameters: Any) -> _D:
        """A copy with some parameters replaced, with no conversion and no validation (like
        JAX's unflatten): the values may be arrays, tracers, ``None``, shape structs, ...
        """
        known = {p.name for p in self._declared}
        unknown = sorted(set(parameters) - known)
        if unknown:
            raise TypeError(
                f"{type(self).__name__}.replace: unknown parameter(s) {', '.join(unknown)}; "
                f"the parameters are {', '.join(p.name for p in self._declared)}."
            )
        values = {**self.parameters(), **parameters}
        statics = {n: getattr(self, n) for n in self._static_names}
        result: _D = _assemble(type(self), values, statics)
        return result

    # -- required surface -----------------------------------------------------------------
    @property
    def batch_shape(self) -> Shape:
        """The broadcast shape of the parameters' batch axes: independent elements."""
        return tuple(jnp.broadcast_shapes(*self._param_batch_shapes().values()))

    @property
    def event_shape(self) -> Shape:
        """The shape of one event (``()`` for scalar families)."""
        return ()

    @property
    def dtype(self) -> Any:
        """The floating dtype of the parameters (and of float samples)."""
        leaves = [leaf for leaf in jax.tree_util.tree_leaves(self) if hasattr(leaf, "dtype")]
        return jnp.result_type(*leaves) if leaves else jnp.float32

    def sample(self, key: jax.Array, sample_shape: Shape = ()) -> jax.Array:
        """Draws samples of shape ``sample_shape + batch_shape + event_shape``, no gradient.

        Derived from ``noise``/``transform`` when the family has them, else from its own
        ``rsample``; a family with neither (counts, implicit families) implements it.
        """
        noise, transform = getattr(self, "noise", None), getattr(self, "transform", None)
        if callable(noise) and callable(transform):
            return jax.lax.stop_gradient(transform(noise(key, sample_shape)))
        rsample = getattr(self, "rsample", None)
        if callable(rsample) and not getattr(rsample, "_derived_from_sample", False):
            return jax.lax.stop_gradient(rsample(key, sample_shape))
        raise NotImplementedError(
            f"{type(self).__name__} must implement `sample` (it has neither noise/transform "
            "nor an explicit rsample to derive it from)."
        )

    def log_prob(self, value: jax.Array) -> jax.Array:
        """Log-density (or log-mass) of each batch element: ``sample_shape + batch_shape``."""
        raise NotImplementedError(f"{type(self).__name__} must implement `log_prob`.")

    def joint_log_prob(self, value: jax.Array) -> jax.Array:
        """Log-probability of one whole sample: the sum over the batch of ``log_prob``."""
        return jnp.sum(self.log_prob(value))

    # -- helpers for families -------------------------------------------------------------
    def _params_like(self, value: jax.Array) -> list[jax.Array]:
        """The scalar-event parameters, in declaration order, broadcast to ``value``'s shape
        (explicitly, so leading sample axes are safe under strict rank promotion)."""
        shape = jnp.shape(value)
        return [
            jnp.broadcast_to(getattr(self, p.name), shape)
            for p in self._declared
            if p.event_ndims == 0
        ]

    def _broadcast(self, x: jax.Array) -> jax.Array:
        """``x`` broadcast to ``batch_shape``."""
        return jnp.broadcast_to(x, self.batch_shape)


def _poison(value: Any, valid: jax.Array) -> jax.Array:
    """``value`` with NaN added where ``valid`` is False (``valid`` may lack ``value``'s
    trailing event axes); the mask carries no gradient, the NaN does."""
    value = jnp.asarray(value)
    if not jnp.issubdtype(value.dtype, jnp.inexact):
        return value  # integer parameters cannot hold NaN; debug_check still reports them
    mask = jnp.reshape(valid, jnp.shape(valid) + (1,) * (value.ndim - jnp.ndim(valid)))
    if jnp.ndim(valid) > value.ndim:  # a relation's broadcast shape
        mask = valid
    nan_where_invalid = jax.lax.stop_gradient(jnp.where(mask, 0.0, jnp.nan).astype(value.dtype))
    return value + nan_where_invalid
