"""Location-scale families: z = loc + scale·ε with ε drawn from a standard law.

A family subclasses :class:`LocationScale`, declares ``loc`` (real) and ``scale``
(positive), and gives the standard law: its noise sampler, log-density and CDF. The
transform, the density p(z) = p_ε((z − loc)/scale)/scale and the CDF follow.
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp

from reparax.distributions._base import Shape
from reparax.distributions._explicit import ExplicitReparameterization

#: The Euler–Mascheroni constant γ (Gumbel's mean, several entropies).
EULER_GAMMA = 0.5772156649015329


class LocationScale(ExplicitReparameterization):
    """z = loc + scale·ε, ε ~ the standard law given by the three ``_standard_*`` methods."""

    loc: jax.Array
    scale: jax.Array

    def _standard_noise(self, key: jax.Array, shape: Shape, dtype: Any) -> jax.Array:
        """Draws of ε, shape ``shape``."""
        raise NotImplementedError

    def _standard_log_prob(self, x: jax.Array) -> jax.Array:
        """log p_ε(x)."""
        raise NotImplementedError

    def _standard_cdf(self, x: jax.Array) -> jax.Array:
        """P(ε ≤ x)."""
        raise NotImplementedError

    def noise(self, key: jax.Array, sample_shape: Shape = ()) -> jax.Array:
        return self._standard_noise(key, tuple(sample_shape) + self.batch_shape, self.dtype)

    def _loc_scale_like(self, value: jax.Array) -> tuple[jax.Array, jax.Array]:
        shape = jnp.shape(value)
        return jnp.broadcast_to(self.loc, shape), jnp.broadcast_to(self.scale, shape)

    def transform(self, noise: jax.Array) -> jax.Array:
        loc, scale = self._loc_scale_like(noise)
        return loc + scale * noise

    def log_prob(self, value: jax.Array) -> jax.Array:
        loc, scale = self._loc_scale_like(value)
        # log σ once per parameter element, not once per sample element.
        log_scale = jnp.broadcast_to(jnp.log(self.scale), jnp.shape(value))
        return self._standard_log_prob((value - loc) / scale) - log_scale

    def cdf(self, value: jax.Array) -> jax.Array:
        loc, scale = self._loc_scale_like(value)
        return self._standard_cdf((value - loc) / scale)
