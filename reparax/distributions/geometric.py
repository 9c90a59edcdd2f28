"""The Geometric distribution (failures before the first success), by logits (or probs)."""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp

from reparax import constraints
from reparax.distributions._base import Distribution, Shape, distribution, param
from reparax.distributions._probabilities import binary_logits, logits_from
from reparax.distributions._weak_derivative import WeakDerivative, reshaper, rows_replacing


@distribution
class Geometric(Distribution):
    """Geometric(logits θ): failures before the first success, success probability p = σ(θ),
    P(k) = (1 − p)^k p. Weak derivative: ∂p P = (1/p)(Geom(p) − (1 + Geom + Geom)), so
    ∂θ E[f] = (1 − p)(E f(G₁) − E f(1 + G₁ + G₂)), coupled through G₁.

    Args:
      logits: θ, finite.
      probs: instead of ``logits`` (keyword): p in (0, 1).
    """

    logits: jax.Array = param(constraints.real)

    def __init__(self, logits: Any = None, *, probs: Any = None) -> None:
        chosen = logits_from(
            "Geometric",
            logits,
            probs,
            probs_constraint=constraints.open_unit_interval,
            to_logits=binary_logits,
        )
        object.__setattr__(self, "logits", chosen)
        self._initialize()

    def _failures(self, key: jax.Array, shape: Shape) -> jax.Array:
        # ⌊log U / log(1 − p)⌋ with log(1 − p) = log σ(−θ): exact in log space.
        logits = jax.lax.stop_gradient(jnp.broadcast_to(self.logits, shape))
        u = jax.random.uniform(key, shape, self.dtype, minval=jnp.finfo(self.dtype).tiny)
        return jnp.floor(jnp.log(u) / jax.nn.log_sigmoid(-logits))

    def sample(self, key: jax.Array, sample_shape: Shape = ()) -> jax.Array:
        return self._failures(key, tuple(sample_shape) + self.batch_shape)

    def log_prob(self, value: jax.Array) -> jax.Array:
        (logits,) = self._params_like(value)
        return value * jax.nn.log_sigmoid(-logits) + jax.nn.log_sigmoid(logits)

    def mean(self) -> jax.Array:
        return jnp.exp(-self._broadcast(self.logits))  # (1 − p)/p

    def variance(self) -> jax.Array:
        logits = self._broadcast(self.logits)
        return jnp.exp(-logits) / jax.nn.sigmoid(logits)  # (1 − p)/p²

    def entropy(self) -> jax.Array:
        """(−(1 − p) log(1 − p) − p log p)/p, in the logits."""
        logits = self._broadcast(self.logits)
        return -jnp.exp(-logits) * jax.nn.log_sigmoid(-logits) - jax.nn.log_sigmoid(logits)

    def weak_derivative(
        self, key: jax.Array, sample: jax.Array, coupled: bool = True
    ) -> dict[str, WeakDerivative]:
        shape = self.batch_shape
        logits = jnp.ravel(self._broadcast(self.logits))
        k1, k2, k3 = jax.random.split(key, 3)
        g1 = self._failures(k1, logits.shape)
        g2 = self._failures(k2, logits.shape)
        first = g1 if coupled else self._failures(k3, logits.shape)
        rows = rows_replacing(sample, shape)
        return {
            "logits": WeakDerivative(
                jax.nn.sigmoid(-logits), rows(g1), rows(1.0 + first + g2), reshaper(shape), shape
            )
        }
