"""One control-variate mechanism for every estimator that is linear in f.

A control variate h(z; a) with a closed-form expectation E_θ[h(·; a)] enters any estimator
Ĝ[·] of ∇θ E_θ[·] that is unbiased for every integrand as

.. math:: ĝ = Ĝ[f − β h(·; a)] + β ∇_θ E_θ[h(·; a)] \big|_{a = θ},

unbiased for any β that does not depend on the samples, because E[Ĝ[h]] = ∇θ E_θ[h(·; a)]
with the anchor a held fixed (``stop_gradient``). The value is then the control-variate
estimate of E[f], mean(f − β h) + β E[h], also unbiased. For the score function this is the
classic form (f − β h) ∇ log p + β ∇E[h]; for the pathwise estimator ∇f(z) − β ∇h(z) + β ∇E[h]
(the "control_variates_jacobians" of the removed ``optax.monte_carlo``).

``cv_coefficient="optimal"`` estimates the variance-minimising β per parameter coordinate,
β* = Cov(ĝ_f, ĝ_h)/Var(ĝ_h), from the samples themselves without bias: sample i is weighted
with β_i computed from the *other* N − 1 samples (leave-one-out), so β_i is independent of
sample i's zero-mean control term c_i = ĝ_h,i − ∇E[h] and E[β_i c_i] = E[β_i] E[c_i] = 0.
It needs the per-sample gradients (N × P memory, first derivatives only).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp

from reparax.estimators._sampling import linear_probe, stop_parameters


class ControlVariate(NamedTuple):
    """A control variate with a closed-form expectation.

    Attributes:
      value: ``value(anchor, z)``, h(z; anchor) for one sample ``z``.
      expectation: ``expectation(dist, anchor)``, E_{z ~ dist}[h(z; anchor)], differentiable
        in ``dist``'s parameters.
      check: ``check(dist)`` raises ``ValueError``/``TypeError`` when the expectation does not
        exist for ``dist`` (e.g. a Cauchy has no variance); ``None`` for no check.
    """

    value: Callable[[Any, jax.Array], jax.Array]
    expectation: Callable[[Any, Any], jax.Array]
    check: Callable[[Any], None] | None = None


def check_control_variate(control_variate: Any, method: str) -> None:
    """A clear ``TypeError`` for anything that is not a :class:`ControlVariate`."""
    if not isinstance(control_variate, ControlVariate):
        raise TypeError(
            f"method={method!r}: `control_variate` must be a rx.control_variates."
            "ControlVariate (from rx.control_variates.delta_method(f) or muprop(f)), got "
            f"{type(control_variate).__name__}."
        )


def check_coefficient(coefficient: Any, method: str) -> None:
    """``cv_coefficient``: a real scalar (may be traced) or ``"optimal"``."""
    if isinstance(coefficient, str):
        if coefficient != "optimal":
            raise ValueError(
                f"method={method!r}: `cv_coefficient` must be a number or 'optimal', got "
                f"{coefficient!r}."
            )
        return
    if isinstance(coefficient, bool) or not hasattr(jnp.asarray(coefficient), "dtype"):
        raise TypeError(f"method={method!r}: `cv_coefficient` must be a number or 'optimal'.")
    if jnp.shape(coefficient) != () or not jnp.issubdtype(jnp.result_type(coefficient), jnp.number):
        raise TypeError(
            f"method={method!r}: `cv_coefficient` must be a real scalar or 'optimal', got "
            f"{coefficient!r}."
        )


def apply_control_variate(
    fn: Callable[..., jax.Array],
    f: Callable,
    dist: Any,
    key: jax.Array,
    *,
    num_samples: int,
    chunk_size: int | None,
    options: Mapping[str, Any],
    control_variate: ControlVariate,
    coefficient: Any,
    name: str,
) -> jax.Array:
    """The surrogate of ``fn`` with the control variate applied (see the module docstring)."""
    anchor = stop_parameters(dist)

    def h(z: jax.Array) -> jax.Array:
        return control_variate.value(anchor, z)

    if isinstance(coefficient, str):
        return _optimal(fn, f, h, dist, key, num_samples, options, control_variate, anchor)
    beta = jnp.asarray(coefficient)

    def corrected(z: jax.Array) -> jax.Array:
        return f(z) - beta * h(z)

    estimate = fn(corrected, dist, key, num_samples=num_samples, chunk_size=chunk_size, **options)
    return estimate + beta * control_variate.expectation(dist, anchor)


def _optimal(
    fn: Callable[..., jax.Array],
    f: Callable,
    h: Callable,
    dist: Any,
    key: jax.Array,
    num_samples: int,
    options: Mapping[str, Any],
    control_variate: ControlVariate,
    anchor: Any,
) -> jax.Array:
    keys = jax.random.split(key, num_samples)

    def one(d: Any, k: jax.Array, g: Callable) -> jax.Array:
        return fn(g, d, k, num_samples=1, chunk_size=None, **options)

    def pieces(k: jax.Array) -> tuple[jax.Array, Any, Any]:
        # The same key for f and h: both read the same sample z_i.
        value, grad_f = jax.value_and_grad(one)(anchor, k, f)
        return value, grad_f, jax.grad(one)(anchor, k, h)

    values, grads_f, grads_h = jax.vmap(pieces)(keys)
    expected = jax.grad(lambda d: control_variate.expectation(d, anchor))(anchor)

    def combine(a: jax.Array, c_raw: jax.Array, e: jax.Array) -> jax.Array:
        c = c_raw - e[None]  # zero-mean control terms, (N, *leaf)
        cross = jnp.sum(a * c, 0, keepdims=True)
        square = jnp.sum(c * c, 0, keepdims=True)
        # Leave-one-out sums over j ≠ i, regularized: where the control terms vanish up to
        # rounding (an estimator exact for h, e.g. IndeCateR for a linear h), 0/0 would give
        # a wild β. Any β independent of sample i keeps the estimate unbiased.
        ridge = 1e-10 * jnp.sum(a * a, 0, keepdims=True) + jnp.finfo(a.dtype).tiny
        beta = (cross - a * c) / (square - c * c + ridge)
        return jnp.mean(a - jax.lax.stop_gradient(beta) * c, 0)

    grads = jax.tree.map(combine, grads_f, grads_h, expected)
    probes = sum(
        (linear_probe(p, g) for p, g in zip(jax.tree.leaves(dist), jax.tree.leaves(grads))),
        start=jnp.zeros(()),
    )
    # Parameters that f closes over: the estimator's own gradient with the distribution held
    # fixed (a zero-valued term).
    closure = fn(f, anchor, key, num_samples=num_samples, chunk_size=None, **options)
    return (
        jax.lax.stop_gradient(jnp.mean(values)) + probes + closure - jax.lax.stop_gradient(closure)
    )
