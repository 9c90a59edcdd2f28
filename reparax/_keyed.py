"""A cost function that receives its own PRNG key: ``rx.with_key(f)``.

A program that samples inside ``f`` (a nested expectation, a stochastic simulator, dropout in
a decoder) needs randomness of its own. ``rx.with_key(f)`` declares that ``f(z, key)`` takes a
key as its second argument; every estimator then calls it with a key derived from the sample's
own key, ``jax.random.fold_in(key_i, SALT)`` for sample i, so that

* the inner key is independent of the outer sample z_i (it is a different stream of the
  key that drew z_i), which keeps every estimator unbiased for E_z E_u[f(z, u)];
* every evaluation belonging to sample i (ARM/DisARM's pair, IndeCateR's rows, the
  measure-valued rows, REBAR's relaxed points) uses the same inner key: common random numbers,
  so differences between those evaluations carry no inner noise.

``method="exact"`` averages over ``num_samples`` inner keys (it enumerates z exactly).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

import jax

#: Folded into sample i's key to give f its own, independent stream.
SALT = 0x6B6579  # "key"


@dataclasses.dataclass(frozen=True)
class KeyedCost:
    """A cost ``fn(z, key)`` that takes a PRNG key; build it with :func:`with_key`."""

    fn: Callable[[Any, jax.Array], jax.Array]

    def __call__(self, z: Any, key: jax.Array) -> jax.Array:
        return self.fn(z, key)


def with_key(f: Callable[[Any, jax.Array], jax.Array]) -> KeyedCost:
    """Declares that the cost function takes the per-sample PRNG key: ``f(z, key)``.

    Every estimator calls ``f(z_i, k_i)`` with ``k_i = jax.random.fold_in(split(key, N)[i],
    SALT)``: independent of the sample z_i (so estimates stay unbiased for the nested
    expectation E_z E[f(z, ·)]) and shared by all of sample i's evaluations (common random
    numbers for ARM/DisARM pairs and IndeCateR rows). ``f`` may sample with it, or call
    ``rx.expectation`` itself (a nested expectation whose own gradient flows).

    Args:
      f: ``f(z, key) -> scalar`` (or costs per plate element, with ``plates=``).

    Returns:
      A :class:`KeyedCost` to pass as ``f`` to any estimator.

    Example:
      >>> import jax, jax.numpy as jnp, reparax as rx
      >>> outer = rx.Normal(jnp.zeros(()), 1.0)
      >>> def f(x, key):  # E_y[(x + y)²] with y ~ N(x, 1), estimated inside f
      ...     inner = rx.Normal(x, 1.0)
      ...     return rx.expectation(lambda y: (x + y) ** 2, inner, key, num_samples=4)
      >>> est = rx.gradient_estimate(rx.with_key(f), outer, jax.random.key(0),
      ...                            method="pathwise", num_samples=8)
      >>> est.grad.loc.shape
      ()
    """
    if isinstance(f, KeyedCost):
        return f
    if not callable(f):
        raise TypeError(f"rx.with_key: `f` must be a callable f(z, key), got {f!r}.")
    return KeyedCost(f)


def is_keyed(f: Any) -> bool:
    """Whether ``f`` was declared with :func:`with_key`."""
    return isinstance(f, KeyedCost)


def inner_key(sample_key: jax.Array) -> jax.Array:
    """f's key for the sample drawn with ``sample_key`` (an independent stream of it)."""
    return jax.random.fold_in(sample_key, SALT)


def bind_key(f: Callable, sample_key: jax.Array) -> Callable[[Any], jax.Array]:
    """``f`` as a function of z alone: a keyed ``f`` gets the sample's inner key."""
    if isinstance(f, KeyedCost):
        key = inner_key(sample_key)
        return lambda z: f.fn(z, key)
    return f
