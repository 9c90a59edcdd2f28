"""Shared machinery of factorized finite families (Bernoulli, Categorical, OneHotCategorical).

Each of the D = prod(batch_shape) elements independently takes one of K values,
``enumerate_support()[k]`` (an event-shaped array), with log-probability
``class_log_probs()[..., k]``. From these two the estimators derive exact enumeration of
the joint support, local (one-element) replacements for IndeCateR, and the weak derivatives
of the measure-valued estimator.
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp

from reparax.distributions._base import Distribution
from reparax.distributions._weak_derivative import WeakDerivative


class FiniteDistribution(Distribution):
    """Base class of factorized distributions with K outcomes per batch element.

    No ``rsample``: the argmax/threshold transform has zero derivative, so these families do
    not satisfy ``Reparameterized`` (pathwise would silently return zero gradients).
    """

    @property
    def num_classes(self) -> int:
        raise NotImplementedError

    def enumerate_support(self) -> jax.Array:
        """The K values one element can take, shape ``(K, *event_shape)``."""
        raise NotImplementedError

    def class_log_probs(self) -> jax.Array:
        """Log-probability of each of the K values for each element, ``batch_shape + (K,)``."""
        raise NotImplementedError

    def support_size(self) -> int:
        """Size of the joint support, K^D (a Python int, possibly huge)."""
        return self.num_classes ** math.prod(self.batch_shape)

    def joint_support(self) -> tuple[jax.Array, jax.Array]:
        """Every joint outcome and its log-probability: ``(M, *sample_shape)``, ``(M,)``."""
        num, k = math.prod(self.batch_shape), self.num_classes
        outcomes = jnp.arange(k**num)
        powers = k ** jnp.arange(num - 1, -1, -1)
        index = (outcomes[:, None] // powers[None, :]) % k  # (M, D): mixed-radix digits
        values = self.enumerate_support()[index]  # (M, D, *event)
        log_probs = self.class_log_probs().reshape(num, k)
        joint = jnp.sum(jnp.take_along_axis(log_probs[None], index[..., None], axis=-1)[..., 0], -1)
        return values.reshape((k**num,) + self.batch_shape + self.event_shape), joint

    def local_replacements(self, sample: jax.Array) -> jax.Array:
        """``rows[d, k]`` = ``sample`` with element d set to value k: ``(D, K, *sample)``."""
        num, k = math.prod(self.batch_shape), self.num_classes
        event = self.event_shape
        flat = sample.reshape((num,) + event)
        support = self.enumerate_support()  # (K, *event)
        eye = jnp.eye(num, dtype=bool).reshape((num, 1, num) + (1,) * len(event))
        rows = jnp.where(eye, support[None, :, None], flat[None, None])  # (D, K, D, *event)
        return rows.reshape((num, k) + self.batch_shape + event)

    def weak_derivative(
        self, key: jax.Array, sample: jax.Array, coupled: bool = True
    ) -> dict[str, WeakDerivative]:
        """Categorical weak derivative in the logits (any K): ∂/∂θ_dj E[f] = p_dj (E[f | z_d = j]
        − E[f]), i.e. c = p_dj, p⁺ = z with element d set to j, p⁻ = the distribution itself
        (the base sample is a draw of it; ``key`` and ``coupled`` are unused)."""
        del key, coupled
        probs = jnp.exp(self.class_log_probs())
        rows = self.local_replacements(sample)
        shape = probs.shape
        return {
            "logits": WeakDerivative(
                probs.reshape(-1),
                rows.reshape((-1,) + rows.shape[2:]),
                None,
                lambda g: g.reshape(shape),
                shape,
            )
        }
