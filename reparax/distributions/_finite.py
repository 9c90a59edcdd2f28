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

from reparax.distributions._base import Distribution, WeakDerivative


class FiniteDistribution(Distribution):
    """Base class of factorized distributions with K outcomes per batch element."""

    capability_hints = {}
    rsample = None  # no pathwise gradient
    reparameterized = False  # the argmax/threshold transform has zero derivative

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

    def weak_derivative(self, key, sample, coupled=True):
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


def gumbel_conditional_perturbed(logits: jax.Array, key: jax.Array, hard: jax.Array) -> jax.Array:
    """Perturbed logits z = θ + G drawn from p(z | argmax z = hard), differentiable in θ.

    Top-down construction (Maddison et al. 2014; Tucker et al. 2017, App. C): the maximum is
    T = logsumexp(θ) + Gumbel, and every other coordinate is a Gumbel(θ_k) truncated below T,
    −log(exp(−T) + exp(−(θ_k + G'_k))), computed with ``logaddexp`` for stability.
    """
    key_max, key_rest = jax.random.split(key)
    top = jax.nn.logsumexp(logits, axis=-1, keepdims=True)
    top = top + jax.random.gumbel(key_max, top.shape, logits.dtype)
    others = logits + jax.random.gumbel(key_rest, logits.shape, logits.dtype)
    truncated = -jnp.logaddexp(-top, -others)
    return jnp.where(hard > 0.5, jnp.broadcast_to(top, logits.shape), truncated)
