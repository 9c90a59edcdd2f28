"""The Binomial distribution, parameterized by logits (or probs)."""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
from jax.scipy.special import gammaln

from reparax import constraints
from reparax.distributions._base import Distribution, Shape, distribution, param, static
from reparax.distributions._probabilities import binary_logits, logits_from
from reparax.distributions._weak_derivative import WeakDerivative, reshaper, rows_replacing


@distribution
class Binomial(Distribution):
    """Binomial(total_count n, logits θ): successes in n trials of probability σ(θ).

    ``total_count`` is a static Python int. Weak derivative in the logits:
    ∂θ p = n σ'(θ) (1 + Bin(n − 1, σ(θ)) − Bin(n − 1, σ(θ))), coupled through one draw.

    Args:
      logits: θ, finite.
      total_count: n, a Python int >= 1.
      probs: instead of ``logits`` (keyword): σ(θ) in (0, 1).
    """

    logits: jax.Array = param(constraints.real)
    total_count: int = static(1)

    def __init__(self, logits: Any = None, total_count: int = 1, *, probs: Any = None) -> None:
        if isinstance(total_count, bool) or not isinstance(total_count, int) or total_count < 1:
            raise ValueError(f"Binomial: `total_count` must be an int >= 1, got {total_count!r}.")
        chosen = logits_from(
            "Binomial",
            logits,
            probs,
            probs_constraint=constraints.open_unit_interval,
            to_logits=binary_logits,
        )
        object.__setattr__(self, "logits", chosen)
        object.__setattr__(self, "total_count", total_count)
        self._initialize()

    def _draw(self, key: jax.Array, count: int, shape: Shape) -> jax.Array:
        probs = jax.lax.stop_gradient(jax.nn.sigmoid(jnp.broadcast_to(self.logits, shape)))
        if count == 0:
            return jnp.zeros(shape, self.dtype)
        return jax.random.binomial(key, float(count), probs, shape).astype(self.dtype)

    def sample(self, key: jax.Array, sample_shape: Shape = ()) -> jax.Array:
        return self._draw(key, self.total_count, tuple(sample_shape) + self.batch_shape)

    def log_prob(self, value: jax.Array) -> jax.Array:
        (logits,) = self._params_like(value)
        n = self.total_count
        log_choose = gammaln(n + 1.0) - gammaln(value + 1.0) - gammaln(n - value + 1.0)
        return log_choose - value * jax.nn.softplus(-logits) - (n - value) * jax.nn.softplus(logits)

    def mean(self) -> jax.Array:
        return self.total_count * jax.nn.sigmoid(self._broadcast(self.logits))

    def variance(self) -> jax.Array:
        p = jax.nn.sigmoid(self._broadcast(self.logits))
        return self.total_count * p * (1.0 - p)

    def weak_derivative(
        self, key: jax.Array, sample: jax.Array, coupled: bool = True
    ) -> dict[str, WeakDerivative]:
        shape = self.batch_shape
        logits = jnp.ravel(self._broadcast(self.logits))
        draw = jnp.ravel(self._draw(key, self.total_count - 1, shape))
        other = (
            draw
            if coupled
            else jnp.ravel(self._draw(jax.random.fold_in(key, 1), self.total_count - 1, shape))
        )
        slope = jnp.exp(jax.nn.log_sigmoid(logits) + jax.nn.log_sigmoid(-logits))
        rows = rows_replacing(sample, shape)
        return {
            "logits": WeakDerivative(
                self.total_count * slope, rows(draw + 1.0), rows(other), reshaper(shape), shape
            )
        }
