"""Categorical over {0, …, K−1}: integer samples."""

from __future__ import annotations

from typing import ClassVar

import jax
import jax.numpy as jnp

from reparax import capabilities, constraints
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
        logits = jnp.broadcast_to(self.logits, jnp.shape(value) + (self.num_classes,))
        log_probs = jax.nn.log_softmax(logits, axis=-1)
        return jnp.take_along_axis(log_probs, value[..., None].astype(jnp.int32), axis=-1)[..., 0]

    def enumerate_support(self) -> jax.Array:
        return jnp.arange(self.num_classes, dtype=jnp.int32)

    def mean(self) -> jax.Array:
        return jnp.sum(self.probs() * jnp.arange(self.num_classes, dtype=self.dtype), axis=-1)
