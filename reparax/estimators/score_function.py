"""Score-function (REINFORCE) gradients on the DiCE magic box, with baselines."""

from __future__ import annotations

import jax
import jax.numpy as jnp

from reparax._checks import validate
from reparax._registry import register
from reparax.estimators._sampling import linear_probe, map_samples, stop_parameters

_REFERENCES = (
    "Williams 1992, Simple statistical gradient-following algorithms for connectionist "
    "reinforcement learning, Machine Learning 8",
    "Foerster et al. 2018, DiCE: The Infinitely Differentiable Monte Carlo Estimator, "
    "arXiv:1802.05098",
    "Mohamed, Rosca, Figurnov & Mnih 2020, JMLR 21, §4, arXiv:1906.10652",
)


@jax.custom_jvp
def magic_box(log_prob: jax.Array) -> jax.Array:
    """DiCE's □(l) = exp(l − stop_gradient(l)): value 1, derivative □(l)·∇l, to any order.

    Written as a ``custom_jvp`` whose value is the constant 1 and whose tangent is □(l)·dl
    (recursively, so every order is right): the same derivatives as the exp form without
    evaluating exp(0) and its derivative per sample.
    """
    return jnp.ones_like(log_prob)


@magic_box.defjvp
def _magic_box_jvp(primals, tangents):
    (log_prob,), (tangent,) = primals, tangents
    box = magic_box(log_prob)
    return box, box * tangent


def leave_one_out(values: jax.Array) -> jax.Array:
    """b_i = mean of the other N − 1 values (independent of sample i, hence unbiased)."""
    n = values.shape[0]
    return (jnp.sum(values) - values) / (n - 1)


def dice_surrogate(
    values: jax.Array, log_probs: jax.Array, baseline: jax.Array | None
) -> jax.Array:
    """mean_i □(l_i)(f_i − b_i) + b_i: value mean f, derivatives the score-function ones."""
    if baseline is None:
        return jnp.mean(magic_box(log_probs) * values)
    baseline = jax.lax.stop_gradient(jnp.broadcast_to(baseline, values.shape))
    return jnp.mean(magic_box(log_probs) * (values - baseline) + baseline)


def _resolve_baseline(baseline, values):
    if baseline is None:
        return None
    if isinstance(baseline, str):
        if baseline not in ("leave_one_out", "optimal"):
            raise ValueError(
                "`baseline` must be None, a number or array, 'leave_one_out' or 'optimal'; "
                f"got {baseline!r}."
            )
        if values.shape[0] < 2:
            raise ValueError(f"baseline={baseline!r} needs num_samples >= 2.")
        return leave_one_out(values)
    baseline = jnp.asarray(baseline, values.dtype)
    if baseline.shape not in ((), values.shape):
        raise ValueError(
            f"`baseline` must be a scalar or have shape (num_samples,) = {values.shape}; got "
            f"shape {baseline.shape}."
        )
    return baseline


def _per_sample(f, dist, key, num_samples, chunk_size, control_variate, keep_samples):
    anchor = stop_parameters(dist)

    def one(sample_key):
        z = dist.sample(sample_key)
        out = {"value": f(z), "log_prob": dist.joint_log_prob(z)}
        if control_variate is not None:
            out["cv"] = jax.lax.stop_gradient(control_variate.value(anchor, z))
        if keep_samples:
            out["sample"] = z
        return out

    return map_samples(one, key, num_samples, chunk_size)


def _optimal_baseline_surrogate(dist, per_sample, shift):
    """Per-parameter baselines b_{iθ} = Σ_{j≠i} f_j s_{jθ}² / Σ_{j≠i} s_{jθ}² (Mohamed et al.
    2020, §7.4: the variance-minimising constant), leave-one-out so they are independent of
    sample i. Needs the per-sample scores s_i = ∇θ log p(z_i): N × P memory, opt-in."""
    values = jax.lax.stop_gradient(per_sample["value"] - shift)
    score = jax.vmap(jax.grad(lambda d, z: d.joint_log_prob(z)), in_axes=(None, 0))

    def coefficient_and_grad(s):
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
        linear_probe(leaf, g.reshape(jnp.shape(leaf)))
        for leaf, g in zip(leaves, jax.tree.leaves(grads))
    )


@register(
    "score_function",
    unbiased=True,
    differentiable_f=False,
    evaluations="1",
    requires=("log_prob", "fixed_support"),
    references=_REFERENCES,
    aliases=("reinforce",),
)
def score_function(
    f,
    dist,
    key,
    *,
    num_samples=1,
    chunk_size=None,
    baseline=None,
    control_variate=None,
    cv_coefficient=1.0,
):
    r"""Score-function (REINFORCE / likelihood-ratio) estimator, built on DiCE.

    .. math:: ∇_θ E_{p_θ}[f(z)] = E_{p_θ}[(f(z) − b) ∇_θ \log p_θ(z)] + E[∇ f]

    computed as the surrogate mean_i □(log p(z_i)) (f(z_i) − b_i) + b_i with the magic box
    □(l) = exp(l − stop_gradient(l)). Its value is the Monte Carlo mean of f, its gradient is
    the estimator above, and its higher derivatives are unbiased too (for baselines that do
    not depend on the parameters). ``f`` need not be differentiable.

    With a control variate h(z; a) of known expectation (``rx.control_variates.delta_method``,
    ``muprop``), β h is subtracted as well and β ∇θ E_θ[h(z; a)] added back analytically.

    Args:
      f: maps ONE sample to a scalar.
      dist: any distribution with ``sample`` and ``log_prob``.
      key: a PRNG key; sample i uses ``jax.random.split(key, num_samples)[i]``.
      num_samples: N ≥ 1.
      chunk_size: evaluate the samples this many at a time.
      baseline: ``None``; a constant or an array of shape ``(num_samples,)`` (treated as
        constant: it must not depend on the samples it multiplies; e.g. from
        ``rx.control_variates.moving_average`` or ``learned_baseline``);
        ``"leave_one_out"``, b_i = mean_{j≠i} f(z_j) (then this is :func:`rloo`); or
        ``"optimal"``, the variance-minimising constant per parameter element,
        b_θ = E[f s_θ²]/E[s_θ²] with s = ∇θ log p, estimated leave-one-out from the other
        samples (Mohamed et al. 2020, §7.4; first derivatives only; N × P memory).
      control_variate: a ``rx.control_variates.ControlVariate`` or ``None``.
      cv_coefficient: β, the control variate's coefficient (default 1).

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
    validate("score_function", f, dist, key, num_samples, chunk_size)
    optimal = isinstance(baseline, str) and baseline == "optimal"
    per_sample = _per_sample(f, dist, key, num_samples, chunk_size, control_variate, optimal)
    values, log_probs = per_sample["value"], per_sample["log_prob"]
    shift = _resolve_baseline(baseline, values)
    correction = 0.0
    if control_variate is not None:
        anchor = stop_parameters(dist)
        cv_shift = cv_coefficient * per_sample["cv"]
        shift = cv_shift if shift is None else shift + cv_shift
        # β ∇θ E_θ[h(·; a)] with the anchor a fixed; zero-valued, zero φ-gradient.
        correction = cv_coefficient * (
            control_variate.expectation(dist, anchor) - control_variate.expectation(anchor, anchor)
        )
    if optimal:
        shift_cv = 0.0 if control_variate is None else cv_coefficient * per_sample["cv"]
        value = jnp.mean(values)
        return value + _optimal_baseline_surrogate(dist, per_sample, shift_cv) + correction
    return dice_surrogate(values, log_probs, shift) + correction


@register(
    "rloo",
    unbiased=True,
    differentiable_f=False,
    evaluations="1",
    requires=("log_prob", "fixed_support"),
    min_samples=2,
    references=(
        "Kool, van Hoof & Welling 2019, Buy 4 REINFORCE samples, get a baseline for free!, "
        "ICLR workshop, https://openreview.net/forum?id=r1lgTGL5DE",
    )
    + _REFERENCES,
)
def rloo(f, dist, key, *, num_samples=2, chunk_size=None):
    r"""REINFORCE with the leave-one-out baseline (RLOO).

    .. math:: ĝ = \frac{1}{N − 1} \sum_i (f(z_i) − \bar f) ∇_θ \log p_θ(z_i)

    which is the score-function estimator with b_i = mean_{j≠i} f(z_j); unbiased because b_i
    does not depend on z_i. Needs ``num_samples ≥ 2``.

    Args:
      f: maps ONE sample to a scalar.
      dist: any distribution with ``sample`` and ``log_prob``.
      key: a PRNG key.
      num_samples: N ≥ 2.
      chunk_size: evaluate the samples this many at a time.

    Returns:
      A scalar equal to the Monte Carlo mean of f whose derivative is the estimator.

    References:
      Kool, van Hoof & Welling (2019), https://openreview.net/forum?id=r1lgTGL5DE.
    """
    validate("rloo", f, dist, key, num_samples, chunk_size)
    per_sample = _per_sample(f, dist, key, num_samples, chunk_size, None, False)
    return dice_surrogate(
        per_sample["value"], per_sample["log_prob"], leave_one_out(per_sample["value"])
    )
