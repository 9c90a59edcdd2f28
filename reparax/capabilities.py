"""Capabilities: the optional methods of a distribution, as ``typing.Protocol`` classes.

Every distribution has the required surface of :class:`reparax.Distribution`
(``batch_shape``, ``event_shape``, ``sample``, ``log_prob``, ``parameters``, ``replace``).
Everything else an estimator needs is a *capability*: a protocol naming the methods it
provides. An estimator declares the capabilities it needs (``Estimator.requires``) and may call
nothing else, which the type checker verifies (each estimator annotates ``dist`` with the
intersection of its capabilities) and a test enforces at run time (each estimator is handed a
distribution that has exactly its declared capabilities and nothing more).

Which estimators a distribution supports follows from which protocols it satisfies
(:func:`has_capability`), never from a table of families.

=========================  ===================================================================
capability                 used by
=========================  ===================================================================
``Reparameterized``        pathwise (explicit transform or implicit from a CDF)
``Moments``                the delta-method control variate (mean and covariance)
``WeakDifferentiable``     measure-valued derivatives
``FiniteClasses``          every discrete estimator: K values per element and their log-probs
``JointSupport``           exact enumeration
``LocalReplacements``      IndeCateR (one element replaced by each of its K values)
``NoiseTransform``         Gumbel-max style draws z = transform(noise), the noise kept
``DirichletNoise``         ARM / ARS (the noise as a Dirichlet(1) augmentation)
``UniformNoise``           DisARM (the uniforms of the stick-breaking coupling)
``Relaxable``              Gumbel-softmax, straight-through and friends
``OneHot``                 ReinMax (samples as one-hot rows over the K classes)
``ConditionalNoise``       Gumbel-Rao, REBAR, RELAX (noise conditioned on the hard sample)
=========================  ===================================================================
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

import jax

if TYPE_CHECKING:
    from reparax.distributions._weak_derivative import WeakDerivative

Shape = tuple[int, ...]


@runtime_checkable
class DistributionLike(Protocol):
    """The required surface every distribution has (see :class:`reparax.Distribution`)."""

    @property
    def batch_shape(self) -> Shape: ...

    @property
    def event_shape(self) -> Shape: ...

    @property
    def dtype(self) -> Any: ...

    def sample(self, key: jax.Array, sample_shape: Shape = ()) -> jax.Array: ...

    def log_prob(self, value: jax.Array) -> jax.Array: ...

    def joint_log_prob(self, value: jax.Array) -> jax.Array: ...

    def parameters(self) -> dict[str, jax.Array]: ...

    def replace(self, **parameters: jax.Array) -> Any: ...


@runtime_checkable
class Reparameterized(DistributionLike, Protocol):
    """Samples differentiable in the parameters: ``rsample(key, sample_shape)``."""

    def rsample(self, key: jax.Array, sample_shape: Shape = ()) -> jax.Array: ...


@runtime_checkable
class HasCDF(DistributionLike, Protocol):
    """A differentiable CDF, F(z; θ) (implicit reparameterization, Figurnov et al. 2018)."""

    def cdf(self, value: jax.Array) -> jax.Array: ...


@runtime_checkable
class Moments(DistributionLike, Protocol):
    """The mean and the variance of each batch element (``batch_shape + event_shape``)."""

    def mean(self) -> jax.Array: ...

    def variance(self) -> jax.Array: ...


@runtime_checkable
class WeakDifferentiable(DistributionLike, Protocol):
    """A weak-derivative decomposition ∂θ p = c (p⁺ − p⁻) per parameter element."""

    def weak_derivative(
        self, key: jax.Array, sample: jax.Array, coupled: bool = True
    ) -> Mapping[str, WeakDerivative]: ...


@runtime_checkable
class FiniteClasses(DistributionLike, Protocol):
    """Each of the D batch elements takes one of K values independently."""

    @property
    def num_classes(self) -> int: ...

    def enumerate_support(self) -> jax.Array: ...

    def class_log_probs(self) -> jax.Array: ...


@runtime_checkable
class JointSupport(DistributionLike, Protocol):
    """The whole joint support, K^D outcomes, with their log-probabilities."""

    def support_size(self) -> int: ...

    def joint_support(self) -> tuple[jax.Array, jax.Array]: ...


@runtime_checkable
class LocalReplacements(FiniteClasses, Protocol):
    """``rows[d, k]``: a sample with element d set to its k-th value."""

    def local_replacements(self, sample: jax.Array) -> jax.Array: ...


@runtime_checkable
class NoiseTransform(DistributionLike, Protocol):
    """Parameter-free noise and the (possibly non-differentiable) map to a sample."""

    def noise(self, key: jax.Array, sample_shape: Shape = ()) -> jax.Array: ...

    def transform(self, noise: jax.Array) -> jax.Array: ...


@runtime_checkable
class DirichletNoise(NoiseTransform, FiniteClasses, Protocol):
    """The noise read as log π, π ~ Dirichlet(1_K), with z = argmax(log p − log π)."""

    def dirichlet_noise(self, noise: jax.Array) -> jax.Array: ...


@runtime_checkable
class UniformNoise(NoiseTransform, FiniteClasses, Protocol):
    """The K − 1 uniforms (log u, log(1 − u)) of the stick-breaking coupling."""

    def uniform_noise(self, noise: jax.Array) -> tuple[jax.Array, jax.Array]: ...


@runtime_checkable
class LogisticBits(UniformNoise, Protocol):
    """Bits b = 1[θ + ℓ > 0] with logistic noise ℓ (``noise``): ``threshold_logits(noise)``
    is θ broadcast to the noise's shape (differentiable in θ). ARM and DisARM read it for
    their closed forms on bits (thresholds, no sort or logarithm of the noise)."""

    def threshold_logits(self, noise: jax.Array) -> jax.Array: ...


@runtime_checkable
class Relaxable(NoiseTransform, Protocol):
    """A continuous relaxation of the sample: ``relaxed_transform(noise, temperature)``,
    and ``mean()`` (the probabilities, for straight-through)."""

    def relaxed_transform(self, noise: jax.Array, temperature: Any) -> jax.Array: ...

    def mean(self) -> jax.Array: ...


@runtime_checkable
class OneHot(FiniteClasses, Protocol):
    """Samples as one-hot rows over the K classes, and back (a relaxed row maps to the
    value ``f`` receives: a bit's probability of 1, or the simplex point itself).
    ``from_one_hot`` of the k-th unit row is ``enumerate_support()[k]``: ARM builds its
    swapped draws that way instead of gathering the support."""

    def to_one_hot(self, sample: jax.Array) -> jax.Array: ...

    def from_one_hot(self, one_hot: jax.Array) -> jax.Array: ...


@runtime_checkable
class ConditionalNoise(Relaxable, Protocol):
    """Perturbed logits z = θ + noise, z̃ ~ p(z | hard sample), and their relaxation."""

    def perturbed(self, noise: jax.Array) -> jax.Array: ...

    def conditional_perturbed(self, key: jax.Array, hard: jax.Array) -> jax.Array: ...

    def relax(self, perturbed: jax.Array, temperature: Any) -> jax.Array: ...


def members(capability: type) -> frozenset[str]:
    """The attribute names a capability protocol provides (its own and its bases')."""
    names: set[str] = set()
    for klass in capability.__mro__:
        if klass in (object, Protocol) or not getattr(klass, "_is_protocol", False):
            continue
        names.update(n for n in vars(klass) if not n.startswith("_"))
    return frozenset(names)


def has_capability(dist: Any, capability: type) -> bool:
    """Whether ``dist`` provides every method of ``capability`` (a protocol above)."""
    return all(
        callable(getattr(dist, name, None)) or _is_property(dist, name)
        for name in members(capability)
    )


def _is_property(dist: Any, name: str) -> bool:
    return isinstance(getattr(type(dist), name, None), property)
