"""reparax: gradients of expectations, ∇θ E_{p_θ(z)}[f(z)], for continuous and discrete z."""

from reparax._api import Estimate, expectation, gradient_estimate, resolve_method
from reparax._registry import MethodInfo, methods, methods_table, supported_methods
from reparax.distributions import (
    Distribution,
    MultivariateNormalTriL,
    Normal,
    WeakDerivative,
    distribution,
)
from reparax.estimators import measure_valued, pathwise, rloo, score_function

reinforce = score_function

__version__ = "0.1.0"

__all__ = [
    "Distribution",
    "Estimate",
    "MethodInfo",
    "MultivariateNormalTriL",
    "Normal",
    "WeakDerivative",
    "distribution",
    "expectation",
    "gradient_estimate",
    "measure_valued",
    "methods",
    "methods_table",
    "pathwise",
    "reinforce",
    "resolve_method",
    "rloo",
    "score_function",
    "supported_methods",
]
