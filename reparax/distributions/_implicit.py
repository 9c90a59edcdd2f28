"""Implicit reparameterization (Figurnov, Mohamed & Mnih 2018, arXiv:1805.08498).

When a sample cannot be written as a differentiable transform of noise but its CDF F(z; θ)
is differentiable, differentiating F(z(θ); θ) = u (fixed) gives

.. math:: \\frac{dz}{dθ} = −\\frac{∂_θ F(z; θ)}{p(z; θ)}.

:func:`implicit_rsample` turns any elementwise (factorized) distribution with a
non-differentiable ``sample``, a differentiable ``cdf`` and a ``log_prob`` into one whose
samples carry this derivative, as a ``custom_jvp`` (forward and reverse mode, and higher
orders when ``cdf`` and ``log_prob`` are themselves differentiable). It is what
what the :class:`ImplicitReparameterization` mixin's ``rsample`` does, for a family that
defines ``sample``, ``cdf`` and ``log_prob`` and no explicit transform.

Example: a user-written family with only ``sample``, ``log_prob`` and ``cdf`` gets pathwise
gradients (here an exponential written from scratch)::

    >>> import jax, jax.numpy as jnp, reparax as rx
    >>> @rx.distribution
    ... class MyExponential(rx.distributions.ImplicitReparameterization):
    ...     rate: jax.Array = rx.param(rx.constraints.positive)
    ...     def sample(self, key, sample_shape=()):
    ...         shape = tuple(sample_shape) + self.batch_shape
    ...         return jax.random.exponential(key, shape) / self.rate
    ...     def log_prob(self, z):
    ...         return jnp.log(self.rate) - self.rate * z
    ...     def cdf(self, z):
    ...         return -jnp.expm1(-self.rate * z)
    >>> est = rx.gradient_estimate(lambda z: z, MyExponential(2.0), jax.random.key(0),
    ...                            method="pathwise", num_samples=4000)
    >>> bool(abs(est.grad.rate - (-1 / 4.0)) < 0.02)  # d/dλ E[z] = −1/λ²
    True
"""

from __future__ import annotations

import functools
from typing import Any

import jax
import jax.numpy as jnp

from reparax.distributions._base import Distribution, Shape


@functools.partial(jax.custom_jvp, nondiff_argnums=(2,))
def _implicit(dist: Any, key: jax.Array, sample_shape: Shape) -> jax.Array:
    return jax.lax.stop_gradient(dist.sample(key, sample_shape))


@_implicit.defjvp
def _implicit_jvp(
    sample_shape: Shape, primals: tuple[Any, ...], tangents: tuple[Any, ...]
) -> tuple[jax.Array, jax.Array]:
    dist, key = primals
    dist_dot, _ = tangents
    z = _implicit(dist, key, sample_shape)
    _, cdf_dot = jax.jvp(lambda d: d.cdf(z), (dist,), (dist_dot,))
    density = jnp.exp(dist.log_prob(z))
    return z, -cdf_dot / density


def implicit_rsample(dist: Any, key: jax.Array, sample_shape: Shape = ()) -> jax.Array:
    """A sample of ``dist`` whose derivative in its parameters is −∂θF(z; θ)/p(z; θ).

    ``dist`` needs a non-differentiable ``sample``, a differentiable elementwise ``cdf`` and
    ``log_prob``.
    """
    missing = [
        name for name in ("sample", "cdf", "log_prob") if not callable(getattr(dist, name, None))
    ]
    if missing:
        raise TypeError(
            f"implicit reparameterization needs {', '.join(missing)} on "
            f"{type(dist).__name__}: define `cdf` (and `sample`, `log_prob`) to get pathwise "
            "gradients."
        )
    return _implicit(dist, key, tuple(sample_shape))


class ImplicitReparameterization(Distribution):
    """Mixin: ``rsample`` by implicit reparameterization from the family's ``cdf``.

    The family defines ``sample`` (no gradient needed), a differentiable elementwise
    ``cdf(value)`` and ``log_prob``; ``rsample`` then carries dz/dθ = −∂θF(z; θ)/p(z; θ).
    """

    def cdf(self, value: jax.Array) -> jax.Array:
        """F(value; θ), differentiable in θ."""
        raise NotImplementedError(f"{type(self).__name__} must implement `cdf`.")

    def rsample(self, key: jax.Array, sample_shape: Shape = ()) -> jax.Array:
        """A sample of ``sample()``'s law whose derivative is −∂θF(z; θ)/p(z; θ)."""
        return implicit_rsample(self, key, sample_shape)

    # ``Distribution.sample`` must not derive itself from this rsample (which calls sample).
    rsample._derived_from_sample = True  # type: ignore[attr-defined]
