"""Spreading the samples of one estimate over devices: the ``sample_sharding`` option.

Sample i is drawn from its own key, ``jax.random.split(key, num_samples)[i]``. With
``sample_sharding=NamedSharding(mesh, PartitionSpec("samples"))`` the array of per-sample keys
is constrained to be split along the mesh axis ``"samples"``; XLA's SPMD partitioner then
splits everything computed from it, so each device draws and evaluates its own share of the
samples (forward and backward), and the reductions over samples (the mean, the leave-one-out
sums of RLOO) become partial sums plus an all-reduce. The per-sample values are those of one
device exactly; the estimate and its gradient differ from one device's only by the order in
which the N per-sample terms are summed (float rounding).

Nothing else about the estimator changes: the option is read, at trace time, by the one
function every estimator draws its samples through
(``reparax.estimators._sampling.map_samples``). ``Estimator.surrogate`` opens the scope for
the duration of its own trace; an estimate nested inside the per-sample function (an ``f``
that calls ``rx.expectation`` itself) sees no sharding, so only the outermost sample axis
is split.

The sample axes must be ``AxisType.Auto`` where the estimator is traced: a mesh made with
``axis_types=(AxisType.Auto, ...)`` (then no mesh context is needed), or, in a program that
runs under ``jax.set_mesh`` with explicit axes, the loss wrapped in
``jax.sharding.auto_axes`` (inside it the axes are Auto). Explicit axes would type every
per-sample array as sharded, and estimators index and gather across the sample axis in
ways explicit sharding refuses; the error says what to do instead.

Not split: ``cv_coefficient="optimal"`` draws its own per-sample keys
(``reparax.control_variates._apply``), so its per-sample gradients are computed on every
device (correct, not faster); ``rx.Joint`` programs do not take the option.

Example:
  On one device the option changes nothing; on 8 it splits the 8 samples one per device.

  >>> import jax, jax.numpy as jnp, reparax as rx
  >>> from jax.sharding import AxisType, NamedSharding, PartitionSpec
  >>> mesh = jax.make_mesh((jax.device_count(),), ("samples",), axis_types=(AxisType.Auto,))
  >>> split = NamedSharding(mesh, PartitionSpec("samples"))
  >>> dist, key = rx.Normal(jnp.zeros(3), jnp.ones(3)), jax.random.key(0)
  >>> f = lambda z: jnp.sum(z**2)
  >>> one = rx.gradient_estimate(f, dist, key, method="pathwise", num_samples=8)
  >>> spread = rx.gradient_estimate(
  ...     f, dist, key, method="pathwise", num_samples=8, sample_sharding=split)
  >>> bool(jnp.allclose(one.grad.loc, spread.grad.loc, rtol=2e-5, atol=1e-6))
  True
"""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Callable, Iterator
from typing import Any

import jax
from jax.sharding import NamedSharding, PartitionSpec

# JAX before 0.5 has neither axis types (every mesh axis behaves as what later JAX calls
# AxisType.Auto) nor a mesh context to read: both are looked up, not imported.
_AXIS_TYPE = getattr(jax.sharding, "AxisType", None)
_GET_CONTEXT_MESH = getattr(jax.sharding, "get_abstract_mesh", None)

_ACTIVE: contextvars.ContextVar[NamedSharding | None] = contextvars.ContextVar(
    "reparax_sample_sharding", default=None
)

_EXAMPLE = 'NamedSharding(mesh, PartitionSpec("samples")) for a mesh with an axis "samples"'


def check_sample_sharding(sample_sharding: Any, method: str) -> None:
    """``sample_sharding`` is ``None`` or a one-axis ``NamedSharding``, else raises."""
    if sample_sharding is None:
        return
    if not isinstance(sample_sharding, NamedSharding):
        raise TypeError(
            f"method={method!r}: `sample_sharding` must be None or a "
            f"jax.sharding.NamedSharding naming the mesh axes the samples are split over, "
            f"e.g. {_EXAMPLE}; got {sample_sharding!r}."
        )
    spec = tuple(sample_sharding.spec)
    if len(spec) != 1 or spec[0] is None or spec[0] is PartitionSpec.UNCONSTRAINED:
        raise ValueError(
            f"method={method!r}: `sample_sharding` must partition exactly one axis, the "
            f"sample axis, over one or more mesh axes, e.g. {_EXAMPLE} or "
            f'PartitionSpec(("data", "samples")); got spec {sample_sharding.spec}.'
        )


@contextlib.contextmanager
def scope(sample_sharding: NamedSharding | None) -> Iterator[None]:
    """Within this block (at trace time), ``map_samples`` splits its samples as given."""
    token = _ACTIVE.set(sample_sharding)
    try:
        yield
    finally:
        _ACTIVE.reset(token)


def active() -> NamedSharding | None:
    """The sample sharding of the estimator being traced, if any."""
    return _ACTIVE.get()


def unsharded(fn: Callable[..., Any]) -> Callable[..., Any]:
    """``fn`` traced with no sample sharding (for the per-sample function: an estimator
    nested in it draws its one sample on the device that holds the outer sample)."""

    def wrapped(*args: Any) -> Any:
        with scope(None):
            return fn(*args)

    return wrapped


def spread(
    batched: Callable[[jax.Array], Any], sharding: NamedSharding | None
) -> Callable[[jax.Array], Any]:
    """``batched`` (a vmapped per-sample function of a batch of keys) with its keys split
    over ``sharding``'s axes; XLA propagates the split to everything computed from them."""
    if sharding is None:
        return batched

    def spread_batched(keys: jax.Array) -> Any:
        return batched(_constrain(keys, sharding, PartitionSpec(sharding.spec[0])))

    return spread_batched


def replicate(x: Any, sharding: NamedSharding | None) -> Any:
    """``x`` (a pytree) on every device of ``sharding``'s mesh (unchanged without one).

    For chunked evaluation: the keys before they are cut into chunks, and the chunks' outputs
    before they are joined. Left free, the partitioner shards those arrays to suit a chunk's
    split and has to regather them (XLA warns "Involuntary full rematerialization" when a
    chunk does not divide evenly over the devices); replicated, they cost N keys and N
    values per output on every device."""
    if sharding is None:
        return x
    return jax.tree.map(lambda leaf: _constrain(leaf, sharding, PartitionSpec()), x)


def _constrain(x: jax.Array, sharding: NamedSharding, spec: PartitionSpec) -> jax.Array:
    """``with_sharding_constraint`` to ``spec`` over the sample axes, which must be Auto."""
    if jax.dtypes.issubdtype(x.dtype, jax.dtypes.prng_key):
        # On the key data (JAX 0.4 lowers a typed key array's constraint with the wrong rank).
        data = _constrain(jax.random.key_data(x), sharding, spec)
        return jax.random.wrap_key_data(data, impl=jax.random.key_impl(x))
    names = _axis_names(sharding)
    context = _GET_CONTEXT_MESH() if _GET_CONTEXT_MESH is not None else None
    if context is None or context.empty:
        if _all_auto(sharding.mesh, names):
            return jax.lax.with_sharding_constraint(x, NamedSharding(sharding.mesh, spec))
    elif _all_auto(context, names):
        # A mesh context (jax.set_mesh, or inside auto_axes): the spec refers to its axes.
        return jax.lax.with_sharding_constraint(x, spec)
    raise ValueError(
        f"`sample_sharding` splits the samples over the mesh axes {', '.join(names)}, which "
        "must be AxisType.Auto where the estimate is traced: make the mesh with "
        "jax.make_mesh(shape, names, axis_types=(AxisType.Auto,) * len(names)), or, under "
        "jax.set_mesh with explicit axes, wrap the loss in jax.sharding.auto_axes (see the "
        "README's 'Many devices')."
    )


def _axis_names(sharding: NamedSharding) -> tuple[str, ...]:
    entry = sharding.spec[0]
    return tuple(entry) if isinstance(entry, tuple) else (entry,)


def _all_auto(mesh: Any, names: tuple[str, ...]) -> bool:
    """Whether every named axis of ``mesh`` (a ``Mesh`` or the context's ``AbstractMesh``)
    is ``AxisType.Auto``; a name the mesh lacks is not."""
    types = getattr(mesh, "axis_types", None)
    if _AXIS_TYPE is None or types is None:
        return all(name in mesh.axis_names for name in names)
    by_name = dict(zip(mesh.axis_names, types))
    return all(by_name.get(name) == _AXIS_TYPE.Auto for name in names)
