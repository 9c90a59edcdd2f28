"""RELAX: REINFORCE with a learned, reparameterized control variate c_φ (unbiased)."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp

from reparax.capabilities import ConditionalNoise
from reparax.estimator import Estimator, Trainable
from reparax.estimators._relaxed_cv import relaxed_control_variate_surrogate
from reparax.estimators._sampling import finite_or_zero
from reparax.estimators.rebar import REBAR_REFERENCE, rebar_init

RELAX_REFERENCE = (
    "Grathwohl, Choi, Wu, Roeder & Duvenaud 2018, Backpropagation through the Void: "
    "Optimizing control variates for black-box gradient estimation, ICLR, arXiv:1711.00123"
)


def relax_init(
    dist: ConditionalNoise,
    key: jax.Array,
    *,
    hidden: int = 16,
    temperature: float = 0.5,
    eta: float = 1.0,
) -> dict[str, jax.Array]:
    """Parameters of RELAX's default surrogate: REBAR's (log λ, η) plus a one-hidden-layer
    tanh network on the flattened perturbed logits, whose output layer starts at zero (so
    RELAX starts as REBAR). ``key`` draws the hidden layer."""
    example = jax.eval_shape(lambda: dist.perturbed(dist.noise(jax.random.key(0))))
    size = math.prod(example.shape)
    scale = 1.0 / math.sqrt(max(size, 1))  # an empty batch has no inputs, and no scale
    return {
        **rebar_init(temperature, eta),
        "w1": scale * jax.random.normal(key, (size, hidden), dist.dtype),
        "b1": jnp.zeros((hidden,), dist.dtype),
        "w2": jnp.zeros((hidden,), dist.dtype),
        "b2": jnp.zeros((), dist.dtype),
    }


def default_surrogate(
    f: Callable[[jax.Array], jax.Array], dist: ConditionalNoise
) -> Callable[[Any, jax.Array], jax.Array]:
    """c_φ(z) = η f(relax(z, λ)) + w₂ᵀ tanh(W₁ᵀ vec(z) + b₁) + b₂, parameters from relax_init."""

    def surrogate(params: Any, z: jax.Array) -> jax.Array:
        rebar_part = params["eta"] * f(dist.relax(z, jnp.exp(params["log_temperature"])))
        # A class of probability 0 sits at z = −inf for every draw: feed the network 0 there.
        hidden = jnp.tanh(jnp.ravel(finite_or_zero(z)) @ params["w1"] + params["b1"])
        return rebar_part + hidden @ params["w2"] + params["b2"]

    return surrogate


def _check_default_params(cv_params: Any, dist: ConditionalNoise) -> None:
    expected = jax.eval_shape(lambda: relax_init(dist, jax.random.key(0)))
    got = jax.tree.structure(cv_params)
    if str(got) != str(jax.tree.structure(expected)):
        raise ValueError(
            "method='relax': `cv_params` for the default surrogate must be the dict from "
            f"rx.relax_init(dist, key) with keys {sorted(expected)}; got {got}."
        )
    for name, leaf in expected.items():
        if jnp.shape(cv_params[name]) != leaf.shape:
            raise ValueError(
                f"method='relax': `cv_params[{name!r}]` must have shape {leaf.shape} (from "
                f"rx.relax_init(dist, key)), got {jnp.shape(cv_params[name])}."
            )


def _relax(
    f: Callable[[jax.Array], jax.Array],
    dist: ConditionalNoise,
    key: jax.Array,
    *,
    num_samples: int = 1,
    chunk_size: int | None = None,
    surrogate: Callable[[Any, jax.Array], jax.Array] | None = None,
    cv_params: Any = None,
) -> jax.Array:
    r"""RELAX: REINFORCE with a learned, reparameterized control variate c_φ (unbiased).

    .. math:: ĝ = [f(b) − c_φ(z̃)] ∇_θ \log p(b) + ∇_θ c_φ(z) − ∇_θ c_φ(z̃)

    with z = θ + noise, b = H(z) and z̃ ~ p(z | b). Unbiased for every c_φ; φ is trained
    by descending ∂ĝ²/∂φ (``rx.variance_gradient(..., method="relax")``). Unbiasedness
    needs ∇E[c_φ(z)] = E[∇c_φ(z)], i.e. a surrogate differentiable in z: the default one
    calls f on relaxed inputs, so then f must be differentiable there (a lookup table of
    argmax(z) is not: its relaxed gradient is zero and the estimate is biased); a custom
    surrogate that does not call f lifts this requirement. First derivatives only.

    Args:
      f: maps ONE (hard) sample to a scalar.
      dist: ``Bernoulli`` or ``OneHotCategorical``.
      key: a PRNG key.
      num_samples: N ≥ 1.
      chunk_size: evaluate the samples this many at a time.
      surrogate: ``surrogate(cv_params, z) -> scalar`` on perturbed logits z (the shape of
        ``dist.perturbed(noise)``). Default: :func:`default_surrogate` (REBAR's control
        variate plus a small tanh network; then ``f`` must accept relaxed inputs).
      cv_params: the surrogate's parameters; default ``rx.relax_init(dist, key)`` with a key
        folded from ``key`` (its output layer is zero, so it starts as REBAR).

    Returns:
      A scalar equal to the Monte Carlo mean of f whose derivative is the estimator.

    References:
      Grathwohl et al. (2018), https://arxiv.org/abs/1711.00123.
    """
    if surrogate is None:
        surrogate = default_surrogate(f, dist)
        if cv_params is None:
            cv_params = relax_init(dist, jax.random.fold_in(key, 7))
        _check_default_params(cv_params, dist)
    elif cv_params is None:
        raise ValueError("method='relax': `cv_params` is required with a custom `surrogate`.")
    if not callable(surrogate):
        raise TypeError(f"method='relax': `surrogate` must be callable, got {surrogate!r}.")
    example = jax.eval_shape(lambda: dist.perturbed(dist.noise(key)))
    out = jax.eval_shape(surrogate, cv_params, example)
    if getattr(out, "shape", None) != ():
        from reparax._plates import describe_output  # the error path only

        raise ValueError(
            f"method='relax': `surrogate(cv_params, z)` must return a scalar for z of shape "
            f"{example.shape}, got {describe_output(out)}."
        )

    def control(z: jax.Array) -> jax.Array:
        return surrogate(cv_params, z)

    return relaxed_control_variate_surrogate(f, dist, key, num_samples, chunk_size, control)


def _count_evaluations(dist: ConditionalNoise, *, surrogate: Any = None, **options: Any) -> int:
    """f(b), and with the default surrogate f inside each of its 4 evaluations (at z, z̃
    and both again without θ-gradient: REBAR's 5); a custom surrogate is not counted."""
    del dist, options
    return 1 if surrogate is not None else 5


relax = Estimator(
    name="relax",
    fn=_relax,
    unbiased=True,
    differentiable_f=True,  # for the default surrogate, which calls f on relaxed inputs
    evaluations="1 + 4 evaluations of the surrogate c_φ",
    requires=(ConditionalNoise,),
    count_evaluations=_count_evaluations,
    max_order=1,
    accepts_keyed_f=False,
    trainable=Trainable(init=relax_init, to_options=lambda params: {"cv_params": params}),
    references=(RELAX_REFERENCE, REBAR_REFERENCE),
)
