"""Gumbel-max machinery shared by Categorical (integer samples) and OneHotCategorical
(one-hot samples): z = θ + G with G ~ Gumbel(0, 1)^K, the sample is argmax z."""

from __future__ import annotations

from typing import Any, ClassVar

import jax
import jax.numpy as jnp

from reparax import constraints
from reparax.distributions._base import Parameter, Shape
from reparax.distributions._finite import FiniteDistribution
from reparax.distributions._probabilities import categorical_logits, logits_from

#: What Categorical and OneHotCategorical declare: the parameters the fast check covers.
_LOGITS_ONLY = (Parameter("logits", constraints.categorical_logits, 1, "float"),)


class CategoricalBase(FiniteDistribution):
    """Shared Gumbel-max machinery; subclasses declare ``logits`` (event_ndims=1) and the
    transform (argmax index or one-hot row)."""

    logits: jax.Array
    #: ``logits`` in [−inf, inf) per class; ``probs`` on the simplex.
    _probs_constraint: ClassVar[constraints.Constraint] = constraints.simplex

    def __init__(self, logits: Any = None, *, probs: Any = None) -> None:
        """Args:
        logits: unnormalized log-probabilities, shape ``batch_shape + (K,)``; −inf marks a
          class of probability 0.
        probs: instead of ``logits``: probabilities on the simplex (last axis), stored as
          their logarithms.
        """
        family = type(self).__name__
        chosen = logits_from(
            family,
            logits,
            probs,
            probs_constraint=self._probs_constraint,
            to_logits=categorical_logits,
        )
        object.__setattr__(self, "logits", chosen)
        self._initialize()

    @classmethod
    def from_probs(cls, probs: Any) -> Any:
        """The distribution with class probabilities ``probs`` (last axis, on the simplex)."""
        return cls(probs=probs)

    @property
    def num_classes(self) -> int:
        return int(jnp.shape(self.logits)[-1])

    def checked(self, *, report: bool = True) -> Any:
        """As :meth:`Distribution.checked`, with ``report=False`` (the estimators' call) in one
        row reduction: r = max over the row with +inf read as NaN, and r − r is 0 exactly
        for a valid row and NaN for one holding NaN or +inf or only −inf entries (the
        ``categorical_logits`` constraint), added to the row under ``stop_gradient``.

        The generic form's two row reductions and per-element select were fused by XLA into
        every loop that reads the logits: 9–15% of a 20×10 categorical gradient (ARM,
        straight-through); the added row term costs one subtraction and one addition there.
        A subclass that declares other parameters or relations gets the generic check, so
        that its own parameters are poisoned too.
        """
        family = type(self)
        only_logits = (
            family._declared == _LOGITS_ONLY and family._relations is CategoricalBase._relations
        )
        if (
            report
            or not only_logits
            or not jnp.issubdtype(jnp.result_type(self.logits), jnp.inexact)
        ):
            return super().checked(report=report)
        logits = jnp.asarray(self.logits)
        top = jnp.max(jnp.where(logits == jnp.inf, jnp.nan, logits), axis=-1, keepdims=True)
        return self.replace(logits=logits + jax.lax.stop_gradient(top - top))

    def _logits(self) -> jax.Array:
        return jnp.broadcast_to(self.logits, self.batch_shape + (self.num_classes,))

    def noise(self, key: jax.Array, sample_shape: Shape = ()) -> jax.Array:
        shape = tuple(sample_shape) + self.batch_shape + (self.num_classes,)
        return jax.random.gumbel(key, shape, self.dtype)

    def perturbed(self, noise: jax.Array) -> jax.Array:
        return jnp.broadcast_to(self.logits, noise.shape) + noise

    def dirichlet_noise(self, noise: jax.Array) -> jax.Array:
        """log π with π_k = E_k / Σ_j E_j, E_k = exp(−G_k) ~ Exp(1): π ~ Dirichlet(1_K) and
        argmax_k(θ_k − log π_k) = argmax_k(θ_k + G_k) (the augmentation of ARS/ARSM)."""
        return -noise - jax.nn.logsumexp(-noise, axis=-1, keepdims=True)

    def uniform_noise(self, noise: jax.Array) -> tuple[jax.Array, jax.Array]:
        """(log u, log(1 − u)) for K − 1 independent uniforms per element, u = exp(−exp(−G))
        (the Gumbel CDF of the first K − 1 noise coordinates), ``batch + (K − 1,)``."""
        neg_log_u = jnp.exp(-noise[..., :-1])
        return -neg_log_u, jnp.log(-jnp.expm1(-neg_log_u))

    def class_log_probs(self) -> jax.Array:
        return jax.nn.log_softmax(self._logits(), axis=-1)

    def probs(self) -> jax.Array:
        return jax.nn.softmax(self._logits(), axis=-1)

    def entropy(self) -> jax.Array:
        log_probs = self.class_log_probs()
        return -jnp.sum(jnp.exp(log_probs) * log_probs, axis=-1)


def gumbel_conditional_perturbed(logits: jax.Array, key: jax.Array, hard: jax.Array) -> jax.Array:
    """Perturbed logits z = θ + G drawn from p(z | argmax z = hard), differentiable in θ.

    Top-down construction (Maddison et al. 2014; Tucker et al. 2017, App. C): the maximum is
    T = logsumexp(θ) + Gumbel, and every other coordinate is a Gumbel(θ_k) truncated below T,
    −log(exp(−T) + exp(−(θ_k + G'_k))), computed with ``logaddexp`` for stability.
    """
    key_max, key_rest = jax.random.split(key)
    top = jax.nn.logsumexp(logits, axis=-1, keepdims=True)
    top = top + jax.random.gumbel(key_max, top.shape, logits.dtype)
    others = logits + jax.random.gumbel(key_rest, logits.shape, logits.dtype)
    truncated = -jnp.logaddexp(-top, -others)
    return jnp.where(hard > 0.5, jnp.broadcast_to(top, logits.shape), truncated)
