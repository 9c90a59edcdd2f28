"""reparax: gradients of expectations, ∇θ E_{p_θ(z)}[f(z)], for continuous and discrete z.

How a call flows::

    f, dist, key ──► rx.gradient_estimate / rx.expectation        (reparax._api)
                       │  method name ──► registry lookup or "auto"   (reparax._registry)
                       ▼
                   Estimator value: validate once, then its fn      (reparax.estimator,
                       │                                              reparax.estimators.*)
                       ▼
    distribution: noise ─► transform, log_prob, and the capability
    protocols the estimator declared (rsample, weak_derivative, …)  (reparax.capabilities,
                       │                                              reparax.distributions)
                       ▼
    a surrogate scalar: value = the Monte Carlo estimate of E[f],
    derivative = the estimator (jax.grad / value_and_grad)

Each estimator is one :class:`Estimator` value in its own module; one ordered tuple of them
(``reparax._registry.BUILTIN``) is the registry that ``rx.methods()``, the README table,
``auto``, ``rx.variance_gradient`` and the command line read.

Programs with many random choices: ``plates=k`` (one cost per independent batch element),
``rx.with_key(f)`` (f samples with its own key), ``rx.Joint`` (named sites, a method per
site, Rao-Blackwellized named costs: ``reparax._program``) and the scan-friendly
``rx.dice_init`` / ``rx.sample_node`` / ``rx.cost_node`` (``reparax.sequential``).
"""

from reparax import adapters, capabilities, constraints, control_variates, diagnostics, problems
from reparax._api import (
    Estimate,
    auto_num_samples,
    expectation,
    gradient_estimate,
    resolve_method,
)
from reparax._keyed import KeyedCost, with_key
from reparax._order import DerivativeOrderError
from reparax._registry import methods, methods_table, register, supported_methods, unregister
from reparax._variance import variance_gradient
from reparax.adapters import Wrapped, convert, from_distrax, from_numpyro, from_tfp, wrap
from reparax.distributions import (
    Bernoulli,
    Beta,
    Binomial,
    Categorical,
    Cauchy,
    Dirichlet,
    Distribution,
    Exponential,
    Gamma,
    Geometric,
    Gumbel,
    Kumaraswamy,
    Laplace,
    Logistic,
    LogNormal,
    MultivariateNormalTriL,
    Normal,
    OneHotCategorical,
    Poisson,
    StudentT,
    TruncatedNormal,
    Uniform,
    VonMises,
    WeakDerivative,
    Weibull,
    distribution,
    param,
    static,
)
from reparax.estimator import Estimator, Trainable
from reparax.estimators.arm import arm
from reparax.estimators.disarm import disarm
from reparax.estimators.double_cv import double_cv, double_cv_init
from reparax.estimators.dreg import dreg
from reparax.estimators.exact import exact
from reparax.estimators.gapped_straight_through import gapped_straight_through
from reparax.estimators.gumbel_rao import gumbel_rao
from reparax.estimators.gumbel_softmax import gumbel_softmax
from reparax.estimators.indecater import indecater
from reparax.estimators.iwae import iwae
from reparax.estimators.measure_valued import measure_valued
from reparax.estimators.pathwise import pathwise
from reparax.estimators.rebar import rebar, rebar_init
from reparax.estimators.reinmax import reinmax
from reparax.estimators.relax import relax, relax_init
from reparax.estimators.rloo import rloo
from reparax.estimators.rodeo import rodeo, rodeo_init
from reparax.estimators.score_function import score_function
from reparax.estimators.st_gumbel_softmax import st_gumbel_softmax
from reparax.estimators.stl import stl
from reparax.estimators.straight_through import straight_through
from reparax.estimators.sum_and_sample import sum_and_sample
from reparax.estimators.unordered_set import unordered_set
from reparax.estimators.vimco import vimco
from reparax.joint import Joint
from reparax.multisample import multisample_bound, multisample_bound_estimate
from reparax.pilot import Choice, choose_method
from reparax.sequential import DiceState, baseline_node, cost_node, dice_init, sample_node

reinforce = score_function

__version__ = "0.1.0"

__all__ = [
    "Bernoulli",
    "Beta",
    "Binomial",
    "Categorical",
    "Cauchy",
    "Dirichlet",
    "Exponential",
    "Gamma",
    "Geometric",
    "Gumbel",
    "Kumaraswamy",
    "Laplace",
    "LogNormal",
    "Logistic",
    "Poisson",
    "StudentT",
    "TruncatedNormal",
    "Uniform",
    "VonMises",
    "Weibull",
    "Wrapped",
    "DerivativeOrderError",
    "Distribution",
    "Estimate",
    "DiceState",
    "Estimator",
    "Joint",
    "KeyedCost",
    "Trainable",
    "MultivariateNormalTriL",
    "Normal",
    "OneHotCategorical",
    "WeakDerivative",
    "adapters",
    "arm",
    "baseline_node",
    "capabilities",
    "constraints",
    "control_variates",
    "convert",
    "cost_node",
    "diagnostics",
    "dice_init",
    "disarm",
    "dreg",
    "distribution",
    "double_cv",
    "double_cv_init",
    "exact",
    "expectation",
    "gapped_straight_through",
    "from_distrax",
    "from_numpyro",
    "from_tfp",
    "gradient_estimate",
    "gumbel_rao",
    "gumbel_softmax",
    "indecater",
    "iwae",
    "measure_valued",
    "methods",
    "methods_table",
    "multisample_bound",
    "multisample_bound_estimate",
    "param",
    "pathwise",
    "problems",
    "reinforce",
    "rebar",
    "rebar_init",
    "register",
    "reinmax",
    "relax",
    "relax_init",
    "resolve_method",
    "auto_num_samples",
    "choose_method",
    "Choice",
    "rloo",
    "rodeo",
    "rodeo_init",
    "sample_node",
    "score_function",
    "st_gumbel_softmax",
    "static",
    "stl",
    "straight_through",
    "sum_and_sample",
    "supported_methods",
    "unordered_set",
    "unregister",
    "variance_gradient",
    "vimco",
    "with_key",
    "wrap",
]
