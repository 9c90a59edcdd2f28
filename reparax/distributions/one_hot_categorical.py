"""OneHotCategorical: one-hot float samples, with Gumbel-softmax relaxations."""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp

from reparax import constraints
from reparax.distributions import _without_replacement
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

    def sample_without_replacement(self, key: jax.Array, k: int) -> jax.Array:
        """k distinct classes per batch element by Gumbel-top-k, in sampled order, as one-hot
        rows: ``batch_shape + (k, K)``. With k above the m classes of positive probability,
        the set is those m, then k − m classes of probability 0 chosen uniformly. Maths:
        ``reparax.distributions._without_replacement``.

        Example:
          >>> import jax, jax.numpy as jnp, reparax as rx
          >>> d = rx.OneHotCategorical(jnp.zeros((2, 5)))
          >>> d.sample_without_replacement(jax.random.key(0), 3).shape
          (2, 3, 5)
        """
        _without_replacement.check_set_size(k, self.num_classes)
        index = _without_replacement.gumbel_top_k(key, self._logits(), k)
        return jax.nn.one_hot(index, self.num_classes, dtype=self.dtype)

    def inclusion_probabilities(self, k: int) -> jax.Array:
        """P(class i is among the k drawn by ``sample_without_replacement``), exact (sum of
        p^D(S) over the C(K, k) sets S ∋ i), ``batch_shape + (K,)``; each row sums to k.
        With m < k classes of positive probability, those have 1 and each class of
        probability 0 has (k − m)/(K − m)."""
        return _without_replacement.inclusion_probabilities(self._logits(), k)
