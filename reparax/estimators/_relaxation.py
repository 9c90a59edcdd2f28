"""Shared pieces of the relaxation estimators: temperature checks, straight-through."""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from reparax._checks import positive_or_nan
from reparax.capabilities import ConditionalNoise
from reparax.estimators._sampling import finite_or_zero

BIASED = "Biased: the gradient is that of a relaxed (or straight-through) objective, not of E[f]."

GUMBEL_SOFTMAX_REFERENCES = (
    "Jang, Gu & Poole 2017, Categorical Reparameterization with Gumbel-Softmax, ICLR, "
    "arXiv:1611.01144",
    "Maddison, Mnih & Teh 2017, The Concrete Distribution, ICLR, arXiv:1611.00712",
)


def check_temperature(temperature: Any, method: str, name: str = "temperature") -> Any:
    """A temperature must be a positive real (an array is fine, and may be traced).

    Returns the temperature to use: a concrete one as it is (checked here: ≤ 0 or not finite
    raises), a traced one through ``positive_or_nan``, so that a traced τ ≤ 0, which no
    check can read at trace time, gives a NaN value and gradient instead of a silently
    finite, wrong one."""
    if isinstance(temperature, (str, bytes, bool)) or temperature is None:
        raise TypeError(
            f"method={method!r}: `{name}` must be a positive float, got {temperature!r}."
        )
    try:
        dtype = jnp.result_type(temperature)
    except TypeError:
        raise TypeError(
            f"method={method!r}: `{name}` must be a positive float, got {temperature!r}."
        ) from None
    if not (jnp.issubdtype(dtype, jnp.floating) or jnp.issubdtype(dtype, jnp.integer)):
        raise TypeError(
            f"method={method!r}: `{name}` must be a positive float, got {temperature!r}."
        )
    if not isinstance(temperature, jax.core.Tracer):
        value = np.asarray(temperature)
        if not np.all(np.isfinite(value)) or bool(np.any(value <= 0)):
            raise ValueError(
                f"method={method!r}: `{name}` must be > 0 and finite, got {temperature!r}."
            )
    return positive_or_nan(temperature)


#: What a relaxation may report as its value (``value=`` option): the relaxed objective or f
#: at the hard sample of the same noise.
VALUE_CHOICES = ("relaxed", "hard")


def check_value_choice(value: Any, method: str) -> None:
    """``value`` must name what the estimate reports: ``"relaxed"`` or ``"hard"``."""
    if not isinstance(value, str) or value not in VALUE_CHOICES:
        raise ValueError(
            f"method={method!r}: `value` must be 'relaxed' (f at the relaxed sample) or 'hard' "
            f"(f at the hard sample of the same noise, the true objective), got {value!r}."
        )


def straight_through_value(hard: jax.Array, soft: jax.Array) -> jax.Array:
    """Forward: exactly ``hard``. Backward: as if it were ``soft``."""
    return jax.lax.stop_gradient(hard) + (soft - jax.lax.stop_gradient(soft))


def conditional_noise(dist: ConditionalNoise, key: jax.Array, hard: jax.Array) -> jax.Array:
    """Noise G̃ ~ p(G | transform(G) = hard), held fixed (no gradient through the sampler)."""
    perturbed = jax.lax.stop_gradient(dist.conditional_perturbed(key, hard))
    noise = perturbed - jax.lax.stop_gradient(dist.perturbed(jnp.zeros_like(perturbed)))
    # A class of probability 0 has θ = −inf and stays there whatever its noise (−inf − −inf).
    return finite_or_zero(noise)
