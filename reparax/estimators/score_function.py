"""Score-function (REINFORCE) gradients on the DiCE magic box, with baselines."""

from __future__ import annotations

import jax
import jax.numpy as jnp

from reparax._checks import validate
from reparax._registry import register
from reparax.estimators._sampling import map_samples

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
        if baseline != "leave_one_out":
            raise ValueError(
                f"`baseline` must be None, a number or array, or 'leave_one_out'; got {baseline!r}."
            )
        if values.shape[0] < 2:
            raise ValueError("baseline='leave_one_out' needs num_samples >= 2.")
        return leave_one_out(values)
    baseline = jnp.asarray(baseline, values.dtype)
    if baseline.shape not in ((), values.shape):
        raise ValueError(
            f"`baseline` must be a scalar or have shape (num_samples,) = {values.shape}; got "
            f"shape {baseline.shape}."
        )
    return baseline


def _values_and_log_probs(f, dist, key, num_samples, chunk_size):
    def one(sample_key):
        z = dist.sample(sample_key)
        return f(z), dist.joint_log_prob(z)

    return map_samples(one, key, num_samples, chunk_size)


@register(
    "score_function",
    unbiased=True,
    differentiable_f=False,
    evaluations="1",
    requires=("log_prob",),
    references=_REFERENCES,
    aliases=("reinforce",),
)
def score_function(f, dist, key, *, num_samples=1, chunk_size=None, baseline=None):
    r"""Score-function (REINFORCE / likelihood-ratio) estimator, built on DiCE.

    .. math:: ∇_θ E_{p_θ}[f(z)] = E_{p_θ}[(f(z) − b) ∇_θ \log p_θ(z)] + E[∇ f]

    computed as the surrogate mean_i □(log p(z_i)) (f(z_i) − b_i) + b_i with the magic box
    □(l) = exp(l − stop_gradient(l)). Its value is the Monte Carlo mean of f, its gradient is
    the estimator above, and its higher derivatives are unbiased too (for baselines that do
    not depend on the parameters). ``f`` need not be differentiable.

    Args:
      f: maps ONE sample to a scalar.
      dist: any distribution with ``sample`` and ``log_prob``.
      key: a PRNG key; sample i uses ``jax.random.split(key, num_samples)[i]``.
      num_samples: N ≥ 1.
      chunk_size: evaluate the samples this many at a time.
      baseline: ``None``; a constant or an array of shape ``(num_samples,)`` (treated as
        constant: it must not depend on the samples it multiplies); or ``"leave_one_out"``,
        b_i = mean_{j≠i} f(z_j) (then the estimator is :func:`rloo`).

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
      Mohamed et al. (2020), §4, https://arxiv.org/abs/1906.10652.
    """
    validate("score_function", f, dist, key, num_samples, chunk_size)
    values, log_probs = _values_and_log_probs(f, dist, key, num_samples, chunk_size)
    return dice_surrogate(values, log_probs, _resolve_baseline(baseline, values))


@register(
    "rloo",
    unbiased=True,
    differentiable_f=False,
    evaluations="1",
    requires=("log_prob",),
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
    values, log_probs = _values_and_log_probs(f, dist, key, num_samples, chunk_size)
    return dice_surrogate(values, log_probs, leave_one_out(values))
