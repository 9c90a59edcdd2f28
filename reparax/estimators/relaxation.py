"""Continuous relaxations and straight-through estimators (biased) for discrete variables."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from reparax._checks import check_count, validate
from reparax._registry import register
from reparax.distributions.bernoulli import Bernoulli
from reparax.estimators._sampling import finite_or_zero, map_samples

_BIASED = "Biased: the gradient is that of a relaxed (or straight-through) objective, not of E[f]."


def check_temperature(temperature) -> None:
    """A temperature must be a positive float (an array is fine, and may be traced)."""
    if isinstance(temperature, (str, bytes)) or temperature is None:
        raise TypeError(f"`temperature` must be a positive float, got {temperature!r}.")
    if not jnp.issubdtype(jnp.result_type(temperature), jnp.floating) and not isinstance(
        temperature, int
    ):
        raise TypeError(f"`temperature` must be a positive float, got {temperature!r}.")
    if not isinstance(temperature, jax.core.Tracer) and bool(np.any(np.asarray(temperature) <= 0)):
        raise ValueError(f"`temperature` must be > 0, got {temperature!r}.")


def _straight_through(hard, soft):
    """Forward: exactly ``hard``. Backward: as if it were ``soft``."""
    return jax.lax.stop_gradient(hard) + (soft - jax.lax.stop_gradient(soft))


def _relaxation(name, evaluations="1", requires=("relaxed_transform",), references=()):
    return register(
        name,
        unbiased=False,
        differentiable_f=True,
        evaluations=evaluations,
        requires=requires,
        references=references,
    )


_GUMBEL_SOFTMAX_REFS = (
    "Jang, Gu & Poole 2017, Categorical Reparameterization with Gumbel-Softmax, ICLR, "
    "arXiv:1611.01144",
    "Maddison, Mnih & Teh 2017, The Concrete Distribution, ICLR, arXiv:1611.00712",
)


@_relaxation("gumbel_softmax", references=_GUMBEL_SOFTMAX_REFS)
def gumbel_softmax(f, dist, key, *, num_samples=1, chunk_size=None, temperature=1.0):
    r"""Gumbel-softmax / Concrete relaxation (biased).

    f is evaluated at the relaxed sample y = softmax((θ + G)/τ), G ~ Gumbel(0, 1)
    (binary: y = σ((θ + ℓ)/τ), ℓ logistic), and differentiated pathwise:

    .. math:: ĝ = \frac1N \sum_i ∇_θ f(\mathrm{softmax}((θ + G_i)/τ)).

    Both the value and the gradient are those of the relaxed objective E[f(y)], which
    tends to E[f(z)] as τ → 0 while the variance grows. ``temperature`` may be a traced,
    differentiable array. Biased.

    Args:
      f: maps ONE (relaxed) sample to a scalar; must be defined on the simplex / (0, 1).
      dist: ``OneHotCategorical`` or ``Bernoulli``.
      key: a PRNG key.
      num_samples: N ≥ 1.
      chunk_size: evaluate the samples this many at a time.
      temperature: τ > 0.

    Returns:
      The relaxed objective's Monte Carlo estimate, differentiable pathwise.

    References:
      Jang, Gu & Poole (2017), https://arxiv.org/abs/1611.01144;
      Maddison, Mnih & Teh (2017), https://arxiv.org/abs/1611.00712.
    """
    validate("gumbel_softmax", f, dist, key, num_samples, chunk_size)
    check_temperature(temperature)

    def one(sample_key):
        return f(dist.relaxed_transform(dist.noise(sample_key), temperature))

    return jnp.mean(map_samples(one, key, num_samples, chunk_size))


@_relaxation(
    "straight_through",
    references=(
        "Bengio, Léonard & Courville 2013, Estimating or Propagating Gradients Through "
        "Stochastic Neurons for Conditional Computation, arXiv:1308.3432",
    ),
)
def straight_through(f, dist, key, *, num_samples=1, chunk_size=None):
    r"""Straight-through estimator (biased).

    The forward pass uses the hard sample D exactly; the backward pass treats it as the
    probabilities p (softmax(θ), or σ(θ) for bits): z = D + p − stop_gradient(p), so

    .. math:: ĝ = \frac1N \sum_i (∂p/∂θ)^⊤ ∇_z f(z)|_{z = D_i}.

    Args:
      f: maps ONE sample to a scalar; must be differentiable.
      dist: ``OneHotCategorical`` or ``Bernoulli``.
      key: a PRNG key.
      num_samples: N ≥ 1.
      chunk_size: evaluate the samples this many at a time.

    Returns:
      The Monte Carlo mean of f at hard samples (exact forward values), with the
      straight-through gradient.

    References:
      Bengio, Léonard & Courville (2013), https://arxiv.org/abs/1308.3432.
    """
    validate("straight_through", f, dist, key, num_samples, chunk_size)

    def one(sample_key):
        return f(_straight_through(dist.sample(sample_key), dist.mean()))

    return jnp.mean(map_samples(one, key, num_samples, chunk_size))


@_relaxation("st_gumbel_softmax", references=_GUMBEL_SOFTMAX_REFS)
def st_gumbel_softmax(f, dist, key, *, num_samples=1, chunk_size=None, temperature=1.0):
    r"""Straight-through Gumbel-softmax (biased).

    Forward: the hard sample D = one_hot(argmax(θ + G)). Backward: through the relaxed
    sample y = softmax((θ + G)/τ) of the same Gumbel noise: z = D + y − stop_gradient(y).

    Args:
      f: maps ONE sample to a scalar; must be differentiable.
      dist: ``OneHotCategorical`` or ``Bernoulli``.
      key: a PRNG key.
      num_samples: N ≥ 1.
      chunk_size: evaluate the samples this many at a time.
      temperature: τ > 0 (may be traced).

    Returns:
      The Monte Carlo mean of f at hard samples, with the ST-Gumbel-softmax gradient.

    References:
      Jang, Gu & Poole (2017), https://arxiv.org/abs/1611.01144.
    """
    validate("st_gumbel_softmax", f, dist, key, num_samples, chunk_size)
    check_temperature(temperature)

    def one(sample_key):
        noise = dist.noise(sample_key)
        return f(
            _straight_through(dist.transform(noise), dist.relaxed_transform(noise, temperature))
        )

    return jnp.mean(map_samples(one, key, num_samples, chunk_size))


def conditional_noise(dist, key, hard):
    """Noise G̃ ~ p(G | transform(G) = hard), held fixed (no gradient through the sampler)."""
    perturbed = jax.lax.stop_gradient(dist.conditional_perturbed(key, hard))
    noise = perturbed - jax.lax.stop_gradient(dist.perturbed(jnp.zeros_like(perturbed)))
    # A class of probability 0 has θ = −inf and stays there whatever its noise (−inf − −inf).
    return finite_or_zero(noise)


@_relaxation(
    "gumbel_rao",
    evaluations="1",
    requires=("relaxed_transform", "conditional_perturbed"),
    references=(
        "Paulus, Maddison & Krause 2021, Rao-Blackwellizing the Straight-Through "
        "Gumbel-Softmax Gradient Estimator, ICLR, arXiv:2010.04838",
    ),
)
def gumbel_rao(f, dist, key, *, num_samples=1, chunk_size=None, temperature=1.0, num_draws=10):
    r"""Gumbel-Rao: straight-through Gumbel-softmax, Rao-Blackwellized over the noise (biased).

    Forward: the hard sample D. Backward: through the mean of ``num_draws`` relaxed samples
    whose Gumbel noise is drawn conditionally on argmax(θ + G) = D (top-down construction):

    .. math:: ĝ = (∂/∂θ)\, \frac1K \sum_{k=1}^{K} \mathrm{softmax}((θ + G_k)/τ)^⊤ ∇_D f(D),
              \quad G_k \sim p(G \mid D).

    The first draw is the noise that produced D (itself a draw from p(G | D)), so with
    ``num_draws=1`` this is exactly ST-Gumbel-softmax with the same key; more draws lower the
    variance at the cost of K relaxations (still one f-evaluation).

    Args:
      f: maps ONE sample to a scalar; must be differentiable.
      dist: ``OneHotCategorical`` or ``Bernoulli``.
      key: a PRNG key.
      num_samples: N ≥ 1.
      chunk_size: evaluate the samples this many at a time.
      temperature: τ > 0 (may be traced).
      num_draws: K ≥ 1 conditional Gumbel draws per sample.

    Returns:
      The Monte Carlo mean of f at hard samples, with the Gumbel-Rao gradient.

    References:
      Paulus, Maddison & Krause (2021), https://arxiv.org/abs/2010.04838.
    """
    validate("gumbel_rao", f, dist, key, num_samples, chunk_size)
    check_temperature(temperature)
    check_count("num_draws", num_draws)

    def one(sample_key):
        noise = dist.noise(sample_key)  # the same noise as st_gumbel_softmax draws
        hard = jax.lax.stop_gradient(dist.transform(noise))
        draws = jax.random.split(jax.random.fold_in(sample_key, 1), num_draws - 1)
        extra = jax.vmap(lambda k: conditional_noise(dist, k, hard))(draws)
        noises = jnp.concatenate([noise[None], extra])
        soft = jnp.mean(jax.vmap(lambda g: dist.relaxed_transform(g, temperature))(noises), 0)
        return f(_straight_through(hard, soft))

    return jnp.mean(map_samples(one, key, num_samples, chunk_size))


def _softmax_jacobian_times(probs, vector):
    """J(p) v = p ⊙ v − p (pᵀv), J(p) = diag(p) − p pᵀ (symmetric), on the last axis."""
    return probs * vector - probs * jnp.sum(probs * vector, axis=-1, keepdims=True)


@_relaxation(
    "reinmax",
    references=(
        "Liu, Liu, Gao, Chen & Han 2023, Bridging Discrete and Backpropagation: "
        "Straight-Through and Beyond (ReinMax), NeurIPS, arXiv:2304.08612",
    ),
)
def reinmax(f, dist, key, *, num_samples=1, chunk_size=None, temperature=1.0):
    r"""ReinMax: a second-order (Heun's method) straight-through estimator (biased).

    With π = softmax(θ), the hard sample D, p̄ = ½(softmax(θ/τ) + D), g = ∂f/∂D and
    J(p)g = p ⊙ g − p (pᵀg):

    .. math:: ĝ = 2 J(p̄) g − ½ J(π) g.

    The forward value is f(D) exactly. A Bernoulli is treated as a two-class categorical
    with logits (0, θ).

    Args:
      f: maps ONE sample to a scalar; must be differentiable.
      dist: ``OneHotCategorical`` or ``Bernoulli``.
      key: a PRNG key.
      num_samples: N ≥ 1.
      chunk_size: evaluate the samples this many at a time.
      temperature: τ > 0 (the paper recommends τ ≥ 1).

    Returns:
      The Monte Carlo mean of f at hard samples, with the ReinMax gradient.

    References:
      Liu et al. (2023), https://arxiv.org/abs/2304.08612.
    """
    validate("reinmax", f, dist, key, num_samples, chunk_size)
    check_temperature(temperature)
    binary = isinstance(dist, Bernoulli)

    def one(sample_key):
        hard = dist.sample(sample_key)
        if binary:
            # The two class log-probabilities, not (0, θ): finite softmax inputs at θ = ±inf.
            logits = dist.class_log_probs()
            hard = jnp.stack([1.0 - hard, hard], axis=-1)
        else:
            logits = jnp.broadcast_to(dist.logits, hard.shape)
        pi = jax.lax.stop_gradient(jax.nn.softmax(logits, axis=-1))
        p_bar = jax.lax.stop_gradient(0.5 * (jax.nn.softmax(logits / temperature, axis=-1) + hard))
        # −inf logits (probability 0) have zero rows in both Jacobians below.
        logits = finite_or_zero(logits)
        # Linear in θ with the symmetric matrix 2J(p̄) − ½J(π): its VJP applies that matrix.
        linear = 2.0 * _softmax_jacobian_times(p_bar, logits) - 0.5 * _softmax_jacobian_times(
            pi, logits
        )
        z = _straight_through(hard, linear)
        return f(z[..., 1] if binary else z)

    return jnp.mean(map_samples(one, key, num_samples, chunk_size))
