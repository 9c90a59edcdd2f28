"""Count families for the score-function and measure-valued estimators: Poisson,
Binomial and Geometric, with the weak derivatives of Mohamed et al. (2020, Table 1)."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
from jax.scipy.special import gammaln

from reparax.distributions._base import (
    Distribution,
    WeakDerivative,
    distribution,
    param,
    rows_replacing,
    static,
)


class _Count(Distribution):
    rsample = None  # no pathwise gradient
    reparameterized = False  # integer-valued: no pathwise gradient


@distribution
class Poisson(_Count):
    """Poisson(rate λ): ``f`` receives float counts. Weak derivative: ∂λ p(n) = p(n − 1) − p(n),
    i.e. c = 1, p⁺ = 1 + Poisson(λ), p⁻ = Poisson(λ), coupled through one draw."""

    rate: jax.Array = param()

    def _check_values(self, params):
        if "rate" in params and bool(np.any(params["rate"] <= 0)):
            raise ValueError("Poisson: `rate` must be > 0.")

    def sample(self, key, sample_shape=()):
        shape = tuple(sample_shape) + self.batch_shape
        rate = jax.lax.stop_gradient(jnp.broadcast_to(self.rate, shape))
        return jax.random.poisson(key, rate, shape).astype(self.dtype)

    def log_prob(self, value):
        (rate,) = self.params_like(value)
        return value * jnp.log(rate) - rate - gammaln(value + 1.0)

    def mean(self):
        return jnp.broadcast_to(self.rate, self.batch_shape)

    def variance(self):
        return jnp.broadcast_to(self.rate, self.batch_shape)

    def weak_derivative(self, key, sample, coupled=True):
        shape = self.batch_shape
        draw = jnp.ravel(self.sample(key))
        other = draw if coupled else jnp.ravel(self.sample(jax.random.fold_in(key, 1)))
        rows = rows_replacing(sample, shape)
        return {
            "rate": WeakDerivative(
                jnp.ones_like(draw),
                rows(draw + 1.0),
                rows(other),
                lambda g: g.reshape(shape),
                shape,
            )
        }


@distribution
class Binomial(_Count):
    """Binomial(total_count n, logits θ): successes in n trials of probability σ(θ).

    ``total_count`` is a static Python int. Weak derivative in the logits:
    ∂θ p = n σ'(θ) (1 + Bin(n − 1, σ(θ)) − Bin(n − 1, σ(θ))), coupled through one draw.
    """

    logits: jax.Array = param()
    total_count: int = static(1)

    def _check_values(self, params):
        if not isinstance(self.total_count, int) or self.total_count < 1:
            raise ValueError(
                f"Binomial: `total_count` must be an int >= 1, got {self.total_count!r}."
            )

    def _draw(self, key, count, shape):
        probs = jax.lax.stop_gradient(jax.nn.sigmoid(jnp.broadcast_to(self.logits, shape)))
        if count == 0:
            return jnp.zeros(shape, self.dtype)
        return jax.random.binomial(key, float(count), probs, shape).astype(self.dtype)

    def sample(self, key, sample_shape=()):
        return self._draw(key, self.total_count, tuple(sample_shape) + self.batch_shape)

    def log_prob(self, value):
        (logits,) = self.params_like(value)
        n = self.total_count
        log_choose = gammaln(n + 1.0) - gammaln(value + 1.0) - gammaln(n - value + 1.0)
        return log_choose - value * jax.nn.softplus(-logits) - (n - value) * jax.nn.softplus(logits)

    def mean(self):
        return self.total_count * jax.nn.sigmoid(jnp.broadcast_to(self.logits, self.batch_shape))

    def variance(self):
        p = jax.nn.sigmoid(jnp.broadcast_to(self.logits, self.batch_shape))
        return self.total_count * p * (1.0 - p)

    def weak_derivative(self, key, sample, coupled=True):
        shape = self.batch_shape
        logits = jnp.ravel(jnp.broadcast_to(self.logits, shape))
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
                self.total_count * slope,
                rows(draw + 1.0),
                rows(other),
                lambda g: g.reshape(shape),
                shape,
            )
        }


@distribution
class Geometric(_Count):
    """Geometric(logits θ): failures before the first success, success probability p = σ(θ),
    P(k) = (1 − p)^k p. Weak derivative: ∂p P = (1/p)(Geom(p) − (1 + Geom + Geom)), so
    ∂θ E[f] = (1 − p)(E f(G₁) − E f(1 + G₁ + G₂)), coupled through G₁."""

    logits: jax.Array = param()

    def _failures(self, key, shape):
        # ⌊log U / log(1 − p)⌋ with log(1 − p) = log σ(−θ): exact in log space.
        logits = jax.lax.stop_gradient(jnp.broadcast_to(self.logits, shape))
        u = jax.random.uniform(key, shape, self.dtype, minval=jnp.finfo(self.dtype).tiny)
        return jnp.floor(jnp.log(u) / jax.nn.log_sigmoid(-logits))

    def sample(self, key, sample_shape=()):
        return self._failures(key, tuple(sample_shape) + self.batch_shape)

    def log_prob(self, value):
        (logits,) = self.params_like(value)
        return value * jax.nn.log_sigmoid(-logits) + jax.nn.log_sigmoid(logits)

    def mean(self):
        return jnp.exp(-jnp.broadcast_to(self.logits, self.batch_shape))  # (1 − p)/p

    def variance(self):
        logits = jnp.broadcast_to(self.logits, self.batch_shape)
        return jnp.exp(-logits) / jax.nn.sigmoid(logits)  # (1 − p)/p²

    def entropy(self):
        """(−(1 − p) log(1 − p) − p log p)/p, in the logits."""
        logits = jnp.broadcast_to(self.logits, self.batch_shape)
        return -jnp.exp(-logits) * jax.nn.log_sigmoid(-logits) - jax.nn.log_sigmoid(logits)

    def weak_derivative(self, key, sample, coupled=True):
        shape = self.batch_shape
        logits = jnp.ravel(jnp.broadcast_to(self.logits, shape))
        k1, k2, k3 = jax.random.split(key, 3)
        g1 = self._failures(k1, logits.shape)
        g2 = self._failures(k2, logits.shape)
        first = g1 if coupled else self._failures(k3, logits.shape)
        rows = rows_replacing(sample, shape)
        return {
            "logits": WeakDerivative(
                jax.nn.sigmoid(-logits),
                rows(g1),
                rows(1.0 + first + g2),
                lambda g: g.reshape(shape),
                shape,
            )
        }
