"""TensorFlow Probability (JAX substrate) distributions as native reparax families.

TFP keeps the constructor's arguments in ``dist.parameters`` (exactly what the user passed,
so gradients flow back to it); a parameter may be given in one of two forms (``logits`` or
``probs``; ``rate`` or ``log_rate``), the other being ``None``. Only the JAX substrate
(``tensorflow_probability.substrates.jax``) is accepted: the TensorFlow and NumPy substrates
do not produce JAX arrays.
"""

from __future__ import annotations

from typing import Any

import jax.numpy as jnp

from reparax import distributions as rd
from reparax.adapters._convert import Converter, convert_with, static_count
from reparax.distributions._base import Distribution


def _params(d: Any) -> dict[str, Any]:
    return dict(d.parameters)


def _loc_scale(family: Any) -> Converter:
    return lambda d: family(loc=_params(d)["loc"], scale=_params(d)["scale"])


def _logits_or_probs(family: Any, **static: Any) -> Converter:
    def convert(d: Any) -> Distribution:
        p = _params(d)
        if p.get("logits") is not None:
            return family(logits=p["logits"], **static)
        return family(probs=p["probs"], **static)

    return convert


def _rate(p: dict[str, Any]) -> Any:
    return p["rate"] if p.get("rate") is not None else jnp.exp(p["log_rate"])


def _binomial(d: Any) -> Distribution | None:
    count = static_count(_params(d)["total_count"])
    if count is None:
        return None
    # The count array carried batch axes that the static int no longer does.
    shape = tuple(d.batch_shape)
    p = _params(d)
    if p.get("logits") is not None:
        return rd.Binomial(logits=jnp.broadcast_to(p["logits"], shape), total_count=count)
    return rd.Binomial(probs=jnp.broadcast_to(p["probs"], shape), total_count=count)


def _mvn_tril(d: Any) -> Distribution:
    p = _params(d)
    scale_tril = p["scale_tril"]
    loc = p["loc"] if p.get("loc") is not None else jnp.zeros(jnp.shape(scale_tril)[-1:])
    return rd.MultivariateNormalTriL(loc=loc, scale_tril=scale_tril)


def _gamma(d: Any) -> Distribution:
    p = _params(d)
    return rd.Gamma(concentration=p["concentration"], rate=_rate(p))


def _exponential(d: Any) -> Distribution:
    return rd.Exponential(rate=_rate(_params(d)))


CONVERTERS: dict[str, Converter] = {
    "Normal": _loc_scale(rd.Normal),
    "Laplace": _loc_scale(rd.Laplace),
    "Logistic": _loc_scale(rd.Logistic),
    "Cauchy": _loc_scale(rd.Cauchy),
    "Gumbel": _loc_scale(rd.Gumbel),
    "LogNormal": _loc_scale(rd.LogNormal),
    "StudentT": lambda d: rd.StudentT(**{k: _params(d)[k] for k in ("df", "loc", "scale")}),
    "MultivariateNormalTriL": _mvn_tril,
    "Gamma": _gamma,
    "Exponential": _exponential,
    "Beta": lambda d: rd.Beta(
        concentration1=_params(d)["concentration1"], concentration0=_params(d)["concentration0"]
    ),
    "Kumaraswamy": lambda d: rd.Kumaraswamy(
        concentration1=_params(d)["concentration1"], concentration0=_params(d)["concentration0"]
    ),
    "Dirichlet": lambda d: rd.Dirichlet(concentration=_params(d)["concentration"]),
    "Weibull": lambda d: rd.Weibull(
        concentration=_params(d)["concentration"], scale=_params(d)["scale"]
    ),
    "VonMises": lambda d: rd.VonMises(
        loc=_params(d)["loc"], concentration=_params(d)["concentration"]
    ),
    "Uniform": lambda d: rd.Uniform(low=_params(d)["low"], high=_params(d)["high"]),
    "TruncatedNormal": lambda d: rd.TruncatedNormal(
        **{k: _params(d)[k] for k in ("loc", "scale", "low", "high")}
    ),
    "Poisson": lambda d: rd.Poisson(rate=_rate(_params(d))),
    "Bernoulli": _logits_or_probs(rd.Bernoulli),
    "Categorical": _logits_or_probs(rd.Categorical),
    "OneHotCategorical": _logits_or_probs(rd.OneHotCategorical),
    "Geometric": _logits_or_probs(rd.Geometric),
    "Binomial": _binomial,
}


def from_tfp(dist: Any) -> Distribution:
    """A TFP-on-JAX distribution as a reparax distribution.

    The families reparax has (Normal, MultivariateNormalTriL, Bernoulli, Categorical,
    OneHotCategorical, Binomial, Geometric, Poisson, Gamma, Exponential, Beta, Kumaraswamy,
    Dirichlet, Laplace, Logistic, Cauchy, Gumbel, StudentT, LogNormal, Uniform, VonMises,
    Weibull, TruncatedNormal) become native reparax distributions built from the arrays in
    ``dist.parameters``; other TFP distributions are wrapped (:func:`reparax.wrap`: score
    function and RLOO, pathwise when TFP says ``FULLY_REPARAMETERIZED``). TFP's integer
    sample dtypes (``OneHotCategorical``'s ``int32``) are not kept: reparax's one-hot samples
    are floats.

    Args:
      dist: a ``tensorflow_probability.substrates.jax.distributions.Distribution``.

    Returns:
      A reparax distribution with the same batch and event shapes.

    Raises:
      TypeError: ``dist`` is not a TFP-on-JAX distribution (the error names the right
        adapter).
    """
    return convert_with(
        dist, "tensorflow_probability", CONVERTERS, "tensorflow_probability.substrates.jax."
    )
