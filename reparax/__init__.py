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

from reparax import capabilities, constraints, control_variates, diagnostics, problems
from reparax._api import Estimate, expectation, gradient_estimate, resolve_method
from reparax._keyed import KeyedCost, with_key
from reparax._order import DerivativeOrderError
from reparax._registry import methods, methods_table, register, supported_methods, unregister
from reparax._variance import variance_gradient
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
from reparax.estimators.exact import exact
from reparax.estimators.gumbel_rao import gumbel_rao
from reparax.estimators.gumbel_softmax import gumbel_softmax
from reparax.estimators.indecater import indecater
from reparax.estimators.measure_valued import measure_valued
from reparax.estimators.pathwise import pathwise
from reparax.estimators.rebar import rebar, rebar_init
from reparax.estimators.reinmax import reinmax
from reparax.estimators.relax import relax, relax_init
from reparax.estimators.rloo import rloo
from reparax.estimators.score_function import score_function
from reparax.estimators.st_gumbel_softmax import st_gumbel_softmax
from reparax.estimators.straight_through import straight_through
from reparax.estimators.sum_and_sample import sum_and_sample
from reparax.estimators.unordered_set import unordered_set
from reparax.joint import Joint
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
    "arm",
    "baseline_node",
    "capabilities",
    "constraints",
    "control_variates",
    "cost_node",
    "diagnostics",
    "dice_init",
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
    "rloo",
    "sample_node",
    "score_function",
    "st_gumbel_softmax",
    "static",
    "straight_through",
    "sum_and_sample",
    "supported_methods",
    "unordered_set",
    "unregister",
    "variance_gradient",
    "with_key",
]
