"""Distributions: frozen pytrees whose leaves are the parameters.

One public family per module (``normal.py``, ``gamma.py``, ...); machinery shared by several
families lives in private modules (``_base.py``: the required surface and validation;
``_explicit.py``/``_implicit.py``: the reparameterization mixins; ``_location_scale.py``,
``_window.py``, ``_finite.py``, ``_categorical_base.py``: family groups; ``_log_gamma.py``,
``_noise.py``, ``_weak_samplers.py``, ``_weak_derivative.py``, ``_probabilities.py``:
primitives).
"""

from reparax.distributions._base import Distribution, distribution, param, static
from reparax.distributions._explicit import ExplicitReparameterization
from reparax.distributions._implicit import ImplicitReparameterization, implicit_rsample
from reparax.distributions._weak_derivative import WeakDerivative
from reparax.distributions.bernoulli import Bernoulli
from reparax.distributions.beta import Beta
from reparax.distributions.binomial import Binomial
from reparax.distributions.categorical import Categorical
from reparax.distributions.cauchy import Cauchy
from reparax.distributions.dirichlet import Dirichlet
from reparax.distributions.exponential import Exponential
from reparax.distributions.gamma import Gamma
from reparax.distributions.geometric import Geometric
from reparax.distributions.gumbel import Gumbel
from reparax.distributions.kumaraswamy import Kumaraswamy
from reparax.distributions.laplace import Laplace
from reparax.distributions.log_normal import LogNormal
from reparax.distributions.logistic import Logistic
from reparax.distributions.mvn import MultivariateNormalTriL
from reparax.distributions.normal import Normal
from reparax.distributions.one_hot_categorical import OneHotCategorical
from reparax.distributions.poisson import Poisson
from reparax.distributions.student_t import StudentT
from reparax.distributions.truncated_normal import TruncatedNormal
from reparax.distributions.uniform import Uniform
from reparax.distributions.von_mises import VonMises
from reparax.distributions.weibull import Weibull

__all__ = [
    "Bernoulli",
    "Beta",
    "Binomial",
    "Categorical",
    "Cauchy",
    "Dirichlet",
    "Distribution",
    "ExplicitReparameterization",
    "Exponential",
    "Gamma",
    "Geometric",
    "Gumbel",
    "ImplicitReparameterization",
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
    "param",
    "static",
]
