"""Categorical over {0, …, K−1}: integer samples."""

from __future__ import annotations

from typing import ClassVar

import jax
import jax.numpy as jnp

from reparax import capabilities, constraints
from reparax.distributions import _without_replacement
from reparax.distributions._base import distribution, param
from reparax.distributions._categorical_base import CategoricalBase

_USE_ONE_HOT = (
    "Relaxations need one-hot samples: use rx.OneHotCategorical(logits) instead of Categorical."
)


@distribution
class Categorical(CategoricalBase):
    """Categorical(logits) over {0, …, K−1}: ``f`` receives integer indices, shape
    ``batch_shape``. Relaxations need one-hot samples: use :class:`OneHotCategorical`.

    Args:
      logits: unnormalized log-probabilities, shape ``batch_shape + (K,)``.
      probs: instead of ``logits`` (keyword): probabilities on the simplex.
    """

    logits: jax.Array = param(constraints.categorical_logits, event_ndims=1)

    capability_hints: ClassVar[dict[type | str, str]] = {
        capabilities.Relaxable: _USE_ONE_HOT,
        capabilities.OneHot: _USE_ONE_HOT,
        capabilities.ConditionalNoise: _USE_ONE_HOT,
    }

    def transform(self, noise: jax.Array) -> jax.Array:
        return jnp.argmax(self.perturbed(noise), axis=-1).astype(jnp.int32)

    def log_prob(self, value: jax.Array) -> jax.Array:
        """log P(z = value): −inf for a value that is not a class (negative, ≥ K or not a
        whole number), rather than the log-probability of a wrapped or truncated index."""
        value = jnp.asarray(value)
        logits = jnp.broadcast_to(self.logits, value.shape + (self.num_classes,))
        log_probs = jax.nn.log_softmax(logits, axis=-1)
        index = jnp.clip(value, 0, self.num_classes - 1).astype(jnp.int32)
        picked = jnp.take_along_axis(log_probs, index[..., None], axis=-1)[..., 0]
        return jnp.where(value == index, picked, -jnp.inf)

    def enumerate_support(self) -> jax.Array:
        return jnp.arange(self.num_classes, dtype=jnp.int32)

    def mean(self) -> jax.Array:
        return jnp.sum(self.probs() * jnp.arange(self.num_classes, dtype=self.dtype), axis=-1)

    def sample_without_replacement(self, key: jax.Array, k: int) -> jax.Array:
        """k distinct classes per batch element by Gumbel-top-k, in sampled order (the
        first is a draw of the categorical, the next a draw of the rest, ...): int32
        ``batch_shape + (k,)``. With k above the m classes of positive probability, the set
        is those m, then k − m classes of probability 0 chosen uniformly. Maths:
        ``reparax.distributions._without_replacement``.

        Example:
          >>> import jax, jax.numpy as jnp, reparax as rx
          >>> rx.Categorical(jnp.zeros(5)).sample_without_replacement(jax.random.key(0), 3).shape
          (3,)
        """
        _without_replacement.check_set_size(k, self.num_classes)
        return _without_replacement.gumbel_top_k(key, self._logits(), k)

    def inclusion_probabilities(self, k: int) -> jax.Array:
        """P(class i is among the k drawn by ``sample_without_replacement``), exact (sum of
        p^D(S) over the C(K, k) sets S ∋ i), ``batch_shape + (K,)``; each row sums to k.
        With m < k classes of positive probability, those have 1 and each class of
        probability 0 has (k − m)/(K − m)."""
        return _without_replacement.inclusion_probabilities(self._logits(), k)
