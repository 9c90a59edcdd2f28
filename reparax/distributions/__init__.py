"""Distributions: frozen pytrees whose leaves are the parameters."""

from reparax.distributions._base import Distribution, WeakDerivative, distribution
from reparax.distributions.mvn import MultivariateNormalTriL
from reparax.distributions.normal import Normal

__all__ = [
    "Distribution",
    "MultivariateNormalTriL",
    "Normal",
    "WeakDerivative",
    "distribution",
]
