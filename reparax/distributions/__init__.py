"""Distributions: frozen pytrees whose leaves are the parameters."""

from reparax.distributions._base import Distribution, WeakDerivative, distribution
from reparax.distributions._implicit import implicit_rsample
from reparax.distributions.bernoulli import Bernoulli
from reparax.distributions.bounded import Kumaraswamy, TruncatedNormal, Uniform
from reparax.distributions.categorical import Categorical, OneHotCategorical
from reparax.distributions.counts import Binomial, Geometric, Poisson
from reparax.distributions.gamma import Beta, Dirichlet, Gamma, StudentT
from reparax.distributions.location_scale import Cauchy, Gumbel, Laplace, Logistic, LogNormal
from reparax.distributions.mvn import MultivariateNormalTriL
from reparax.distributions.normal import Normal
from reparax.distributions.positive import Exponential, Weibull
from reparax.distributions.von_mises import VonMises

__all__ = [
    "Bernoulli",
    "Beta",
    "Binomial",
    "Categorical",
    "Cauchy",
    "Dirichlet",
    "Distribution",
    "Exponential",
    "Gamma",
    "Geometric",
    "Gumbel",
    "Kumaraswamy",
    "Laplace",
    "LogNormal",
    "Logistic",
    "MultivariateNormalTriL",
    "Normal",
    "OneHotCategorical",
    "Poisson",
    "StudentT",
    "TruncatedNormal",
    "Uniform",
    "VonMises",
    "Weibull",
    "WeakDerivative",
    "distribution",
    "implicit_rsample",
]
