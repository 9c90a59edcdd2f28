"""Shared machinery of factorized finite families (Bernoulli, Categorical, OneHotCategorical).

Each of the D = prod(batch_shape) elements independently takes one of K values,
``enumerate_support()[k]`` (an event-shaped array), with log-probability
``class_log_probs()[..., k]``. From these two the estimators derive exact enumeration of
the joint support, local (one-element) replacements for IndeCateR, and the weak derivatives
of the measure-valued estimator.
"""

from __future__ import annotations

import math
from typing import Any

import jax
import jax.numpy as jnp

from reparax.distributions._base import Distribution
from reparax.distributions._weak_derivative import WeakDerivative


class FiniteDistribution(Distribution):
    """Base class of factorized distributions with K outcomes per batch element.

    No ``rsample``: the argmax/threshold transform has zero derivative, so these families do
    not satisfy ``Reparameterized`` (pathwise would silently return zero gradients).
    """

    @property
    def num_classes(self) -> int:
        raise NotImplementedError

    def enumerate_support(self) -> jax.Array:
        """The K values one element can take, shape ``(K, *event_shape)``."""
        raise NotImplementedError

    def class_log_probs(self) -> jax.Array:
        """Log-probability of each of the K values for each element, ``batch_shape + (K,)``."""
        raise NotImplementedError

    def support_size(self) -> int:
        """Size of the joint support, K^D (a Python int, possibly huge)."""
        return self.num_classes ** math.prod(self.batch_shape)

    def joint_support(self) -> tuple[jax.Array, jax.Array]:
        """Every joint outcome and its log-probability: ``(M, *sample_shape)``, ``(M,)``."""
        num, k = math.prod(self.batch_shape), self.num_classes
        outcomes = jnp.arange(k**num)
        powers = k ** jnp.arange(num - 1, -1, -1)
        index = (outcomes[:, None] // powers[None, :]) % k  # (M, D): mixed-radix digits
        values = self.enumerate_support()[index]  # (M, D, *event)
        log_probs = self.class_log_probs().reshape(num, k)
        joint = jnp.sum(jnp.take_along_axis(log_probs[None], index[..., None], axis=-1)[..., 0], -1)
        return values.reshape((k**num,) + self.batch_shape + self.event_shape), joint

    def local_replacements(self, sample: jax.Array) -> jax.Array:
        """``rows[d, k]`` = ``sample`` with element d set to value k: ``(D, K, *sample)``."""
        num, k = math.prod(self.batch_shape), self.num_classes
        event = self.event_shape
        flat = sample.reshape((num,) + event)
        support = self.enumerate_support()  # (K, *event)
        eye = jnp.eye(num, dtype=bool).reshape((num, 1, num) + (1,) * len(event))
        rows = jnp.where(eye, support[None, :, None], flat[None, None])  # (D, K, D, *event)
        return rows.reshape((num, k) + self.batch_shape + event)

    def weak_derivative(
        self, key: jax.Array, sample: jax.Array, coupled: bool = True
    ) -> dict[str, WeakDerivative]:
        """Categorical weak derivative in the logits (any K): ∂/∂θ_dj E[f] = p_dj (E[f | z_d = j]
        − E[f]), i.e. c = p_dj, p⁺ = z with element d set to j, p⁻ = the distribution itself
        (the base sample is a draw of it; ``key`` and ``coupled`` are unused). For j = z_d,
        p⁺'s row is the sample itself and the term is exactly 0: only the D·(K − 1) other rows
        are returned, and the pullback puts 0 at each element's own class."""
        del key, coupled
        probs = jnp.exp(self.class_log_probs())
        rows, before = other_classes(self, sample)  # (D, K − 1, *sample)
        shape = probs.shape
        flat_probs = probs.reshape(before.shape[0], -1)
        other_probs = jnp.where(before, flat_probs[:, :-1], flat_probs[:, 1:])

        def pullback(g: jax.Array) -> jax.Array:
            g = g.reshape(before.shape)
            # class k < own: column k of g; class k > own: column k − 1; own class: 0
            lower = jnp.pad(before, ((0, 0), (0, 1)))
            upper = jnp.pad(~before, ((0, 0), (1, 0)))
            padded_low, padded_high = jnp.pad(g, ((0, 0), (0, 1))), jnp.pad(g, ((0, 0), (1, 0)))
            full = jnp.where(lower, padded_low, jnp.where(upper, padded_high, 0.0))
            return full.reshape(shape)

        return {
            "logits": WeakDerivative(
                other_probs.reshape(-1),
                rows.reshape((-1,) + rows.shape[2:]),
                None,
                pullback,
                shape,
            )
        }


def other_classes(dist: Any, sample: jax.Array) -> tuple[jax.Array, jax.Array]:
    """``(rows, before)``: ``rows[d, j]`` is ``sample`` with element d set to the j-th of the
    K − 1 classes other than its own, ``(D, K − 1, *sample)``, the rows of
    ``local_replacements`` that differ from ``sample`` (IndeCateR's and the categorical weak
    derivative's evaluations; ``dist`` needs ``enumerate_support`` only); ``before[d, j]``
    says whether that class comes before the element's own (class j), or after it (j + 1).

    Built directly rather than by selecting from all K rows: the element's class is read by
    comparing it with the K support values (D·K comparisons, not D·K·D), and only the
    D·(K − 1) rows that are evaluated are formed. One-hot products and selections, not
    gathers (batched gathers were miscompiled by XLA CPU under vmap, see ``arm._swapped``).
    """
    support = dist.enumerate_support()  # (K, *event)
    num_classes, event = support.shape[0], support.shape[1:]
    flat = sample.reshape((-1,) + event)  # (D, *event)
    num = flat.shape[0]
    event_axes = tuple(range(2, 2 + len(event)))
    same = jnp.all(flat[:, None] == support[None], axis=event_axes)  # (D, K)
    current = jnp.argmax(same, axis=-1)
    others = jnp.arange(num_classes - 1)
    before = others[None, :] < current[:, None]  # (D, K − 1)
    classes = jnp.arange(num_classes)
    # The replaced values and the sample's own values, (D, K − 1, *event) and (D, *event),
    # as small products of one-hot rows with the support: a dot is one XLA will not fuse
    # into (and so recompute in) every element of the D·(K − 1)·D rows below, which then
    # only select between two arrays read from memory. Recomputing the comparisons and the
    # sample there instead made the whole gradient 1.15–1.5× slower (benchmarks/
    # discrete_speed.py). The products are exact: each sums one support value and zeros.
    replaced = (others[None, :] + (~before))[..., None] == classes[None, None]  # (D, K − 1, K)
    values = support_values(replaced, support)
    own = support_values(current[:, None] == classes[None], support)  # the sample, (D, *event)
    eye = jnp.eye(num, dtype=bool).reshape((num, 1, num) + (1,) * len(event))
    rows = jnp.where(eye, values[:, :, None], own[None, None])  # (D, K − 1, D, *event)
    return rows.reshape((num, num_classes - 1) + sample.shape), before


def support_values(one_hot: jax.Array, support: jax.Array) -> jax.Array:
    """``one_hot @ support`` over the K classes: the support value each one-hot row picks,
    at full precision (no TF32/bfloat16 passes on accelerators, so integers stay exact)."""
    return jnp.tensordot(
        one_hot.astype(support.dtype), support, axes=1, precision=jax.lax.Precision.HIGHEST
    )
