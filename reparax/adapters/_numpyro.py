"""NumPyro distributions as native reparax families.

NumPyro splits families by parameterization into classes (``BernoulliLogits``,
``BernoulliProbs``, ...); each maps onto the reparax family with the matching argument
(``probs`` is converted to logits in log space by reparax). Truncated normals are NumPyro's
``TwoSided``/``Left``/``RightTruncatedDistribution`` over a ``Normal``; ``Chi2(df)`` is
``Gamma(df/2, 1/2)``. Anything else (``Independent``, ``ExpandedDistribution``, ``HalfNormal``,
mixtures, ...) is wrapped.
"""

from __future__ import annotations

from typing import Any

import jax.numpy as jnp

from reparax import distributions as rd
from reparax.adapters._convert import Converter, convert_with, static_count
from reparax.distributions._base import Distribution


def _loc_scale(family: Any) -> Converter:
    return lambda d: family(loc=d.loc, scale=d.scale)


def _binomial(d: Any) -> Distribution | None:
    count = static_count(d.total_count)
    if count is None:
        return None
    # The count array carried batch axes that the static int no longer does.
    shape = tuple(d.batch_shape)
    if type(d).__name__ == "BinomialLogits":
        return rd.Binomial(logits=jnp.broadcast_to(d.logits, shape), total_count=count)
    return rd.Binomial(probs=jnp.broadcast_to(d.probs, shape), total_count=count)


def _truncated(d: Any) -> Distribution | None:
    base = d.base_dist
    if type(base).__name__ != "Normal":
        return None
    low = jnp.asarray(getattr(d, "low", -jnp.inf))
    high = jnp.asarray(getattr(d, "high", jnp.inf))
    return rd.TruncatedNormal(loc=base.loc, scale=base.scale, low=low, high=high)


CONVERTERS: dict[str, Converter] = {
    "Normal": _loc_scale(rd.Normal),
    "Laplace": _loc_scale(rd.Laplace),
    "Logistic": _loc_scale(rd.Logistic),
    "Cauchy": _loc_scale(rd.Cauchy),
    "Gumbel": _loc_scale(rd.Gumbel),
    "LogNormal": _loc_scale(rd.LogNormal),
    "StudentT": lambda d: rd.StudentT(df=d.df, loc=d.loc, scale=d.scale),
    "MultivariateNormal": lambda d: rd.MultivariateNormalTriL(loc=d.loc, scale_tril=d.scale_tril),
    "Gamma": lambda d: rd.Gamma(concentration=d.concentration, rate=d.rate),
    "Chi2": lambda d: rd.Gamma(concentration=d.concentration, rate=d.rate),
    "Exponential": lambda d: rd.Exponential(rate=d.rate),
    "Beta": lambda d: rd.Beta(concentration1=d.concentration1, concentration0=d.concentration0),
    "Kumaraswamy": lambda d: rd.Kumaraswamy(
        concentration1=d.concentration1, concentration0=d.concentration0
    ),
    "Dirichlet": lambda d: rd.Dirichlet(concentration=d.concentration),
    "Weibull": lambda d: rd.Weibull(concentration=d.concentration, scale=d.scale),
    "VonMises": lambda d: rd.VonMises(loc=d.loc, concentration=d.concentration),
    "Uniform": lambda d: rd.Uniform(low=d.low, high=d.high),
    "TwoSidedTruncatedDistribution": _truncated,
    "LeftTruncatedDistribution": _truncated,
    "RightTruncatedDistribution": _truncated,
    "Poisson": lambda d: rd.Poisson(rate=d.rate),
    "BernoulliLogits": lambda d: rd.Bernoulli(logits=d.logits),
    "BernoulliProbs": lambda d: rd.Bernoulli(probs=d.probs),
    "CategoricalLogits": lambda d: rd.Categorical(logits=d.logits),
    "CategoricalProbs": lambda d: rd.Categorical.from_probs(d.probs),
    "GeometricLogits": lambda d: rd.Geometric(logits=d.logits),
    "GeometricProbs": lambda d: rd.Geometric(probs=d.probs),
    "BinomialLogits": _binomial,
    "BinomialProbs": _binomial,
}


def from_numpyro(dist: Any) -> Distribution:
    """A NumPyro distribution as a reparax distribution.

    The families reparax has (Normal, MultivariateNormal, Bernoulli, Categorical, Binomial,
    Geometric, Poisson, Gamma, Chi2, Exponential, Beta, Kumaraswamy, Dirichlet, Laplace,
    Logistic, Cauchy, Gumbel, StudentT, LogNormal, Uniform, VonMises, Weibull,
    TruncatedNormal) become native reparax distributions built from the same parameter
    arrays, so every estimator that supports the family applies and gradients flow back to
    the arrays the NumPyro object was built from. Other NumPyro distributions are wrapped
    with :func:`reparax.wrap` (score function and RLOO; pathwise when ``has_rsample``).

    Args:
      dist: a ``numpyro.distributions.Distribution``.

    Returns:
      A reparax distribution with the same batch and event shapes.

    Raises:
      TypeError: ``dist`` is not a NumPyro distribution (the error names the right adapter).

    Example:
      >>> import jax, jax.numpy as jnp, reparax as rx
      >>> import numpyro.distributions as nd
      >>> def loss(mu, key):
      ...     dist = rx.from_numpyro(nd.Normal(mu, 1.0))
      ...     return rx.expectation(lambda z: jnp.sum(z**2), dist, key, method="pathwise",
      ...                           num_samples=16)
      >>> jax.grad(loss)(jnp.ones(3), jax.random.key(0)).shape
      (3,)
    """
    return convert_with(dist, "numpyro", CONVERTERS, "numpyro.")
