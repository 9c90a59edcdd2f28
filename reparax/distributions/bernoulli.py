"""Independent Bernoulli bits, parameterized by logits (log-space throughout)."""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp

from reparax import constraints
from reparax.distributions._base import Shape, distribution, param
from reparax.distributions._finite import FiniteDistribution, other_classes
from reparax.distributions._probabilities import binary_logits, logits_from
from reparax.distributions._weak_derivative import WeakDerivative


@distribution
class Bernoulli(FiniteDistribution):
    """Bernoulli(logits): b = 1[θ + ℓ > 0] with logistic noise ℓ = log u − log(1 − u).

    ``f`` receives floats in {0, 1} of shape ``batch_shape`` (a Bernoulli of shape (200,) is
    200 independent bits); relaxations hand it points of (0, 1).

    Args:
      logits: θ = log p − log(1 − p), any shape; ±inf mean probability exactly 1 or 0.
      probs: instead of ``logits`` (keyword): P(b = 1) in [0, 1], stored as logits.
    """

    logits: jax.Array = param(constraints.extended_real)

    def __init__(self, logits: Any = None, *, probs: Any = None) -> None:
        chosen = logits_from(
            "Bernoulli",
            logits,
            probs,
            probs_constraint=constraints.unit_interval,
            to_logits=binary_logits,
        )
        object.__setattr__(self, "logits", chosen)
        self._initialize()

    @classmethod
    def from_probs(cls, probs: Any) -> Bernoulli:
        """Bernoulli with P(b = 1) = ``probs`` (validated, converted to logits in log space)."""
        return cls(probs=probs)

    @property
    def num_classes(self) -> int:
        return 2

    def checked(self, *, report: bool = True) -> Bernoulli:
        """As :meth:`Distribution.checked`; with ``report=False`` (the estimators' call) the
        distribution itself, since poisoning would change nothing.

        The logits' only invalid value is NaN (±inf are probabilities 0 and 1), and a NaN
        logit is already NaN in value and gradient everywhere it is used. Poisoning would
        recompute ``θ + where(θ ≠ θ, nan, 0)`` inside every fused loop that reads θ, which
        XLA duplicates per output element: on a 200-bit IndeCateR, 12% of the whole gradient.
        A subclass that declares other parameters or relations (a ``scale``) gets the
        generic check, so that its own parameters are poisoned too.
        """
        family = type(self)
        if report or not (
            family._declared == Bernoulli._declared and family._relations is Bernoulli._relations
        ):
            return super().checked(report=report)
        return self

    def _logits_like(self, value: jax.Array) -> jax.Array:
        return jnp.broadcast_to(self.logits, jnp.shape(value))

    # -- sampling and densities ----------------------------------------------------------
    def threshold_logits(self, noise: jax.Array) -> jax.Array:
        """θ broadcast to ``noise``'s shape: b = 1[θ + ℓ > 0] (``LogisticBits``)."""
        return self._logits_like(noise)

    def noise(self, key: jax.Array, sample_shape: Shape = ()) -> jax.Array:
        return jax.random.logistic(key, tuple(sample_shape) + self.batch_shape, self.dtype)

    def perturbed(self, noise: jax.Array) -> jax.Array:
        return self._logits_like(noise) + noise

    def transform(self, noise: jax.Array) -> jax.Array:
        return (self.perturbed(noise) > 0).astype(self.dtype)

    def relax(self, perturbed: jax.Array, temperature: Any) -> jax.Array:
        return jax.nn.sigmoid(perturbed / temperature)

    def relaxed_transform(self, noise: jax.Array, temperature: Any) -> jax.Array:
        """Binary Concrete: σ((θ + ℓ)/τ) (Maddison et al. 2017; Jang et al. 2017)."""
        return self.relax(self.perturbed(noise), temperature)

    def to_one_hot(self, sample: jax.Array) -> jax.Array:
        """Bits (or relaxed bits in (0, 1)) as rows over the classes (0, 1): ``(1 − b, b)``,
        shape ``sample.shape + (2,)``."""
        return jnp.stack([1.0 - sample, sample], axis=-1)

    def from_one_hot(self, one_hot: jax.Array) -> jax.Array:
        """The value ``f`` receives from a (relaxed) row over (0, 1): its class-1 coordinate."""
        return one_hot[..., 1]

    def dirichlet_noise(self, noise: jax.Array) -> jax.Array:
        """log π for π = (σ(ℓ), σ(−ℓ)) ~ Dirichlet(1, 1) over the classes (0, 1): the sample is
        argmax_k(log p_k − log π_k), and swapping π₀ ↔ π₁ is ℓ → −ℓ, ARM's antithetic pair."""
        return jnp.stack([jax.nn.log_sigmoid(noise), jax.nn.log_sigmoid(-noise)], axis=-1)

    def uniform_noise(self, noise: jax.Array) -> tuple[jax.Array, jax.Array]:
        """(log u, log(1 − u)) of the uniform behind each bit, shape ``batch + (1,)`` (the
        K − 1 = 1 uniform of the stick-breaking coupling, which visits the less likely class
        first). u = σ(ℓ), or σ(−ℓ) where class 1 is the less likely, so that the coupling's
        first draw is ``transform(noise)`` in every bit and ``disarm`` is DisARM's own pair
        b₁ = 1[θ + ℓ > 0], b₂ = 1[θ − ℓ > 0] (Dong, Mnih & Tucker 2020)."""
        logits = self._logits_like(noise)
        one_first = jax.nn.log_sigmoid(logits) < jax.nn.log_sigmoid(-logits)
        oriented = jnp.where(one_first, -noise, noise)
        return jax.nn.log_sigmoid(oriented)[..., None], jax.nn.log_sigmoid(-oriented)[..., None]

    def conditional_perturbed(self, key: jax.Array, hard: jax.Array) -> jax.Array:
        """z̃ = θ + ℓ̃ with ℓ̃ ~ p(ℓ | b), differentiable in θ (REBAR's conditional noise).

        With v ~ U(0, 1), p = σ(θ), q = σ(−θ) and u = σ(ℓ̃): given b = 0, u = vq is uniform
        below q, and z̃ = θ + logit(u) = log v + log p − log(1 − vq); given b = 1, 1 − u = vp
        is uniform below p, and z̃ = −(log v + log q − log(1 − vp)), the mirror image. One
        log and one log1p per element (θ's own terms are per parameter, shared by every
        sample), and exact at |θ| = 50 in float32: log p and log q are log-sigmoids, and
        1 − vq, 1 − vp ≥ 1 − v ≥ 2⁻²³. A logit of ±inf gives z̃ = ±inf, as b does.
        """
        logits = self._logits_like(hard)
        v = jax.random.uniform(
            key, jnp.shape(hard), self.dtype, minval=jnp.finfo(self.dtype).tiny, maxval=1.0
        )
        one = hard > 0.5
        # b = 0 reads (log p, q); b = 1 reads (log q, p) and flips the sign
        log_own = jnp.where(one, jax.nn.log_sigmoid(-logits), jax.nn.log_sigmoid(logits))
        other = jnp.where(one, jax.nn.sigmoid(logits), jax.nn.sigmoid(-logits))
        magnitude = jnp.log(v) + log_own - jnp.log1p(-v * other)
        return jnp.where(one, -magnitude, magnitude)

    def log_prob(self, value: jax.Array) -> jax.Array:
        logits = self._logits_like(value)
        # Written so that logits of ±inf (probabilities exactly 0 or 1) never form 0 · inf.
        one = jnp.where(value == 0.0, 0.0, value * jax.nn.softplus(-logits))
        zero = jnp.where(value == 1.0, 0.0, (1.0 - value) * jax.nn.softplus(logits))
        return -one - zero

    # -- finite support ------------------------------------------------------------------
    def enumerate_support(self) -> jax.Array:
        return jnp.array([0.0, 1.0], self.dtype)

    def class_log_probs(self) -> jax.Array:
        logits = jnp.broadcast_to(self.logits, self.batch_shape)
        return jnp.stack([jax.nn.log_sigmoid(-logits), jax.nn.log_sigmoid(logits)], axis=-1)

    def weak_derivative(
        self, key: jax.Array, sample: jax.Array, coupled: bool = True
    ) -> dict[str, WeakDerivative]:
        """∂/∂θ_d E[f] = σ'(θ_d) (f(z with bit d = 1) − f(z with bit d = 0)).

        One of the two rows is z itself, so the difference is (1 − 2z_d)(f(z with bit d
        flipped) − f(z)): c = σ'(θ_d)(1 − 2z_d), p⁺ = the flipped rows and p⁻ = the sample
        (``minus=None``): D + 1 f-evaluations per sample instead of 1 + 2D, the same estimate.
        """
        del key, coupled
        logits = jnp.broadcast_to(self.logits, self.batch_shape)
        slope = jnp.exp(jax.nn.log_sigmoid(logits) + jax.nn.log_sigmoid(-logits))
        flips, _ = other_classes(self, sample)  # (D, 1, *batch): the other class is the flip
        shape = self.batch_shape
        return {
            "logits": WeakDerivative(
                (slope * (1.0 - 2.0 * sample)).reshape(-1),
                flips[:, 0],
                None,
                lambda g: g.reshape(shape),
                shape,
            )
        }

    # -- moments -------------------------------------------------------------------------
    def probs(self) -> jax.Array:
        return jax.nn.sigmoid(jnp.broadcast_to(self.logits, self.batch_shape))

    def mean(self) -> jax.Array:
        return self.probs()

    def variance(self) -> jax.Array:
        logits = jnp.broadcast_to(self.logits, self.batch_shape)
        return jnp.exp(jax.nn.log_sigmoid(logits) + jax.nn.log_sigmoid(-logits))

    def entropy(self) -> jax.Array:
        logits = jnp.broadcast_to(self.logits, self.batch_shape)
        p = jax.nn.sigmoid(logits)
        return p * jax.nn.softplus(-logits) + (1.0 - p) * jax.nn.softplus(logits)
