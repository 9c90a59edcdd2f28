"""Dispatch on the library a distribution object comes from, and the shared conversion kit.

Each library module (``_numpyro.py``, ``_tfp.py``, ``_distrax.py``) is a table from a class
name to a function that builds the native reparax family from the object's own parameter
arrays (no copy, no ``stop_gradient``: gradients flow back to whatever the user built them
from). A converter returns ``None`` when this particular object does not map exactly (a
Binomial whose ``total_count`` differs across the batch, a truncated Cauchy); the object is
then wrapped (:func:`reparax.adapters.wrap`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import jax
import numpy as np

from reparax.adapters.wrapped import wrap
from reparax.distributions._base import Distribution

Converter = Callable[[Any], Distribution | None]

#: Library (top-level module of the object's class) -> the public adapter's name.
ADAPTERS = {
    "numpyro": "from_numpyro",
    "tensorflow_probability": "from_tfp",
    "distrax": "from_distrax",
}


def library_of(obj: Any) -> str:
    """The top-level package that defines ``type(obj)`` (``"numpyro"``, ``"distrax"``, ...)."""
    return type(obj).__module__.split(".")[0]


def adapter_hint(obj: Any) -> str:
    """A sentence naming the adapter that turns ``obj`` into a reparax distribution, or ""."""
    library = library_of(obj)
    if library in ADAPTERS:
        return (
            f" It is a {library} distribution: convert it with rx.{ADAPTERS[library]}(dist) "
            "(or rx.convert(dist)), which gives the native reparax family when there is one."
        )
    if hasattr(obj, "sample") and hasattr(obj, "log_prob"):
        return (
            " It has sample and log_prob: wrap it with rx.wrap(dist) (score-function methods, "
            "and pathwise when it is reparameterized)."
        )
    return ""


def convert_with(
    obj: Any, library: str, table: Mapping[str, Converter], module_prefix: str
) -> Distribution:
    """``obj`` through ``table`` (by exact class name), else wrapped; ``TypeError`` when
    ``obj`` is not from ``library``."""
    if not type(obj).__module__.startswith(module_prefix):
        other = library_of(obj)
        hint = f" Use rx.{ADAPTERS[other]}(dist)." if other in ADAPTERS else ""
        if isinstance(obj, Distribution):
            hint = " It is already a reparax distribution: use it as it is."
        raise TypeError(
            f"rx.{ADAPTERS[library]}: `dist` must be a {library} distribution (from "
            f"{module_prefix}), got {type(obj).__module__}.{type(obj).__qualname__}.{hint}"
        )
    converter = table.get(type(obj).__name__)
    converted = converter(obj) if converter is not None else None
    if converted is None:
        return wrap(obj, fixed_support=support_is_fixed(obj))
    shapes = (tuple(converted.batch_shape), tuple(converted.event_shape))
    expected = (tuple(int(n) for n in obj.batch_shape), tuple(int(n) for n in obj.event_shape))
    if shapes != expected:  # a conversion must be exact; a table entry that is not is a bug
        raise AssertionError(
            f"reparax: converting {type(obj).__name__} gave batch/event shapes {shapes}, "
            f"expected {expected}; please report this. rx.wrap(dist) works meanwhile."
        )
    return converted


def convert(dist: Any) -> Distribution:
    """Any supported distribution object as a reparax distribution.

    Dispatches on the module that defines ``type(dist)``: NumPyro →
    :func:`~reparax.from_numpyro`, TFP on JAX → :func:`~reparax.from_tfp`, distrax →
    :func:`~reparax.from_distrax`; a reparax distribution is returned as it is; any other
    object with ``sample``/``log_prob`` is wrapped (:func:`~reparax.wrap`).

    Conversion is explicit (``gradient_estimate`` does not convert for you) because it
    changes the pytree that gradients come back as: ``est.grad`` of a converted NumPyro
    Normal is an ``rx.Normal`` of gradients. Inside ``jax.grad`` of a loss written over the
    original parameters, gradients reach those parameters either way.

    Example:
      >>> import jax, jax.numpy as jnp, reparax as rx
      >>> import numpyro.distributions as nd
      >>> rx.convert(nd.Bernoulli(logits=jnp.zeros(3)))
      Bernoulli(logits=Array([0., 0., 0.], dtype=float32))
    """
    if isinstance(dist, Distribution):
        return dist
    library = library_of(dist)
    if library in ADAPTERS:
        from reparax import adapters

        adapter: Callable[[Any], Distribution] = getattr(adapters, ADAPTERS[library])
        return adapter(dist)
    return wrap(dist)


def static_count(value: Any) -> int | None:
    """A ``total_count`` as the Python int reparax keeps static, or ``None`` when it is
    traced or not one integer across the batch (the object is then wrapped)."""
    if isinstance(value, jax.core.Tracer):
        return None
    counts = np.unique(np.asarray(value))
    if counts.size != 1 or counts[0] != np.round(counts[0]) or counts[0] < 1:
        return None
    return int(counts[0])


def support_is_fixed(obj: Any) -> bool:
    """Whether a foreign distribution's support cannot move with its parameters.

    NumPyro declares its support as a constraint object; a support is fixed when that
    constraint (and the constraints it wraps) holds no array, i.e. its bounds are constants
    (``Real``, ``Boolean``, ``UnitInterval(0.0, 1.0)``), not parameters (``Interval(0, h)``:
    the score function would silently miss the moving boundary). An object without a
    declared support (TFP, distrax) is assumed to have a moving one: score-function methods
    are then refused until the user says otherwise with ``rx.wrap(dist, fixed_support=True)``.
    """
    support = getattr(obj, "support", None)
    if support is None or callable(support) and not hasattr(support, "__dict__"):
        return False
    pending, seen = [support], 0
    while pending and seen < 16:  # constraints nest shallowly (independent(interval(...)))
        constraint = pending.pop()
        seen += 1
        for value in getattr(constraint, "__dict__", {}).values():
            if isinstance(value, (bool, int, float, str)) or value is None:
                continue
            if hasattr(value, "__dict__") and type(value).__module__.startswith("numpyro"):
                pending.append(value)
                continue
            return False  # an array (or anything else): bounds that may be parameters
    return True
