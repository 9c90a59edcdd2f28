"""Categorical (integer samples) and OneHotCategorical (one-hot float samples)."""

from __future__ import annotations

import jax
import jax.numpy as jnp

from reparax.distributions._base import distribution, param
from reparax.distributions._finite import FiniteDistribution, gumbel_conditional_perturbed


def logits_from_probs(probs) -> jax.Array:
    """log p: probabilities of 1e-30 stay finite (−69), zeros become −inf (never sampled)."""
    probs = jnp.asarray(probs, dtype=jnp.result_type(probs, float))
    return jnp.log(probs)


class _CategoricalBase(FiniteDistribution):
    """Shared Gumbel-max machinery: z = θ + G, the sample is argmax z."""

    logits: jax.Array

    @classmethod
    def from_probs(cls, probs):
        """The distribution with class probabilities ``probs`` (last axis; normalized)."""
        return cls(logits_from_probs(probs))

    @property
    def num_classes(self) -> int:
        return jnp.shape(self.logits)[-1]

    def _logits(self):
        return jnp.broadcast_to(self.logits, self.batch_shape + (self.num_classes,))

    def noise(self, key, sample_shape=()):
        shape = tuple(sample_shape) + self.batch_shape + (self.num_classes,)
        return jax.random.gumbel(key, shape, self.dtype)

    def perturbed(self, noise):
        return jnp.broadcast_to(self.logits, noise.shape) + noise

    def dirichlet_noise(self, noise):
        """log π with π_k = E_k / Σ_j E_j, E_k = exp(−G_k) ~ Exp(1): π ~ Dirichlet(1_K) and
        argmax_k(θ_k − log π_k) = argmax_k(θ_k + G_k) (the augmentation of ARS/ARSM)."""
        return -noise - jax.nn.logsumexp(-noise, axis=-1, keepdims=True)

    def uniform_noise(self, noise):
        """(log u, log(1 − u)) for K − 1 independent uniforms per element, u = exp(−exp(−G))
        (the Gumbel CDF of the first K − 1 noise coordinates), ``batch + (K − 1,)``."""
        neg_log_u = jnp.exp(-noise[..., :-1])
        return -neg_log_u, jnp.log(-jnp.expm1(-neg_log_u))

    def class_log_probs(self):
        return jax.nn.log_softmax(self._logits(), axis=-1)

    def probs(self):
        return jax.nn.softmax(self._logits(), axis=-1)

    def entropy(self):
        log_probs = self.class_log_probs()
        return -jnp.sum(jnp.exp(log_probs) * log_probs, axis=-1)


@distribution
class Categorical(_CategoricalBase):
    """Categorical(logits) over {0, …, K−1}: ``f`` receives integer indices, shape
    ``batch_shape``. Relaxations need one-hot samples: use :class:`OneHotCategorical`.

    Args:
      logits: unnormalized log-probabilities, shape ``batch_shape + (K,)``.
    """

    logits: jax.Array = param(event_ndims=1)

    capability_hints = {
        "Relaxable": "Relaxations need one-hot samples: use "
        "rx.OneHotCategorical(logits) instead of Categorical."
    }

    def transform(self, noise):
        return jnp.argmax(self.perturbed(noise), axis=-1).astype(jnp.int32)

    def log_prob(self, value):
        logits = jnp.broadcast_to(self.logits, jnp.shape(value) + (self.num_classes,))
        log_probs = jax.nn.log_softmax(logits, axis=-1)
        return jnp.take_along_axis(log_probs, value[..., None].astype(jnp.int32), axis=-1)[..., 0]

    def enumerate_support(self):
        return jnp.arange(self.num_classes, dtype=jnp.int32)

    def mean(self):
        return jnp.sum(self.probs() * jnp.arange(self.num_classes, dtype=self.dtype), axis=-1)


@distribution
class OneHotCategorical(_CategoricalBase):
    """OneHotCategorical(logits): ``f`` receives one-hot floats of shape
    ``batch_shape + (K,)``; relaxations hand it points of the simplex.

    Args:
      logits: unnormalized log-probabilities, shape ``batch_shape + (K,)``.
    """

    logits: jax.Array = param(event_ndims=1)
    event_ndims = 1

    @property
    def event_shape(self):
        return (self.num_classes,)

    def transform(self, noise):
        index = jnp.argmax(self.perturbed(noise), axis=-1)
        return jax.nn.one_hot(index, self.num_classes, dtype=self.dtype)

    def relax(self, perturbed, temperature):
        return jax.nn.softmax(perturbed / temperature, axis=-1)

    def to_one_hot(self, sample):
        return sample

    def from_one_hot(self, one_hot):
        return one_hot

    def relaxed_transform(self, noise, temperature):
        """Concrete / Gumbel-softmax: softmax((θ + G)/τ) (Jang et al.; Maddison et al. 2017)."""
        return self.relax(self.perturbed(noise), temperature)

    def conditional_perturbed(self, key, hard):
        """θ + G̃ with G̃ ~ p(G | argmax(θ + G) = hard), differentiable in θ."""
        logits = jnp.broadcast_to(self.logits, hard.shape)
        return gumbel_conditional_perturbed(logits, key, hard)

    def log_prob(self, value):
        log_probs = jax.nn.log_softmax(jnp.broadcast_to(self.logits, value.shape), axis=-1)
        return jnp.sum(jnp.where(value > 0.5, log_probs, 0.0), axis=-1)

    def enumerate_support(self):
        return jnp.eye(self.num_classes, dtype=self.dtype)

    def mean(self):
        return self.probs()
