"""REBAR: REINFORCE with the Concrete relaxation as a control variate (unbiased)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp

from reparax.capabilities import ConditionalNoise
from reparax.estimator import Estimator, Trainable
from reparax.estimators._relaxation import check_temperature
from reparax.estimators._relaxed_cv import relaxed_control_variate_surrogate

REBAR_REFERENCE = (
    "Tucker, Mnih, Maddison, Lawson & Sohl-Dickstein 2017, REBAR: Low-variance, unbiased "
    "gradient estimates for discrete latent variable models, NeurIPS, arXiv:1703.07370"
)


def check_eta(eta: Any, method: str) -> None:
    """η must be a real scalar (it may be traced)."""
    if isinstance(eta, (str, bytes, bool)) or eta is None:
        raise TypeError(f"method={method!r}: `eta` must be a real number, got {eta!r}.")
    try:
        dtype = jnp.result_type(eta)
    except TypeError:
        raise TypeError(f"method={method!r}: `eta` must be a real number, got {eta!r}.") from None
    if not jnp.issubdtype(dtype, jnp.number) or jnp.shape(eta) != ():
        raise TypeError(f"method={method!r}: `eta` must be a real scalar, got {eta!r}.")


def _rebar(
    f: Callable[[jax.Array], jax.Array],
    dist: ConditionalNoise,
    key: jax.Array,
    *,
    num_samples: int = 1,
    chunk_size: int | None = None,
    temperature: Any = 0.5,
    eta: Any = 1.0,
) -> jax.Array:
    r"""REBAR: REINFORCE with the Concrete relaxation as a control variate (unbiased).

    Binary case (Tucker et al. 2017): z = θ + logit(u), b = 1[z > 0], z̃ ~ p(z | b),

    .. math:: ĝ = [f(b) − η f(σ_λ(z̃))] ∇ \log p(b) + η ∇f(σ_λ(z)) − η ∇f(σ_λ(z̃))

    with σ_λ(z) = σ(z/λ) (softmax(z/λ) for one-hot). Unbiased for every temperature λ and
    scale η; both may be traced arrays, trained to minimise the variance with
    ``rx.variance_gradient(..., method="rebar")``. ``f`` must be defined and differentiable
    on relaxed inputs (unbiasedness needs ∇E[f(σ_λ(z))] = E[∇f(σ_λ(z))]; a
    piecewise-constant f, e.g. a table lookup at argmax(z), makes the estimate biased).
    f is centred on c = f(mean probabilities), held fixed, before the differences are
    formed (the estimator of ∇E[f − c] = ∇E[f]), so a large constant in f cancels exactly.
    First derivatives only.

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
    temperature = check_temperature(temperature, "rebar")  # traced τ ≤ 0: NaN
    check_eta(eta, "rebar")
    reference = jax.lax.stop_gradient(f(jax.lax.stop_gradient(dist.mean())))

    def centred(z: jax.Array) -> jax.Array:
        return f(z) - reference

    def control(z: jax.Array) -> jax.Array:
        return eta * centred(dist.relax(z, temperature))

    surrogate = relaxed_control_variate_surrogate(
        centred, dist, key, num_samples, chunk_size, control
    )
    return reference + surrogate


def rebar_init(temperature: float = 0.5, eta: float = 1.0) -> dict[str, jax.Array]:
    """REBAR's control-variate parameters for ``variance_gradient``: log λ (so that λ stays
    positive under gradient descent) and η."""
    return {"log_temperature": jnp.log(jnp.asarray(temperature)), "eta": jnp.asarray(eta)}


def _rebar_options(params: Any) -> dict[str, Any]:
    return {"temperature": jnp.exp(params["log_temperature"]), "eta": params["eta"]}


rebar = Estimator(
    name="rebar",
    fn=_rebar,
    unbiased=True,
    differentiable_f=True,
    evaluations="5 (f(b) and f at 4 relaxed points, of which 2 without gradient)",
    requires=(ConditionalNoise,),
    count_evaluations=lambda dist: 5,
    max_order=1,
    accepts_keyed_f=False,
    trainable=Trainable(init=lambda dist, key: rebar_init(), to_options=_rebar_options),
    references=(REBAR_REFERENCE,),
)
