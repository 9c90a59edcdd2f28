"""Input validation shared by every estimator: fail at trace time with a clear message."""

from __future__ import annotations

import difflib
import numbers
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any

import jax
import jax.numpy as jnp

from reparax._keyed import is_keyed
from reparax._plates import cost_shape_error
from reparax.distributions._base import Distribution

if TYPE_CHECKING:
    from reparax.estimator import Estimator


def did_you_mean(name: str, known: Iterable[str]) -> str:
    """`` Did you mean 'x'?`` for the closest known name, or ``""``."""
    close = difflib.get_close_matches(name.lower(), [k.lower() for k in known], n=1, cutoff=0.6)
    if not close:
        return ""
    match = next(k for k in known if k.lower() == close[0])
    return f" Did you mean {match!r}?"


def _for(method: Estimator | None) -> str:
    return "" if method is None else f"method={method.name!r}: "


def check_key(key: Any) -> jax.Array:
    """Accepts a typed key (``jax.random.key``) or a legacy ``uint32[2]`` ``PRNGKey``."""
    dtype = getattr(key, "dtype", None)
    shape = getattr(key, "shape", None)
    if dtype is not None and jnp.issubdtype(dtype, jax.dtypes.prng_key):
        if shape != ():
            raise TypeError(
                f"`key` must be a single PRNG key, got a key array of shape {shape}; "
                "split it and pass one key (or vmap over the keys)."
            )
        return key
    if dtype == jnp.uint32 and shape == (2,):
        return key
    raise TypeError(
        f"`key` must be a PRNG key from jax.random.key(seed) or jax.random.PRNGKey(seed), "
        f"got {type(key).__name__} with dtype {dtype} and shape {shape}."
    )


def check_count(
    name: str,
    value: Any,
    *,
    minimum: int = 1,
    allow_none: bool = False,
    method: Estimator | None = None,
) -> None:
    """A static Python int ≥ ``minimum`` (``None`` allowed where ``allow_none``)."""
    if value is None and allow_none:
        return
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(
            f"{_for(method)}`{name}` must be a Python int (a static count), got "
            f"{type(value).__name__} {value!r}."
        )
    if value < minimum:
        raise ValueError(f"{_for(method)}`{name}` must be >= {minimum}, got {value}.")


def positive_or_nan(value: Any) -> Any:
    """``value`` where it is > 0 and finite, NaN elsewhere: the jit-safe half of a positivity
    check (temperatures, gaps), for a traced value no check can read at trace time.

    As distributions do with invalid traced parameters (``Distribution.checked``), NaN is
    added under ``stop_gradient``, so the value AND the derivatives of whatever uses it are
    NaN instead of silently finite. A concrete value, checked eagerly by the caller, is
    returned as it is (bit for bit)."""
    if not isinstance(value, jax.core.Tracer):
        return value
    valid = jax.lax.stop_gradient(jnp.isfinite(value) & (value > 0))
    return value + jax.lax.stop_gradient(jnp.where(valid, 0.0, jnp.nan))


def check_distribution(dist: Any) -> None:
    """Refuses anything but a reparax distribution, naming the adapter for a foreign one.

    Every entry point (``gradient_estimate``, ``expectation``, ``supported_methods``,
    ``resolve_method``, the diagnostics) goes through here, so a NumPyro/TFP/distrax object
    is refused the same way everywhere, with the conversion to call. It is not converted
    silently: the gradient pytree would then be a reparax family, not the object passed.
    """
    if not isinstance(dist, Distribution):
        from reparax.adapters import adapter_hint

        raise TypeError(
            "`dist` must be a reparax distribution (e.g. rx.Normal(loc, scale); write your "
            "own with rx.distribution and rx.param), got "
            f"{type(dist).__module__}.{type(dist).__qualname__}.{adapter_hint(dist)}"
        )


def check_supported(method: Estimator, dist: Any) -> None:
    """Refuses a (method, distribution) pair, naming what is missing and what would work."""
    if method.supports(dist):
        return
    from reparax._registry import supported_methods

    missing = method.missing(dist)
    hints: Mapping[Any, str] = getattr(dist, "capability_hints", {})
    hint = "".join(
        f" {text}"
        for capability, text in hints.items()
        if getattr(capability, "__name__", capability) in missing
    )
    family = type(dist).__name__
    raise ValueError(
        f"method={method.name!r} does not support {family} (it needs {', '.join(missing)})."
        f"{hint} Methods that support {family}: {', '.join(supported_methods(dist))}."
    )


def check_options(
    method: Estimator, options: Mapping[str, Any], dist: Any, *, chosen_by: str | None = None
) -> None:
    """Every option is one the method takes; control-variate options are well formed."""
    from reparax.control_variates._apply import check_coefficient, check_control_variate
    from reparax.estimator import COMMON_OPTIONS

    chosen = f" (chosen by method={chosen_by!r})" if chosen_by else ""
    for option in options:
        if not method.accepts(option):
            takes = sorted(method.options) + (
                ["control_variate", "cv_coefficient"] if method.accepts_control_variate else []
            )
            known = [*COMMON_OPTIONS, *takes]
            raise TypeError(
                f"method={method.name!r}{chosen} has no option `{option}`."
                f"{did_you_mean(option, known)} Its options: {', '.join(known)}."
            )
    if options.get("control_variate") is not None:
        check_control_variate(options["control_variate"], method.name)
        check_coefficient(options.get("cv_coefficient", 1.0), method.name)
        if options["control_variate"].check is not None:
            options["control_variate"].check(dist)
        if options.get("cv_coefficient") == "optimal" and method.min_samples > 1:
            raise ValueError(
                f"method={method.name!r}{chosen}: cv_coefficient='optimal' needs an estimator "
                "whose samples are independent terms (it reweights each from the others); "
                f"{method.name} couples its samples. Use a number, or 'score_function'."
            )


def check_cost(f: Callable, example: jax.Array, plate_shape: tuple[int, ...] = ()) -> None:
    """``f`` maps ONE sample to a scalar (or, with plates, to one cost per plate element);
    checked abstractly with ``jax.eval_shape``. A keyed ``f`` (``rx.with_key``) gets a key."""
    if not callable(f):
        raise TypeError(f"`f` must be a callable mapping one sample to a scalar, got {f!r}.")
    sample = jax.ShapeDtypeStruct(example.shape, example.dtype)
    if is_keyed(f):
        out = jax.eval_shape(f, sample, jax.random.key(0))
    else:
        out = jax.eval_shape(f, sample)
    if getattr(out, "shape", None) != plate_shape:
        raise cost_shape_error(out, tuple(example.shape), plate_shape)
    if not jnp.issubdtype(out.dtype, jnp.floating):
        raise TypeError(
            f"`f` must return a floating-point scalar (or floating costs, one per plate "
            f"element), got dtype {out.dtype}."
        )


def _depends(jaxpr: Any, inputs: list[bool]) -> list[bool]:
    """Which outputs of ``jaxpr`` depend on the flagged inputs (conservatively: an equation
    with any dependent input makes all its outputs dependent, sub-jaxprs included)."""
    dependent = {v for v, flag in zip(jaxpr.invars, inputs) if flag}

    def reads(v: Any) -> bool:  # literals (constants in the jaxpr) depend on nothing
        return type(v).__name__ != "Literal" and v in dependent

    for eqn in jaxpr.eqns:
        if any(reads(v) for v in eqn.invars):
            dependent.update(eqn.outvars)
    return [reads(v) for v in jaxpr.outvars]


def derivative_is_structurally_zero(f: Callable, example: Any) -> bool:
    """Whether ``f``'s output depends on its input while its derivative is identically
    zero by construction (comparisons, integer casts, ``stop_gradient``: visible in the
    jaxpr of its JVP). A pathwise gradient of such an f is silently 0."""
    if not jnp.issubdtype(example.dtype, jnp.floating):
        return False
    x = jax.ShapeDtypeStruct(example.shape, example.dtype)

    def tangent(primal: jax.Array, direction: jax.Array) -> tuple[jax.Array, jax.Array]:
        return jax.jvp(f, (primal,), (direction,))

    try:
        closed = jax.make_jaxpr(tangent)(x, x)
    except Exception:  # f that cannot be differentiated at all is caught by the estimator
        return False
    jaxpr = closed.jaxpr
    on_primal = _depends(jaxpr, [True, False])
    on_tangent = _depends(jaxpr, [False, True])
    # outvars: (f(x), tangent); a tangent that ignores the direction is structurally zero.
    return bool(on_primal[0]) and not on_tangent[1]
