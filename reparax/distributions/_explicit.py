"""Explicit reparameterization: z = g_θ(ε) with parameter-free noise ε (Kingma & Welling).

A family mixes in :class:`ExplicitReparameterization` and defines ``noise(key,
sample_shape)`` and a transform ``transform(noise)`` differentiable in the parameters; it then
has ``rsample`` (the ``Reparameterized`` capability: pathwise gradients) and, from the base
class, ``sample``.
"""

from __future__ import annotations

from typing import Any

import jax

from reparax.distributions._base import Distribution, Shape


class ExplicitReparameterization(Distribution):
    """Mixin: ``rsample(key, sample_shape) = transform(noise(key, sample_shape))``."""

    def noise(self, key: jax.Array, sample_shape: Shape = ()) -> jax.Array:
        """Parameter-free noise of shape ``sample_shape + batch_shape + event_shape``."""
        raise NotImplementedError(f"{type(self).__name__} must implement `noise`.")

    def transform(self, noise: jax.Array) -> Any:
        """The sample g_θ(noise), differentiable in the parameters."""
        raise NotImplementedError(f"{type(self).__name__} must implement `transform`.")

    def rsample(self, key: jax.Array, sample_shape: Shape = ()) -> jax.Array:
        """A sample differentiable in the parameters: ``transform(noise(key, sample_shape))``."""
        result: jax.Array = self.transform(self.noise(key, sample_shape))
        return result
