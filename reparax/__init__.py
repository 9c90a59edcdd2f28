"""reparax: gradients of expectations, ∇θ E_{p_θ(z)}[f(z)], for continuous and discrete z."""

from reparax import control_variates, diagnostics, problems
from reparax._api import Estimate, expectation, gradient_estimate, resolve_method
from reparax._registry import MethodInfo, methods, methods_table, supported_methods
from reparax._variance import variance_gradient
from reparax.distributions import (
    Bernoulli,
    Categorical,
    Distribution,
    MultivariateNormalTriL,
    Normal,
    OneHotCategorical,
    WeakDerivative,
    distribution,
)
from reparax.estimators import (
    arm,
    disarm,
    exact,
    gumbel_rao,
    gumbel_softmax,
    indecater,
    measure_valued,
    pathwise,
    rebar,
    rebar_init,
    reinmax,
    relax,
    relax_init,
    rloo,
    score_function,
    st_gumbel_softmax,
    straight_through,
)

reinforce = score_function

__version__ = "0.1.0"

__all__ = [
    "Bernoulli",
    "Categorical",
    "Distribution",
    "Estimate",
    "MethodInfo",
    "MultivariateNormalTriL",
    "Normal",
    "OneHotCategorical",
    "WeakDerivative",
    "arm",
    "control_variates",
    "diagnostics",
    "disarm",
    "distribution",
    "exact",
    "expectation",
    "gradient_estimate",
    "gumbel_rao",
    "gumbel_softmax",
    "indecater",
    "measure_valued",
    "methods",
    "methods_table",
    "pathwise",
    "problems",
    "reinforce",
    "rebar",
    "rebar_init",
    "reinmax",
    "relax",
    "relax_init",
    "resolve_method",
    "rloo",
    "score_function",
    "st_gumbel_softmax",
    "straight_through",
    "supported_methods",
    "variance_gradient",
]
