"""The unified entry points: ``expectation`` and ``gradient_estimate``."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

import jax

from reparax import _registry
from reparax._checks import check_count, check_distribution

#: Largest joint support that ``method="auto"`` enumerates exactly.
AUTO_EXACT_MAX_SUPPORT = 2**10


class Estimate(NamedTuple):
    """A Monte Carlo estimate of E[f] and of its gradient.

    Attributes:
      value: the estimate of E_{p}[f(z)] (a scalar).
      grad: the gradient estimate, a pytree with the structure of the distribution.
    """

    value: jax.Array
    grad: Any


def resolve_method(method: str, dist: Any, num_samples: int) -> str:
    """The registry name ``method`` refers to; ``"auto"`` picks an unbiased method.

    ``"auto"``: ``pathwise`` when the distribution has a differentiable transform; else
    ``exact`` when it has a finite joint support of at most ``AUTO_EXACT_MAX_SUPPORT``
    outcomes; else ``rloo`` when ``num_samples >= 2``; else ``score_function``.
    Relaxations (biased) are never chosen automatically.
    """
    if method != "auto":
        return _registry.lookup(method).name
    check_distribution(dist)
    check_count("num_samples", num_samples)
    if _registry.lookup("pathwise").supports(dist):
        return "pathwise"
    if (
        callable(getattr(dist, "support_size", None))
        and dist.support_size() <= AUTO_EXACT_MAX_SUPPORT
    ):
        return "exact"
    return "rloo" if num_samples >= 2 else "score_function"


def expectation(
    f: Callable,
    dist: Any,
    key: jax.Array,
    *,
    method: str = "auto",
    num_samples: int = 1,
    **options: Any,
) -> jax.Array:
    """A differentiable Monte Carlo estimate of E_{z ~ dist}[f(z)].

    The returned scalar's value is the method's estimate of the expectation, and its
    derivative (``jax.grad``, ``jax.vjp``, and ``jax.jvp`` where the method allows) with
    respect to anything ``dist`` or ``f`` depends on is the method's gradient estimator. Use
    it inside any loss, under ``jit``/``vmap``/``grad``.

    Args:
      f: maps ONE sample to a scalar (reparax maps it over samples); it may close over
        parameters, whose gradients flow as usual.
      dist: a reparax distribution, e.g. ``rx.Normal(loc, scale)``.
      key: a PRNG key (``jax.random.key`` or legacy ``PRNGKey``).
      method: a name from ``rx.methods()``, an alias, or ``"auto"``.
      num_samples: number of Monte Carlo samples (Python int).
      **options: method options, e.g. ``chunk_size``, ``baseline``, ``temperature``.

    Returns:
      A scalar.

    Example:
      >>> import jax, jax.numpy as jnp, reparax as rx
      >>> def loss(mu, key):
      ...     dist = rx.Normal(mu, 1.0)
      ...     return rx.expectation(lambda z: jnp.sum(z**2), dist, key, num_samples=32)
      >>> jax.grad(loss)(jnp.ones(3), jax.random.key(0)).shape
      (3,)
    """
    name = resolve_method(method, dist, num_samples)
    return _registry.lookup(name).fn(f, dist, key, num_samples=num_samples, **options)


def gradient_estimate(
    f: Callable,
    dist: Any,
    key: jax.Array,
    *,
    method: str = "auto",
    num_samples: int = 1,
    **options: Any,
) -> Estimate:
    """Estimates E[f] and its gradient with respect to ``dist``'s parameters.

    Args:
      f: maps ONE sample to a scalar.
      dist: a reparax distribution.
      key: a PRNG key.
      method: a name from ``rx.methods()``, an alias, or ``"auto"`` (an unbiased method:
        see :func:`resolve_method`).
      num_samples: number of Monte Carlo samples.
      **options: method options (``chunk_size``, ``baseline``, ``temperature``, ...).

    Returns:
      ``Estimate(value, grad)`` where ``grad`` has the pytree structure of ``dist``.

    Example:
      >>> import jax, jax.numpy as jnp, reparax as rx
      >>> dist = rx.Normal(loc=jnp.zeros(3), scale=jnp.ones(3))
      >>> est = rx.gradient_estimate(lambda z: jnp.sum((z - 1.0) ** 2), dist,
      ...                            jax.random.key(0), method="pathwise", num_samples=64)
      >>> est.grad.loc.shape
      (3,)
    """
    check_distribution(dist)
    dist.check_parameters()  # while the parameters are still concrete (before value_and_grad)

    def objective(d):
        return expectation(f, d, key, method=method, num_samples=num_samples, **options)

    value, grad = jax.value_and_grad(objective)(dist)
    return Estimate(value, grad)
