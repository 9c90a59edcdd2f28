"""Refusing derivative orders an estimator cannot give without bias.

A surrogate whose first derivative is an unbiased estimator may have biased (often
zero) higher derivatives: the measure-valued and coupled estimators attach a fixed gradient
estimate to the parameters, so their Hessian is silently 0. ``limit_order`` wraps the
surrogate in an identity whose derivatives pass through ``max_order`` times and whose next
derivative raises :class:`DerivativeOrderError`, in any mode (``grad``, ``jacfwd``,
``hessian``) and under ``jit``/``vmap``.
"""

from __future__ import annotations

import jax


class DerivativeOrderError(ValueError):
    """A derivative of an order the estimator cannot give without bias was requested."""


def _refuse(name: str, order: int) -> jax.custom_jvp:
    @jax.custom_jvp
    def refuse(x: jax.Array) -> jax.Array:
        return x

    @refuse.defjvp
    def _refuse_jvp(primals: tuple, tangents: tuple) -> tuple:
        raise DerivativeOrderError(
            f"method={name!r} gives derivatives up to order {order} only; order {order + 1} "
            "was requested (e.g. jax.hessian). For higher derivatives use a method that "
            "gives them without bias: 'pathwise', 'score_function', 'rloo' or 'exact'."
        )

    return refuse


def _passing(name: str, remaining: int, order: int) -> jax.custom_jvp:
    @jax.custom_jvp
    def passing(x: jax.Array) -> jax.Array:
        return x

    @passing.defjvp
    def _passing_jvp(primals: tuple, tangents: tuple) -> tuple:
        (x,), (dx,) = primals, tangents
        inner = _limit(name, remaining - 1, order)
        return inner(x), inner(dx)

    return passing


def _limit(name: str, remaining: int, order: int) -> jax.custom_jvp:
    return _refuse(name, order) if remaining == 0 else _passing(name, remaining, order)


def limit_order(surrogate: jax.Array, max_order: int | None, name: str) -> jax.Array:
    """``surrogate`` unchanged in value and in its first ``max_order`` derivatives; the next
    derivative raises. ``max_order=None`` leaves it alone."""
    if max_order is None:
        return surrogate
    return _limit(name, max_order, max_order)(surrogate)
