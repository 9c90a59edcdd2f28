"""distrax distributions as native reparax families.

distrax computes ``logits`` from ``probs`` (and the reverse) on access, and normalizes a
categorical's logits; ``Beta`` is ``Beta(alpha, beta)``; ``LogStddevNormal(loc, log_scale)``
is a Normal with scale exp(log_scale); ``MultivariateNormalDiag`` and the lower
``MultivariateNormalTri`` are ``MultivariateNormalTriL`` with a diagonal or the given factor.
An upper-triangular ``MultivariateNormalTri`` and everything else are wrapped.
"""

from __future__ import annotations

from typing import Any

import jax.numpy as jnp

from reparax import distributions as rd
from reparax.adapters._convert import Converter, convert_with
from reparax.distributions._base import Distribution


def _loc_scale(family: Any) -> Converter:
    return lambda d: family(loc=d.loc, scale=d.scale)


def _mvn_tri(d: Any) -> Distribution | None:
    if not d.is_lower:
        return None
    return rd.MultivariateNormalTriL(loc=d.loc, scale_tril=d.scale_tri)


def _mvn_diag(d: Any) -> Distribution:
    scale_diag = jnp.asarray(d.scale_diag)
    eye = jnp.eye(scale_diag.shape[-1], dtype=scale_diag.dtype)
    return rd.MultivariateNormalTriL(loc=d.loc, scale_tril=scale_diag[..., None] * eye)


CONVERTERS: dict[str, Converter] = {
    "Normal": _loc_scale(rd.Normal),
    "LogStddevNormal": lambda d: rd.Normal(loc=d.loc, scale=jnp.exp(d.log_scale)),
    "Laplace": _loc_scale(rd.Laplace),
    "Logistic": _loc_scale(rd.Logistic),
    "Gumbel": _loc_scale(rd.Gumbel),
    "MultivariateNormalTri": _mvn_tri,
    "MultivariateNormalDiag": _mvn_diag,
    "Gamma": lambda d: rd.Gamma(concentration=d.concentration, rate=d.rate),
    "Beta": lambda d: rd.Beta(concentration1=d.alpha, concentration0=d.beta),
    "Dirichlet": lambda d: rd.Dirichlet(concentration=d.concentration),
    "VonMises": lambda d: rd.VonMises(loc=d.loc, concentration=d.concentration),
    "Uniform": lambda d: rd.Uniform(low=d.low, high=d.high),
    "Bernoulli": lambda d: rd.Bernoulli(logits=d.logits),
    "Categorical": lambda d: rd.Categorical(logits=d.logits),
    "OneHotCategorical": lambda d: rd.OneHotCategorical(logits=d.logits),
}


def from_distrax(dist: Any) -> Distribution:
    """A distrax distribution as a reparax distribution.

    The families reparax has (Normal, LogStddevNormal, MultivariateNormalDiag,
    MultivariateNormalTri with a lower factor, Bernoulli, Categorical, OneHotCategorical,
    Gamma, Beta, Dirichlet, Laplace, Logistic, Gumbel, Uniform, VonMises) become native
    reparax distributions from the same parameter arrays; other distrax distributions are
    wrapped (:func:`reparax.wrap`: score function and RLOO; distrax has no
    reparameterization flag, so pass ``rx.wrap(dist, pathwise="sample")`` yourself when its
    sampling is differentiable).

    Args:
      dist: a ``distrax.Distribution``.

    Returns:
      A reparax distribution with the same batch and event shapes.

    Raises:
      TypeError: ``dist`` is not a distrax distribution (the error names the right adapter).
    """
    return convert_with(dist, "distrax", CONVERTERS, "distrax.")
