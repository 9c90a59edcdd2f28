"""Score-function (REINFORCE) gradients on the DiCE magic box, with baselines."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp

from reparax._keyed import bind_key
from reparax._order import limit_order
from reparax.capabilities import DistributionLike
from reparax.estimator import Estimator
from reparax.estimators._dice import centre, dice_surrogate, leave_one_out
from reparax.estimators._sampling import linear_probe, map_samples

REFERENCES = (
    "Williams 1992, Simple statistical gradient-following algorithms for connectionist "
    "reinforcement learning, Machine Learning 8",
    "Foerster et al. 2018, DiCE: The Infinitely Differentiable Monte Carlo Estimator, "
    "arXiv:1802.05098",
    "Mohamed, Rosca, Figurnov & Mnih 2020, JMLR 21, §4, arXiv:1906.10652",
)

_BASELINES = "None, a number or an array of shape (num_samples,), 'leave_one_out' or 'optimal'"


def per_sample_values(
    f: Callable[[jax.Array], jax.Array],
    dist: DistributionLike,
    key: jax.Array,
    num_samples: int,
    chunk_size: int | None,
    keep_samples: bool = False,
) -> dict[str, jax.Array]:
    """f(z_i) and log p(z_i) for every sample (and z_i itself when asked)."""

    def one(sample_key: jax.Array) -> dict[str, jax.Array]:
        z = dist.sample(sample_key)
        out = {"value": bind_key(f, sample_key)(z), "log_prob": dist.joint_log_prob(z)}
        if keep_samples:
            out["sample"] = z
        return out

    return map_samples(one, key, num_samples, chunk_size)


def _resolve_baseline(baseline: Any, values: jax.Array) -> jax.Array | None:
    if baseline is None:
        return None
    if isinstance(baseline, str):
        if baseline != "leave_one_out":
            raise ValueError(
                f"method='score_function': `baseline` must be {_BASELINES}; got {baseline!r}."
            )
        if values.shape[0] < 2:
            raise ValueError(
                "method='score_function': baseline='leave_one_out' needs num_samples >= 2."
            )
        return leave_one_out(values)
    if isinstance(baseline, bool) or not jnp.issubdtype(jnp.result_type(baseline), jnp.number):
        raise TypeError(
            f"method='score_function': `baseline` must be {_BASELINES}; got {baseline!r}."
        )
    baseline = jnp.asarray(baseline, values.dtype)
    if baseline.shape not in ((), values.shape):
        raise ValueError(
            "method='score_function': `baseline` must be a scalar or have shape "
            f"(num_samples,) = {values.shape}; got shape {baseline.shape}."
        )
    return baseline


def _optimal_baseline_surrogate(dist: Any, per_sample: dict[str, jax.Array]) -> jax.Array:
    """Per-parameter baselines b_{iθ} = Σ_{j≠i} f_j s_{jθ}² / Σ_{j≠i} s_{jθ}² (Mohamed et al.
    2020, §7.4: the variance-minimising constant), leave-one-out so they are independent of
    sample i. Needs the per-sample scores s_i = ∇θ log p(z_i): N × P memory, opt-in."""
    values, _ = centre(jax.lax.stop_gradient(per_sample["value"]))
    score = jax.vmap(jax.grad(lambda d, z: d.joint_log_prob(z)), in_axes=(None, 0))

    def coefficient_and_grad(s: jax.Array) -> jax.Array:
        s = s.reshape(s.shape[0], -1)
        weighted = values[:, None] * s**2
        num = jnp.sum(weighted, 0, keepdims=True) - weighted
        den = jnp.sum(s**2, 0, keepdims=True) - s**2
        b = jnp.where(den > 0, num / jnp.where(den > 0, den, 1.0), 0.0)
        return jnp.mean((values[:, None] - b) * s, 0)

    scores = score(jax.lax.stop_gradient(dist), per_sample["sample"])
    grads = jax.tree.map(coefficient_and_grad, scores)
    leaves = jax.tree.leaves(dist)
    return sum(
        (
            linear_probe(leaf, g.reshape(jnp.shape(leaf)))
            for leaf, g in zip(leaves, jax.tree.leaves(grads))
        ),
        start=jnp.zeros(()),
    )


def _score_function(
    f: Callable[[jax.Array], jax.Array],
    dist: DistributionLike,
    key: jax.Array,
    *,
    num_samples: int = 1,
    chunk_size: int | None = None,
    baseline: Any = None,
) -> jax.Array:
    r"""Score-function (REINFORCE / likelihood-ratio) estimator, built on DiCE.

    .. math:: ∇_θ E_{p_θ}[f(z)] = E_{p_θ}[(f(z) − b) ∇_θ \log p_θ(z)] + E[∇ f]

    computed as the surrogate mean_i □(log p(z_i)) (f(z_i) − b_i) + b_i with the magic box
    □(l) = exp(l − stop_gradient(l)). Its value is the Monte Carlo mean of f, its gradient is
    the estimator above, and its higher derivatives are unbiased too (for baselines that do
    not depend on the parameters). ``f`` need not be differentiable. A control variate with a
    known expectation (``control_variate=rx.control_variates.delta_method(f)``, ``muprop``)
    applies through the common mechanism (``reparax.control_variates``).

    Args:
      f: maps ONE sample to a scalar.
      dist: any distribution whose support does not move with its parameters.
      key: a PRNG key; sample i uses ``jax.random.split(key, num_samples)[i]``.
      num_samples: N ≥ 1.
      chunk_size: evaluate the samples this many at a time.
      baseline: ``None``; a constant or an array of shape ``(num_samples,)`` (treated as
        constant: it must not depend on the samples it multiplies; e.g. from
        ``rx.control_variates.moving_average`` or ``learned_baseline``; a baseline network
        c_ψ(x) is trained on the estimator's variance by ``rx.variance_gradient(...,
        to_options=lambda psi: {"baseline": net(psi, x)})``);
        ``"leave_one_out"``, b_i = mean_{j≠i} f(z_j) (then this is ``rx.rloo``); or
        ``"optimal"``, the variance-minimising constant per parameter element,
        b_θ = E[f s_θ²]/E[s_θ²] with s = ∇θ log p, estimated leave-one-out from the other
        samples (Mohamed et al. 2020, §7.4; first derivatives only; N × P memory).

    Returns:
      A scalar equal to the Monte Carlo mean of f whose derivatives are the estimator's.

    Example:
      >>> import jax, jax.numpy as jnp, reparax as rx
      >>> dist = rx.Normal(jnp.zeros(2), jnp.ones(2))
      >>> est = rx.gradient_estimate(lambda z: jnp.sum(z**2), dist, jax.random.key(0),
      ...                            method="score_function", num_samples=16, baseline=2.0)
      >>> est.grad.scale.shape
      (2,)

    References:
      Williams (1992); Foerster et al. (2018), https://arxiv.org/abs/1802.05098;
      Mohamed et al. (2020), §4 and §7, https://arxiv.org/abs/1906.10652.
    """
    optimal = isinstance(baseline, str) and baseline == "optimal"
    if optimal and num_samples < 2:
        raise ValueError("method='score_function': baseline='optimal' needs num_samples >= 2.")
    per_sample = per_sample_values(f, dist, key, num_samples, chunk_size, keep_samples=optimal)
    values, log_probs = per_sample["value"], per_sample["log_prob"]
    if optimal:
        surrogate = jnp.mean(values) + _optimal_baseline_surrogate(dist, per_sample)
        return limit_order(surrogate, 1, "score_function", dist=dist, optimal="baseline")
    if isinstance(baseline, str) and baseline == "leave_one_out":
        values, reference = centre(values)
        return reference + dice_surrogate(values, log_probs, _resolve_baseline(baseline, values))
    # A baseline given as an array may be a learned one, c_ψ(x): keep its ψ-path for
    # rx.variance_gradient (the estimate and its θ-gradient are unchanged).
    return dice_surrogate(
        values, log_probs, _resolve_baseline(baseline, values), trainable_baseline=True
    )


score_function = Estimator(
    name="score_function",
    fn=_score_function,
    unbiased=True,
    differentiable_f=False,
    evaluations="1",
    requires=(DistributionLike,),
    needs_fixed_support=True,
    aliases=("reinforce",),
    auto_rank=30,
    accepts_control_variate=True,
    references=REFERENCES,
)
