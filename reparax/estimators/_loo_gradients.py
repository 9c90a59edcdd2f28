"""Shared by Double CV and RODEO: per-sample f, ∇f and log q, leave-one-out means, and the
check of their control-variate parameters.

Both estimators are RLOO plus zero-mean control variates built from a first-order Taylor
expansion of f around the *other* samples, so both need, for every sample x_k, the value
f(x_k), the gradient ∇f(x_k) of f in its (float) input and log q(x_k): one evaluation of f and
one backward pass through it per sample, exactly RLOO's f-evaluations.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp

from reparax._keyed import bind_key
from reparax.capabilities import DistributionLike
from reparax.estimators._sampling import map_samples


def values_and_gradients(
    f: Callable[[jax.Array], jax.Array],
    dist: DistributionLike,
    key: jax.Array,
    num_samples: int,
    chunk_size: int | None,
) -> dict[str, jax.Array]:
    """``sample`` x_k, ``value`` f(x_k), ``grad`` ∇f(x_k) (held fixed) and ``log_prob``.

    The value keeps its derivative with respect to whatever f closes over (a decoder's
    parameters), as in every estimator; the input gradient only ever enters a control
    variate's coefficients, so it is held fixed (``stop_gradient``).
    """

    def one(sample_key: jax.Array) -> dict[str, jax.Array]:
        x = dist.sample(sample_key)
        value, grad = jax.value_and_grad(bind_key(f, sample_key))(x)
        return {
            "sample": x,
            "value": value,
            "grad": jax.lax.stop_gradient(grad),
            "log_prob": dist.joint_log_prob(x),
        }

    return map_samples(one, key, num_samples, chunk_size)


def leave_one_out_mean(values: jax.Array) -> jax.Array:
    """``out[k]`` = the mean of ``values[j]`` over j ≠ k (along the leading axis)."""
    n = values.shape[0]
    return (jnp.sum(values, axis=0, keepdims=True) - values) / (n - 1)


def check_cv_params(name: str, cv_params: Any, expected: dict[str, Any]) -> None:
    """``cv_params`` must have ``expected``'s keys and leaf shapes (from the init function)."""
    if not isinstance(cv_params, dict) or sorted(cv_params) != sorted(expected):
        raise ValueError(
            f"method={name!r}: `cv_params` must be the dict from rx.{name}_init(dist, key) "
            f"with keys {sorted(expected)}; got {cv_params!r:.200}."
        )
    for leaf_name, leaf in expected.items():
        if jnp.shape(cv_params[leaf_name]) != jnp.shape(leaf):
            raise ValueError(
                f"method={name!r}: `cv_params[{leaf_name!r}]` must have shape "
                f"{jnp.shape(leaf)} (from rx.{name}_init(dist, key)), got "
                f"{jnp.shape(cv_params[leaf_name])}."
            )
