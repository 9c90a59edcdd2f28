"""Distributions: frozen pytrees whose leaves are the parameters."""

from reparax.distributions._base import Distribution, WeakDerivative, distribution
from reparax.distributions.bernoulli import Bernoulli
from reparax.distributions.categorical import Categorical, OneHotCategorical
from reparax.distributions.mvn import MultivariateNormalTriL
from reparax.distributions.normal import Normal

__all__ = [
    "Bernoulli",
    "Categorical",
    "Distribution",
    "MultivariateNormalTriL",
    "Normal",
    "OneHotCategorical",
    "WeakDerivative",
    "distribution",
]
