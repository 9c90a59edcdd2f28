r"""The generic wrapper: any object with ``sample`` and ``log_prob`` as a reparax distribution.

:func:`wrap` turns a distribution object from any library (or your own class) into a
:class:`Wrapped` reparax distribution. The score-function family needs only ``sample`` and
``log_prob``,

.. math:: ∇_θ E_{p_θ}[f(z)] = E_{p_θ}[f(z) ∇_θ \log p_θ(z)],

so ``score_function`` and ``rloo`` always apply. Pathwise gradients need more, and the
wrapper grants them only when it can tell they are right (a wrong claim would be a silent 0):

* ``pathwise="sample"``: the object's own ``sample`` is differentiable in its parameters
  (z = g_θ(ε)). Detected from NumPyro's ``has_rsample`` and TFP's
  ``reparameterization_type == FULLY_REPARAMETERIZED``; distrax and plain objects carry no
  such flag, so say it yourself.
* ``pathwise="cdf"``: implicit reparameterization from a differentiable elementwise CDF,
  dz/dθ = −∂_θF(z; θ)/p(z; θ) (Figurnov et al. 2018). Detected when the object has a
  ``cdf`` that runs on its samples, its samples are floating point with scalar events, and
  it does not say it is discrete (NumPyro's ``support.is_discrete``). TFP and distrax
  objects are never given it automatically: TFP already marks the families it
  reparameterizes implicitly, and both have discrete families that sample floats and have a
  ``cdf`` (TFP's Poisson, distrax's Quantized). A plain object of that kind must say
  ``pathwise=None`` (or have ``support.is_discrete``).
* ``pathwise=None``: score-function family only.

The wrapper is a JAX pytree whose leaves are the wrapped object's own floating-point leaves
(NumPyro, TFP-on-JAX and distrax distributions are pytrees), so ``jax.grad`` with respect to
the wrapper, or to whatever the object was built from, flows to its parameters. Its other
leaves (integer counts, flags) are static, as reparax's own families keep ``total_count``.

Sampling follows the object's convention: ``sample(key, sample_shape)`` (NumPyro, plain
objects) or ``sample(sample_shape=..., seed=key)`` (TFP, distrax; chosen when ``sample`` has
a ``seed`` argument).

Example:
    >>> import jax, jax.numpy as jnp, reparax as rx
    >>> @jax.tree_util.register_pytree_node_class
    ... class MyExponential:  # any pytree with sample/log_prob (and here a cdf)
    ...     def __init__(self, rate):
    ...         self.rate = rate
    ...     batch_shape, event_shape = (), ()
    ...     def sample(self, key, sample_shape=()):
    ...         return jax.random.exponential(key, sample_shape) / self.rate
    ...     def log_prob(self, z):
    ...         return jnp.log(self.rate) - self.rate * z
    ...     def cdf(self, z):
    ...         return -jnp.expm1(-self.rate * z)
    ...     def tree_flatten(self):
    ...         return (self.rate,), None
    ...     @classmethod
    ...     def tree_unflatten(cls, aux, leaves):
    ...         return cls(*leaves)
    >>> dist = rx.wrap(MyExponential(2.0))
    >>> dist.pathwise_kind
    'cdf'
    >>> est = rx.gradient_estimate(lambda z: z, dist, jax.random.key(0), method="pathwise",
    ...                            num_samples=4000)
    >>> bool(abs(est.grad.obj.rate - (-1 / 4.0)) < 0.02)  # d/dλ E[z] = −1/λ²
    True

References:
    Williams (1992), REINFORCE, https://doi.org/10.1007/BF00992696;
    Figurnov, Mohamed & Mnih (2018), Implicit Reparameterization Gradients,
    https://arxiv.org/abs/1805.08498.
"""

from __future__ import annotations

import inspect
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from reparax.distributions._base import Distribution, Shape
from reparax.distributions._implicit import implicit_rsample

_PATHWISE_KINDS = ("auto", "sample", "cdf", None)


class _Static:
    """A non-float leaf of the wrapped object, kept in the treedef: hashable by value for
    arrays and numbers (so equal objects share a jit cache entry), by identity otherwise."""

    def __init__(self, value: Any) -> None:
        if isinstance(value, jax.core.Tracer):
            raise TypeError(
                "rx.wrap: the wrapped object has a traced non-floating leaf (e.g. an integer "
                "count under jit/vmap); such leaves must be concrete (they are static)."
            )
        self.value = value
        try:
            array = np.asarray(value)
            numeric = array.dtype.kind in "biuf"
        except Exception:  # an arbitrary Python object stored as a leaf
            numeric = False
        self._key: Any = (
            (array.dtype.str, array.shape, array.tobytes()) if numeric else ("id", id(value))
        )

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _Static) and self._key == other._key

    def __hash__(self) -> int:
        return hash(self._key)


def _is_float_leaf(leaf: Any) -> bool:
    if isinstance(leaf, _Static):
        return False
    try:
        return bool(jnp.issubdtype(jnp.result_type(leaf), jnp.inexact))
    except TypeError:
        return False


def _library(obj: Any) -> str:
    return type(obj).__module__.split(".")[0]


def _uses_seed_keyword(obj: Any) -> bool:
    """TFP and distrax sample with ``seed=``; NumPyro and plain objects take the key first."""
    try:
        return "seed" in inspect.signature(obj.sample).parameters
    except (TypeError, ValueError):
        return False


class Wrapped(Distribution):
    """A foreign distribution object as a reparax distribution. Build it with :func:`wrap`,
    which checks the object and picks the subclass that carries its pathwise gradients.

    Attributes:
      obj: the wrapped object (a pytree; gradients with respect to a ``Wrapped`` arrive as a
        ``Wrapped`` whose ``obj`` holds them, e.g. ``est.grad.obj.loc``).
      pathwise_kind: ``"sample"``, ``"cdf"`` or ``None``: how (whether) samples carry
        derivatives in the parameters.
    """

    pathwise_kind: str | None = None
    obj: Any
    _seed_keyword: bool
    _fixed_support: bool

    def __init__(
        self, obj: Any, *, seed_keyword: bool | None = None, fixed_support: bool = True
    ) -> None:
        object.__setattr__(self, "obj", obj)
        if seed_keyword is None:
            seed_keyword = _uses_seed_keyword(obj)
        object.__setattr__(self, "_seed_keyword", seed_keyword)
        object.__setattr__(self, "_fixed_support", fixed_support)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({type(self.obj).__name__}, pathwise={self.pathwise_kind!r})"

    # -- pytree: the object's floating leaves are the children ---------------------------
    def _flatten(self) -> tuple[list[Any], tuple[Any, ...]]:
        """Children: the float leaves, each JAX array once. Libraries store one parameter
        array twice (NumPyro's HalfNormal keeps ``scale`` and an inner Normal's ``scale``);
        as two children, a gradient would be split between the copies. ``slots[i]`` says
        where leaf i comes from: child ``slots[i]``, or static ``-1 - slots[i]``."""
        leaves, treedef = jax.tree_util.tree_flatten(self.obj)
        children: list[Any] = []
        statics: list[_Static] = []
        slots: list[int] = []
        first_child: dict[int, int] = {}  # id of a JAX array -> its child index
        for leaf in leaves:
            if not _is_float_leaf(leaf):
                slots.append(-1 - len(statics))
                statics.append(leaf if isinstance(leaf, _Static) else _Static(leaf))
            elif isinstance(leaf, jax.Array) and id(leaf) in first_child:
                slots.append(first_child[id(leaf)])
            else:
                if isinstance(leaf, jax.Array):  # Python floats are not shared by identity
                    first_child[id(leaf)] = len(children)
                slots.append(len(children))
                children.append(leaf)
        aux = (treedef, tuple(slots), tuple(statics), self._seed_keyword, self._fixed_support)
        return children, aux

    @classmethod
    def _unflatten(cls, aux: tuple[Any, ...], children: Any) -> Wrapped:
        treedef, slots, statics, seed_keyword, fixed_support = aux
        children = list(children)
        leaves = [children[s] if s >= 0 else statics[-1 - s].value for s in slots]
        obj = jax.tree_util.tree_unflatten(treedef, leaves)
        result: Wrapped = object.__new__(cls)
        for name, value in (
            ("obj", obj),
            ("_seed_keyword", seed_keyword),
            ("_fixed_support", fixed_support),
        ):
            object.__setattr__(result, name, value)
        return result

    # -- the reparax surface ---------------------------------------------------------------
    @property
    def fixed_support(self) -> bool:  # type: ignore[override]
        return bool(self._fixed_support)

    @property
    def batch_shape(self) -> Shape:
        return tuple(int(n) for n in self.obj.batch_shape)

    @property
    def event_shape(self) -> Shape:
        return tuple(int(n) for n in self.obj.event_shape)

    @property
    def dtype(self) -> Any:
        floats = [leaf for leaf in jax.tree_util.tree_leaves(self)]
        return jnp.result_type(*floats) if floats else jnp.float32

    def parameters(self) -> dict[str, jax.Array]:
        """The wrapped object's floating-point leaves, by the attribute that holds each (the
        pytree path, e.g. ``[<flat index 2>]``, for a leaf no attribute holds)."""
        attributes = {
            id(v): n for n, v in reversed(list(getattr(self.obj, "__dict__", {}).items()))
        }
        with_paths, _ = jax.tree_util.tree_flatten_with_path(self.obj)
        return {
            attributes.get(id(leaf), jax.tree_util.keystr(path)): leaf
            for path, leaf in with_paths
            if _is_float_leaf(leaf)
        }

    def replace(self, **parameters: Any) -> Wrapped:
        raise TypeError(
            f"{type(self).__name__}.replace: a wrapped object's parameters cannot be replaced "
            "by name; build a new object and wrap it."
        )

    def check_parameters(self) -> None:
        """The wrapped library validates its own parameters (e.g. ``validate_args``)."""

    def checked(self, *, report: bool = True) -> Wrapped:
        """Itself: the wrapped library validates its own parameters."""
        del report
        return self

    def _draw(self, key: jax.Array, sample_shape: Shape) -> jax.Array:
        if self._seed_keyword:
            return jnp.asarray(self.obj.sample(sample_shape=tuple(sample_shape), seed=key))
        return jnp.asarray(self.obj.sample(key, tuple(sample_shape)))

    def sample(self, key: jax.Array, sample_shape: Shape = ()) -> jax.Array:
        return jax.lax.stop_gradient(self._draw(key, sample_shape))

    def log_prob(self, value: jax.Array) -> jax.Array:
        return jnp.asarray(self.obj.log_prob(value))


class SampleReparameterized(Wrapped):
    """A wrapped object whose ``sample`` is differentiable in its parameters."""

    pathwise_kind = "sample"

    def rsample(self, key: jax.Array, sample_shape: Shape = ()) -> jax.Array:
        return self._draw(key, sample_shape)


class CDFReparameterized(Wrapped):
    """A wrapped object with a differentiable elementwise ``cdf``: implicit
    reparameterization, dz/dθ = −∂θF(z; θ)/p(z; θ)."""

    pathwise_kind = "cdf"

    def cdf(self, value: jax.Array) -> jax.Array:
        return jnp.asarray(self.obj.cdf(value))

    def rsample(self, key: jax.Array, sample_shape: Shape = ()) -> jax.Array:
        return implicit_rsample(self, key, sample_shape)


for _cls in (Wrapped, SampleReparameterized, CDFReparameterized):
    jax.tree_util.register_pytree_node(_cls, lambda w: w._flatten(), _cls._unflatten)


def _flagged_reparameterized(obj: Any) -> bool | None:
    """The object's own statement that ``sample`` is differentiable, if it makes one."""
    if hasattr(obj, "has_rsample"):  # NumPyro
        return bool(obj.has_rsample)
    kind = getattr(obj, "reparameterization_type", None)
    if kind is not None:  # TFP
        return "FULLY_REPARAMETERIZED" in repr(kind)
    return None


def _says_discrete(obj: Any) -> bool:
    return bool(getattr(getattr(obj, "support", None), "is_discrete", False))


def _cdf_works(wrapped: Wrapped, key: jax.Array) -> bool:
    """Whether ``obj.cdf`` runs on a sample (traced abstractly: nothing is computed)."""
    cdf = getattr(wrapped.obj, "cdf", None)
    if not callable(cdf) or wrapped.event_shape != ():
        return False
    try:
        example = jax.eval_shape(wrapped.sample, key)
        if not jnp.issubdtype(example.dtype, jnp.floating):
            return False
        out = jax.eval_shape(cdf, example)
    except Exception:  # NotImplementedError, or anything the library raises on the way
        return False
    return tuple(getattr(out, "shape", ())) == tuple(example.shape)


def _detect(obj: Any, plain: Wrapped) -> str | None:
    flagged = _flagged_reparameterized(obj)
    if flagged:
        return "sample"
    # TFP and distrax say nothing about discreteness, and some of their discrete families
    # sample floats and have a cdf (TFP's Poisson, distrax's Quantized): never guessed.
    if _says_discrete(obj) or _library(obj) in ("tensorflow_probability", "distrax"):
        return None
    return "cdf" if _cdf_works(plain, jax.random.key(0)) else None


def wrap(obj: Any, *, pathwise: str | None = "auto", fixed_support: bool = True) -> Wrapped:
    """Wraps any distribution object with ``sample`` and ``log_prob`` as a reparax one.

    Prefer :func:`reparax.convert` (or ``rx.from_numpyro`` / ``rx.from_tfp`` /
    ``rx.from_distrax``) for a library's distributions: the families reparax knows become
    native ones, on which every estimator applies; ``wrap`` is what they fall back to.

    Args:
      obj: a pytree (so its parameters are leaves that gradients reach) with
        ``sample(key, sample_shape)`` or ``sample(sample_shape=..., seed=key)``,
        ``log_prob(value)``, ``batch_shape`` and ``event_shape``; optionally ``cdf``.
      pathwise: ``"auto"`` (detect, see the module docstring), ``"sample"`` (its ``sample``
        is differentiable: pathwise gradients through it), ``"cdf"`` (implicit
        reparameterization from its ``cdf``) or ``None`` (score-function family only).
      fixed_support: whether the support is the same for every parameter value (say
        ``False`` for a moving support such as a uniform's: the score function would then
        be biased, so it is refused).

    Returns:
      A :class:`Wrapped` distribution (``SampleReparameterized`` or ``CDFReparameterized``
      when it has pathwise gradients).

    Raises:
      TypeError: ``obj`` lacks ``sample``/``log_prob``/``batch_shape``/``event_shape``, is
        already a reparax distribution, or is not a pytree of arrays.
      ValueError: ``pathwise`` is not one of the kinds above, or ``"cdf"`` for an object
        whose ``cdf`` does not run elementwise on its samples.
    """
    if isinstance(obj, Distribution):
        raise TypeError(f"rx.wrap: `obj` is already a reparax distribution ({obj!r}).")
    missing = [
        name
        for name in ("sample", "log_prob", "batch_shape", "event_shape")
        if not hasattr(obj, name)
    ]
    if missing:
        raise TypeError(
            f"rx.wrap: `obj` ({type(obj).__module__}.{type(obj).__qualname__}) has no "
            f"{', '.join(missing)}; a distribution object needs sample(key, sample_shape), "
            "log_prob(value), batch_shape and event_shape."
        )
    if pathwise not in _PATHWISE_KINDS:
        raise ValueError(f"rx.wrap: `pathwise` must be one of {_PATHWISE_KINDS}, got {pathwise!r}.")
    leaves = jax.tree_util.tree_leaves(obj)
    if leaves == [obj] or not any(_is_float_leaf(leaf) for leaf in leaves):
        raise TypeError(
            f"rx.wrap: `obj` ({type(obj).__qualname__}) must be a JAX pytree whose leaves "
            "include its floating-point parameters, so gradients reach them; register its "
            "class with jax.tree_util.register_pytree_node_class (NumPyro, TFP-on-JAX and "
            "distrax distributions already are pytrees)."
        )
    seed_keyword = _uses_seed_keyword(obj)
    plain = Wrapped(obj, seed_keyword=seed_keyword, fixed_support=fixed_support)
    kind = _detect(obj, plain) if pathwise == "auto" else pathwise
    if kind == "cdf" and not _cdf_works(plain, jax.random.key(0)):
        raise ValueError(
            f"rx.wrap: pathwise='cdf' needs a `cdf` that runs elementwise on the samples of "
            f"{type(obj).__qualname__} (floating samples, event_shape ()); it does not."
        )
    cls = {"sample": SampleReparameterized, "cdf": CDFReparameterized}.get(kind or "", Wrapped)
    return cls(obj, seed_keyword=seed_keyword, fixed_support=fixed_support)
