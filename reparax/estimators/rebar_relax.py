"""REBAR and RELAX: score-function estimators with a relaxation-based control variate.

Both use the continuous variable z = θ + noise whose hard threshold/argmax is the sample
b = H(z), and z̃ ~ p(z | b), a second relaxed variable conditioned on the same b. With a
control variate c (REBAR: η f(relax(·, λ)); RELAX: any learnable c_φ),

.. math:: ĝ = [f(b) − c(z̃)] ∇_θ \\log p(b) + ∇_θ c(z) − ∇_θ c(z̃)

is unbiased for every c, because E[∇c(z)] = ∇E[c(z)] = E[c(z̃)∇log p(b)] + E[∇c(z̃)]. The
control variate's parameters are trained by descending ∂ĝ²/∂φ, an unbiased estimate of
∂Var(ĝ)/∂φ (``rx.variance_gradient``).
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp

from reparax._checks import validate
from reparax._registry import register
from reparax.estimators._sampling import finite_or_zero, map_samples, stop_parameters
from reparax.estimators.relaxation import check_temperature

_REBAR_REF = (
    "Tucker, Mnih, Maddison, Lawson & Sohl-Dickstein 2017, REBAR: Low-variance, unbiased "
    "gradient estimates for discrete latent variable models, NeurIPS, arXiv:1703.07370"
)
_RELAX_REF = (
    "Grathwohl, Choi, Wu, Roeder & Duvenaud 2018, Backpropagation through the Void: "
    "Optimizing control variates for black-box gradient estimation, ICLR, arXiv:1711.00123"
)


def _relaxed_control_variate_surrogate(f, dist, key, num_samples, chunk_size, control):
    """The REBAR/RELAX surrogate; ``control(z)`` is the control variate on perturbed logits."""
    fixed = stop_parameters(dist)

    def one(sample_key):
        key_noise, key_cond = jax.random.split(sample_key)
        noise = jax.lax.stop_gradient(dist.noise(key_noise))
        hard = jax.lax.stop_gradient(dist.transform(noise))
        z, z_fixed = dist.perturbed(noise), fixed.perturbed(noise)
        z_cond = dist.conditional_perturbed(key_cond, hard)
        z_cond_fixed = fixed.conditional_perturbed(key_cond, hard)
        value = f(hard)
        log_prob = dist.joint_log_prob(hard)
        # c(·_fixed) carries no θ-gradient but keeps its dependence on the control variate's
        # parameters, so ∂ĝ/∂φ (the variance gradient) is exact; every added term is 0-valued.
        signal = jax.lax.stop_gradient(value) - control(z_cond_fixed)
        score_term = signal * (log_prob - jax.lax.stop_gradient(log_prob))
        reparam_term = (control(z) - control(z_fixed)) - (control(z_cond) - control(z_cond_fixed))
        return value + score_term + reparam_term

    return jnp.mean(map_samples(one, key, num_samples, chunk_size))


@register(
    "rebar",
    unbiased=True,
    differentiable_f=True,
    evaluations="5 (f(b) and f at 4 relaxed points, of which 2 without gradient)",
    count_evaluations=lambda dist: 5,
    requires=("relaxed_transform", "conditional_perturbed"),
    references=(_REBAR_REF,),
)
def rebar(f, dist, key, *, num_samples=1, chunk_size=None, temperature=0.5, eta=1.0):
    r"""REBAR: REINFORCE with the Concrete relaxation as a control variate (unbiased).

    Binary case (Tucker et al. 2017): z = θ + logit(u), b = 1[z > 0], z̃ ~ p(z | b),

    .. math:: ĝ = [f(b) − η f(σ_λ(z̃))] ∇ \log p(b) + η ∇f(σ_λ(z)) − η ∇f(σ_λ(z̃))

    with σ_λ(z) = σ(z/λ) (softmax(z/λ) for one-hot). Unbiased for every temperature λ and
    scale η; both may be traced arrays, trained to minimise the variance with
    ``rx.variance_gradient(..., method="rebar", cv_params=rx.rebar_init())``. ``f`` must be
    defined and differentiable on relaxed inputs (unbiasedness needs
    ∇E[f(σ_λ(z))] = E[∇f(σ_λ(z))]; a piecewise-constant f, e.g. a table lookup at
    argmax(z), makes the estimate biased).

    Args:
      f: maps ONE sample to a scalar.
      dist: ``Bernoulli`` or ``OneHotCategorical``.
      key: a PRNG key.
      num_samples: N ≥ 1.
      chunk_size: evaluate the samples this many at a time.
      temperature: λ > 0 (default 0.5).
      eta: η (default 1).

    Returns:
      A scalar equal to the Monte Carlo mean of f whose derivative is the estimator.

    References:
      Tucker et al. (2017), https://arxiv.org/abs/1703.07370.
    """
    validate("rebar", f, dist, key, num_samples, chunk_size)
    check_temperature(temperature)

    def control(z):
        return eta * f(dist.relax(z, temperature))

    return _relaxed_control_variate_surrogate(f, dist, key, num_samples, chunk_size, control)


def rebar_init(temperature: float = 0.5, eta: float = 1.0) -> dict:
    """REBAR's control-variate parameters for ``variance_gradient``: log λ (so that λ stays
    positive under gradient descent) and η."""
    return {"log_temperature": jnp.log(jnp.asarray(temperature)), "eta": jnp.asarray(eta)}


def relax_init(dist, *, hidden: int = 16, key=None, temperature=0.5, eta=1.0) -> dict:
    """Parameters of RELAX's default surrogate: REBAR's (log λ, η) plus a one-hidden-layer
    tanh network on the flattened perturbed logits, whose output layer starts at zero (so
    RELAX starts as REBAR). ``key`` (default ``jax.random.key(0)``) draws the hidden layer."""
    key = jax.random.key(0) if key is None else key
    size = math.prod(jnp.shape(dist.perturbed(dist.noise(jax.random.key(0)))))
    scale = 1.0 / math.sqrt(size)
    return {
        **rebar_init(temperature, eta),
        "w1": scale * jax.random.normal(key, (size, hidden), dist.dtype),
        "b1": jnp.zeros((hidden,), dist.dtype),
        "w2": jnp.zeros((hidden,), dist.dtype),
        "b2": jnp.zeros((), dist.dtype),
    }


def default_surrogate(f, dist):
    """c_φ(z) = η f(relax(z, λ)) + w₂ᵀ tanh(W₁ᵀ vec(z) + b₁) + b₂, parameters from relax_init."""

    def surrogate(params, z):
        rebar_part = params["eta"] * f(dist.relax(z, jnp.exp(params["log_temperature"])))
        # A class of probability 0 sits at z = −inf for every draw: feed the network 0 there.
        hidden = jnp.tanh(jnp.ravel(finite_or_zero(z)) @ params["w1"] + params["b1"])
        return rebar_part + hidden @ params["w2"] + params["b2"]

    return surrogate


@register(
    "relax",
    unbiased=True,
    differentiable_f=True,  # for the default surrogate, which calls f on relaxed inputs
    evaluations="1 + 4 evaluations of the surrogate c_φ",
    count_evaluations=lambda dist: 1,
    requires=("relaxed_transform", "conditional_perturbed"),
    references=(_RELAX_REF,),
)
def relax(f, dist, key, *, num_samples=1, chunk_size=None, surrogate=None, cv_params=None):
    r"""RELAX: REINFORCE with a learned, reparameterized control variate c_φ (unbiased).

    .. math:: ĝ = [f(b) − c_φ(z̃)] ∇_θ \log p(b) + ∇_θ c_φ(z) − ∇_θ c_φ(z̃)

    with z = θ + noise, b = H(z) and z̃ ~ p(z | b). Unbiased for every c_φ; φ is trained
    by descending ∂ĝ²/∂φ (``rx.variance_gradient(..., method="relax")``). Unbiasedness
    needs ∇E[c_φ(z)] = E[∇c_φ(z)], i.e. a surrogate differentiable in z: the default one
    calls f on relaxed inputs, so then f must be differentiable there (a lookup table of
    argmax(z) is not: its relaxed gradient is zero and the estimate is biased); a custom
    surrogate that does not call f lifts this requirement.

    Args:
      f: maps ONE (hard) sample to a scalar.
      dist: ``Bernoulli`` or ``OneHotCategorical``.
      key: a PRNG key.
      num_samples: N ≥ 1.
      chunk_size: evaluate the samples this many at a time.
      surrogate: ``surrogate(cv_params, z) -> scalar`` on perturbed logits z (the shape of
        ``dist.perturbed(noise)``). Default: :func:`default_surrogate` (REBAR's control
        variate plus a small tanh network; then ``f`` must accept relaxed inputs).
      cv_params: the surrogate's parameters; default :func:`relax_init` ``(dist)``.

    Returns:
      A scalar equal to the Monte Carlo mean of f whose derivative is the estimator.

    References:
      Grathwohl et al. (2018), https://arxiv.org/abs/1711.00123.
    """
    validate("relax", f, dist, key, num_samples, chunk_size)
    if surrogate is None:
        surrogate = default_surrogate(f, dist)
        cv_params = relax_init(dist) if cv_params is None else cv_params
    elif cv_params is None:
        raise ValueError("`cv_params` is required with a custom `surrogate`.")
    example = jax.eval_shape(dist.perturbed, jax.eval_shape(dist.noise, key))
    out = jax.eval_shape(surrogate, cv_params, example)
    if getattr(out, "shape", None) != ():
        raise ValueError(
            f"`surrogate(cv_params, z)` must return a scalar for z of shape {example.shape}, "
            f"got shape {getattr(out, 'shape', None)}."
        )

    def control(z):
        return surrogate(cv_params, z)

    return _relaxed_control_variate_surrogate(f, dist, key, num_samples, chunk_size, control)
