"""The distribution protocol: frozen dataclasses whose leaves are the parameters.

A distribution is an immutable pytree. Its parameters (``loc``, ``logits``, ...) are the
leaves, so ``jax.grad`` with respect to a distribution returns a distribution-shaped pytree of
gradients, and ``jax.vmap`` over a stacked distribution maps over a batch of them.

Required surface (every family): ``batch_shape``, ``event_shape``, ``sample`` and
``log_prob``. Optional capabilities are plain methods; which estimators a distribution
supports follows from which of them it defines (see ``reparax.methods()``):

=====================  ===============================================================
capability             used by
=====================  ===============================================================
``noise``/``transform``  pathwise (when ``reparameterized``), relaxations
``dirichlet_noise``      ARM / ARS (the noise as a Dirichlet(1) augmentation)
``uniform_noise``        DisARM (uniforms of the stick-breaking coupling)
``weak_derivative``      measure-valued derivatives
``enumerate_support``    exact enumeration, IndeCateR
``relaxed_transform``    Gumbel-softmax and friends
``conditional_perturbed`` Gumbel-Rao, REBAR, RELAX
=====================  ===============================================================
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any, ClassVar, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np


def param(*, event_ndims: int = 0, dtype: str = "float") -> Any:
    """Declares a parameter field: a pytree leaf with ``event_ndims`` trailing event axes."""
    return dataclasses.field(metadata={"event_ndims": event_ndims, "dtype": dtype})


def static(default: Any = None) -> Any:
    """Declares a static (non-differentiable, hashable) field: part of the treedef."""
    return dataclasses.field(default=default, metadata={"static": True})


def _is_arraylike(x: Any) -> bool:
    return isinstance(x, (int, float, np.ndarray, np.generic, jax.Array)) and not isinstance(
        x, bool
    )


def _is_concrete(x: Any) -> bool:
    return not isinstance(x, jax.core.Tracer)


def distribution(cls: type) -> type:
    """Class decorator: a frozen dataclass registered as a pytree (parameters are leaves)."""
    cls = dataclasses.dataclass(frozen=True)(cls)
    fields = dataclasses.fields(cls)
    data = [f.name for f in fields if not f.metadata.get("static")]
    meta = [f.name for f in fields if f.metadata.get("static")]
    return jax.tree_util.register_dataclass(cls, data_fields=data, meta_fields=meta)


class WeakDerivative(NamedTuple):
    """A weak-derivative decomposition ∂θ p = c (p⁺ − p⁻) for the P elements of one parameter.

    Attributes:
      scale: ``c``, shape ``(P,)``.
      plus: ``(P, *sample_shape)``: for element ``j``, a full sample whose coordinates affected
        by ``θ_j`` are drawn from ``p⁺`` and whose others are the base sample's.
      minus: the same for ``p⁻``; ``None`` means the base sample itself (it is a draw of p⁻).
      pullback: maps the ``(P,)`` vector ``c (f⁺ − f⁻)`` to the gradient with respect to the
        parameter broadcast to ``param_shape``.
      param_shape: the shape the parameter is broadcast to before the gradient is attached.
    """

    scale: jax.Array
    plus: jax.Array
    minus: jax.Array | None
    pullback: Any
    param_shape: tuple[int, ...]


class Distribution:
    """Base class. Subclasses are decorated with :func:`distribution` and declare parameters
    with :func:`param`; validation and broadcasting checks happen in ``__post_init__``."""

    #: Whether samples can be differentiated in the parameters (pathwise gradients):
    #: ``True`` for an explicit differentiable ``transform``, ``False`` for discrete
    #: families, ``None`` (default) to decide from the capabilities: a distribution with a
    #: ``cdf`` gets implicit reparameterization (``rsample``) with no other code.
    reparameterized: ClassVar[bool | None] = None
    #: Number of trailing axes of a sample that form one event.
    event_ndims: ClassVar[int] = 0
    #: Whether the support is the same for every parameter value. The score function and
    #: measure-valued estimators differentiate the density only, so they would miss the
    #: boundary term of a moving support (Uniform's low/high): such families refuse them.
    fixed_support: ClassVar[bool] = True
    #: Hints appended to "method not supported" errors, by missing capability.
    capability_hints: ClassVar[dict[str, str]] = {}

    def __post_init__(self) -> None:
        params = {f.name: f for f in dataclasses.fields(self) if not f.metadata.get("static")}
        values = {name: getattr(self, name) for name in params}
        if not all(_is_arraylike(v) for v in values.values()):
            return  # an unflatten with non-array leaves (vmap in_axes, tree_map to None, ...)
        floats = [v for n, v in values.items() if params[n].metadata.get("dtype") == "float"]
        dtype = jnp.result_type(*floats, float) if floats else None
        for name, value in values.items():
            if params[name].metadata.get("dtype") == "float":
                value = jnp.asarray(value, dtype=dtype)
            else:
                value = jnp.asarray(value)
            object.__setattr__(self, name, value)
        self._check_shapes()

    def check_parameters(self) -> None:
        """Rejects invalid parameter values (negative scale, ...) with a ``ValueError``.

        Called by every estimator before tracing. Only concrete values can be checked: inside
        ``jit`` invalid parameters propagate as NaN, as in the rest of JAX. (Construction does
        not check values, because gradient pytrees share the distribution's structure.)
        """
        names = [f.name for f in dataclasses.fields(self) if not f.metadata.get("static")]
        leaves = {n: getattr(self, n) for n in names}
        concrete = {
            n: np.asarray(v) for n, v in leaves.items() if _is_arraylike(v) and _is_concrete(v)
        }
        self._check_values(concrete)  # numpy arrays: comparisons never get staged into a jit

    # -- shapes --------------------------------------------------------------------------
    def _param_batch_shapes(self) -> dict[str, tuple[int, ...]]:
        shapes = {}
        for f in dataclasses.fields(self):
            if f.metadata.get("static"):
                continue
            nd = f.metadata.get("event_ndims", 0)
            shape = jnp.shape(getattr(self, f.name))
            if len(shape) < nd:
                raise ValueError(
                    f"{type(self).__name__}: `{f.name}` must have at least {nd} dimension(s), "
                    f"got shape {shape}."
                )
            shapes[f.name] = shape[: len(shape) - nd]
        return shapes

    def _check_shapes(self) -> None:
        shapes = self._param_batch_shapes()
        try:
            jnp.broadcast_shapes(*shapes.values())
        except ValueError:
            described = ", ".join(f"{n} {s}" for n, s in shapes.items())
            raise ValueError(
                f"{type(self).__name__}: parameter batch shapes do not broadcast ({described}); "
                "give parameters shapes that broadcast against each other."
            ) from None

    def _check_values(self, params: dict[str, jax.Array]) -> None:
        """Subclasses reject invalid concrete parameters here (not possible inside jit)."""

    @property
    def batch_shape(self) -> tuple[int, ...]:
        return tuple(jnp.broadcast_shapes(*self._param_batch_shapes().values()))

    @property
    def event_shape(self) -> tuple[int, ...]:
        return ()

    @property
    def dtype(self) -> Any:
        leaves = [leaf for leaf in jax.tree_util.tree_leaves(self) if hasattr(leaf, "dtype")]
        return jnp.result_type(*leaves) if leaves else jnp.float32

    @property
    def num_elements(self) -> int:
        """Number of independent batch elements (the ``D`` of the estimator formulas)."""
        return math.prod(self.batch_shape)

    # -- required ------------------------------------------------------------------------
    def sample(self, key: jax.Array, sample_shape: tuple[int, ...] = ()) -> jax.Array:
        """Draws samples of shape ``sample_shape + batch_shape + event_shape``, no gradient.

        Derived from ``noise``/``transform``, or from an overridden ``rsample`` (the
        implicitly reparameterized families); a family with neither implements it."""
        if has_capability(self, "transform"):
            return jax.lax.stop_gradient(self.transform(self.noise(key, sample_shape)))
        if type(self).rsample is not Distribution.rsample:
            return jax.lax.stop_gradient(self.rsample(key, sample_shape))
        raise NotImplementedError(f"{type(self).__name__} must implement `sample`.")

    def log_prob(self, value: jax.Array) -> jax.Array:
        """Log-density (or log-mass) of each batch element: ``sample_shape + batch_shape``."""
        raise NotImplementedError

    @property
    def is_reparameterized(self) -> bool:
        """Whether :meth:`rsample` gives pathwise-differentiable samples."""
        if self.reparameterized is not None:
            return bool(self.reparameterized)
        return has_capability(self, "cdf")

    def rsample(self, key: jax.Array, sample_shape: tuple[int, ...] = ()) -> jax.Array:
        """A sample differentiable in the parameters: ``transform(noise)`` when the family
        has an explicit transform, else implicit reparameterization from ``cdf``
        (Figurnov et al. 2018): dz/dθ = −∂θF(z; θ) / p(z; θ)."""
        if has_capability(self, "transform"):
            return self.transform(self.noise(key, sample_shape))
        from reparax.distributions._implicit import implicit_rsample

        return implicit_rsample(self, key, sample_shape)

    def params_like(self, value: jax.Array) -> list[jax.Array]:
        """The scalar-event parameters, in field order, broadcast to ``value``'s shape
        (explicitly, so leading sample axes are safe under strict rank promotion)."""
        shape = jnp.shape(value)
        return [
            jnp.broadcast_to(getattr(self, f.name), shape)
            for f in dataclasses.fields(self)
            if not f.metadata.get("static") and f.metadata.get("event_ndims", 0) == 0
        ]

    def parameters(self) -> dict[str, jax.Array]:
        """The parameters by name (the pytree leaves), in field order."""
        return {
            f.name: getattr(self, f.name)
            for f in dataclasses.fields(self)
            if not f.metadata.get("static")
        }

    def replace(self, **parameters: jax.Array) -> Any:
        """A copy with some parameters replaced (no validation)."""
        return dataclasses.replace(self, **parameters)

    def checked(self) -> Any:
        """The distribution with invalid traced parameters made NaN (shim)."""
        return self

    def joint_log_prob(self, value: jax.Array) -> jax.Array:
        """Log-probability of one whole sample: the sum over the batch of ``log_prob``."""
        return jnp.sum(self.log_prob(value))

    def broadcast_param(self, name: str) -> jax.Array:
        """Parameter ``name`` broadcast to ``batch_shape`` (plus its own event axes)."""
        value = getattr(self, name)
        nd = next(f for f in dataclasses.fields(self) if f.name == name).metadata["event_ndims"]
        return jnp.broadcast_to(value, self.batch_shape + jnp.shape(value)[jnp.ndim(value) - nd :])


def has_capability(dist: Any, name: str) -> bool:
    """Whether ``dist`` defines the optional capability ``name`` (a method)."""
    return callable(getattr(dist, name, None))


def rows_replacing(sample: jax.Array, batch_shape: tuple[int, ...]):
    """``rows(values)``: for each batch element j, ``sample`` with element j set to
    ``values[j]``, stacked to ``(D, *batch_shape)`` (the p± rows of a weak derivative)."""
    base = jnp.ravel(sample)
    return lambda values: replace_each(base, values).reshape((-1,) + tuple(batch_shape))


def replace_each(base: jax.Array, values: jax.Array) -> jax.Array:
    """Rows ``j`` = ``base`` (flat, length D) with element ``j`` replaced by ``values[j]``.

    Returns a ``(D, D)`` array, built with one ``where`` (no Python loop over elements).
    """
    eye = jnp.eye(base.shape[0], dtype=bool)
    return jnp.where(eye, values[:, None], base[None, :])
