"""OneHotCategorical: one-hot float samples, with Gumbel-softmax relaxations."""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp

from reparax import constraints
from reparax.distributions._base import Shape, distribution, param
from reparax.distributions._categorical_base import CategoricalBase, gumbel_conditional_perturbed


@distribution
class OneHotCategorical(CategoricalBase):
    """OneHotCategorical(logits): ``f`` receives one-hot floats of shape
    ``batch_shape + (K,)``; relaxations hand it points of the simplex.

    Args:
      logits: unnormalized log-probabilities, shape ``batch_shape + (K,)``.
      probs: instead of ``logits`` (keyword): probabilities on the simplex.
    """

    logits: jax.Array = param(constraints.categorical_logits, event_ndims=1)

    @property
    def event_shape(self) -> Shape:
        return (self.num_classes,)

    def transform(self, noise: jax.Array) -> jax.Array:
        index = jnp.argmax(self.perturbed(noise), axis=-1)
        return jax.nn.one_hot(index, self.num_classes, dtype=self.dtype)

    def relax(self, perturbed: jax.Array, temperature: Any) -> jax.Array:
        return jax.nn.softmax(perturbed / temperature, axis=-1)

    def relaxed_transform(self, noise: jax.Array, temperature: Any) -> jax.Array:
        """Concrete / Gumbel-softmax: softmax((θ + G)/τ) (Jang et al.; Maddison et al. 2017)."""
        return self.relax(self.perturbed(noise), temperature)

    def to_one_hot(self, sample: jax.Array) -> jax.Array:
        """Samples already are one-hot rows (relaxed ones: simplex points): the identity."""
        return sample

    def from_one_hot(self, one_hot: jax.Array) -> jax.Array:
        """The value ``f`` receives from a (relaxed) row: the row itself."""
        return one_hot

    def conditional_perturbed(self, key: jax.Array, hard: jax.Array) -> jax.Array:
        """θ + G̃ with G̃ ~ p(G | argmax(θ + G) = hard), differentiable in θ."""
        logits = jnp.broadcast_to(self.logits, hard.shape)
        return gumbel_conditional_perturbed(logits, key, hard)

    def log_prob(self, value: jax.Array) -> jax.Array:
        log_probs = jax.nn.log_softmax(jnp.broadcast_to(self.logits, value.shape), axis=-1)
        return jnp.sum(jnp.where(value > 0.5, log_probs, 0.0), axis=-1)

    def enumerate_support(self) -> jax.Array:
        return jnp.eye(self.num_classes, dtype=self.dtype)

    def mean(self) -> jax.Array:
        return self.probs()
