"""Coupled (antithetic) estimators for Bernoulli and categorical variables: ARM and DisARM.

Both are REINFORCE with a second, coupled draw as the baseline. ``arm`` is ARS (Yin, Yue &
Zhou 2019), the categorical form of ARM: the noise is read as a Dirichlet(1) vector π and
the second draws come from swapping two of its coordinates; for a Bernoulli (K = 2) it is
exactly ARM (Yin & Zhou 2019). ``disarm`` is the importance-weighted coupled estimator of
Dong, Mnih & Tucker (2021) on the antithetic stick-breaking coupling; for a Bernoulli it is
exactly DisARM (Dong, Mnih & Tucker 2020).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from reparax._checks import validate
from reparax._registry import register
from reparax.estimators._sampling import attach_gradient, linear_probe, map_samples
from reparax.estimators._stick_breaking import stick_breaking_pair, take_class


def _swap_permutations(num_classes: int, reference: jax.Array) -> jax.Array:
    """Row c is the permutation of the K classes that exchanges c and ``reference``."""
    classes = jnp.arange(num_classes)
    rows, cols = classes[:, None], classes[None, :]
    return jnp.where(cols == rows, reference, jnp.where(cols == reference, rows, cols))


@register(
    "arm",
    unbiased=True,
    differentiable_f=False,
    evaluations="K (2 for Bernoulli)",
    count_evaluations=lambda dist: dist.num_classes,
    requires=("dirichlet_noise",),
    references=(
        "Yin & Zhou 2019, ARM: Augment-REINFORCE-Merge Gradient for Stochastic Binary "
        "Networks, ICLR, arXiv:1807.11143",
        "Yin, Yue & Zhou 2019, ARSM: Augment-REINFORCE-Swap-Merge Estimator for Gradient "
        "Backpropagation Through Categorical Variables, ICML, arXiv:1905.01413",
    ),
)
def arm(f, dist, key, *, num_samples=1, chunk_size=None):
    r"""ARM for Bernoulli variables and its categorical form ARS (augment-REINFORCE-swap).

    Each element's noise is read as π ~ Dirichlet(1_K), with z = argmax_k(θ_k − log π_k)
    the usual draw. With a reference class J drawn uniformly per sample, let z^{c⇌J} be the
    draw after exchanging π_c and π_J in *every* element (an exact draw too, since π is
    exchangeable) and F_c = f(z^{c⇌J}). Then, for element d and class logit θ_dc,

    .. math:: ĝ_{dc} = \Big(F_c − \frac1K \sum_m F_m\Big) (1 − K π_{dJ})

    is unbiased (Yin, Yue & Zhou 2019, ARS) and chained to the parameters through the
    normalized class log-probabilities. For a Bernoulli (K = 2, π = (σ(ℓ), σ(−ℓ))) the swap
    is ℓ → −ℓ and this is ARM, ĝ = (f(b₁) − f(b₂))(u − ½) with b₁ = 1[θ + ℓ > 0],
    b₂ = 1[θ − ℓ > 0], u = σ(ℓ). K f-evaluations per sample (the swaps of the same J are
    shared by all D elements); the value is the mean of the K draws.

    Args:
      f: maps ONE sample to a scalar.
      dist: a ``Bernoulli``, ``Categorical`` or ``OneHotCategorical``.
      key: a PRNG key.
      num_samples: N ≥ 1.
      chunk_size: evaluate the samples this many at a time.

    Returns:
      A scalar equal to the Monte Carlo mean of f whose derivative is the estimator.

    Example:
      >>> import jax, jax.numpy as jnp, reparax as rx
      >>> dist = rx.OneHotCategorical(jnp.zeros((2, 3)))
      >>> f = lambda z: jnp.sum(z[:, 0])
      >>> g = jax.grad(lambda d: rx.arm(f, d, jax.random.key(0), num_samples=4000))(dist)
      >>> bool(jnp.allclose(g.logits[:, 0], 2 / 9, atol=0.03))
      True

    References:
      Yin & Zhou (2019), https://arxiv.org/abs/1807.11143;
      Yin, Yue & Zhou (2019), https://arxiv.org/abs/1905.01413.
    """
    validate("arm", f, dist, key, num_samples, chunk_size)
    num_classes = dist.num_classes
    support = dist.enumerate_support()

    def one(sample_key):
        noise = jax.lax.stop_gradient(dist.noise(sample_key))
        log_pi = dist.dirichlet_noise(noise)  # batch + (K,)
        reference = jax.random.randint(jax.random.fold_in(sample_key, 1), (), 0, num_classes)
        log_probs = dist.class_log_probs()
        swapped = jnp.take(log_pi, _swap_permutations(num_classes, reference), axis=-1)
        scores = jax.lax.stop_gradient(log_probs)[..., None, :] - swapped  # batch + (K, K)
        index = jnp.moveaxis(jnp.argmax(scores, axis=-1), -1, 0)  # (K, *batch)
        f_swaps = jax.vmap(f)(support[index])  # (K,)
        weight = 1.0 - num_classes * jnp.exp(jnp.take(log_pi, reference, axis=-1))  # batch
        centered = jnp.reshape(f_swaps - jnp.mean(f_swaps), (1,) * weight.ndim + (num_classes,))
        grad = centered * weight[..., None]  # ∂/∂ log p, batch + (K,)
        return jnp.mean(f_swaps) + linear_probe(log_probs, grad)

    return jnp.mean(map_samples(one, key, num_samples, chunk_size))


@register(
    "disarm",
    unbiased=True,
    differentiable_f=False,
    evaluations="2",
    count_evaluations=lambda dist: 2,
    requires=("uniform_noise",),
    references=(
        "Dong, Mnih & Tucker 2020, DisARM: An Antithetic Gradient Estimator for Binary Latent "
        "Variables, NeurIPS, arXiv:2006.10680",
        "Yin, Ho, Zhang, Hong & Zhou 2020, Probabilistic Best Subset Selection via "
        "Gradient-Based Optimization (U2G), arXiv:2006.06448",
        "Dong, Mnih & Tucker 2021, Coupled Gradient Estimators for Discrete Latent "
        "Variables, NeurIPS, arXiv:2106.08056",
    ),
)
def disarm(f, dist, key, *, num_samples=1, chunk_size=None):
    r"""DisARM: the importance-weighted antithetic estimator (binary and categorical).

    Draw an antithetic pair (z, z̃) from the stick-breaking coupling p(z, z̃) (classes in
    ascending probability; see ``reparax.estimators._stick_breaking``), both exact draws of
    q = p_θ. With w_d = q_d(z_d) q_d(z̃_d) / p_d(z_d, z̃_d) for element d,

    .. math:: ĝ = \sum_d ½ (f(z) − f(z̃))\, w_d\, ∇_θ\big(\log q_d(z_d) − \log q_d(z̃_d)\big)

    is unbiased: per element it is the two-sample leave-one-out REINFORCE estimator,
    importance-weighted from q ⊗ q to the coupling (Dong, Mnih & Tucker 2021, §3), and the
    ascending order gives the coupling positive mass on every pair z_d ≠ z̃_d. For a
    Bernoulli it is DisARM, ĝ_d = ½ (f(b₁) − f(b₂)) (−1)^{b_{2,d}} 1[b_{1,d} ≠ b_{2,d}]
    σ(|θ_d|) (Dong et al. 2020; never of higher variance than ARM, Thm. 1). 2 f-evaluations
    per sample; the value is ½ (f(z) + f(z̃)).

    Args:
      f: maps ONE sample to a scalar.
      dist: a ``Bernoulli``, ``Categorical`` or ``OneHotCategorical``.
      key: a PRNG key.
      num_samples: N ≥ 1.
      chunk_size: evaluate the samples this many at a time.

    Returns:
      A scalar equal to the Monte Carlo mean of f whose derivative is the estimator.

    Example:
      >>> import jax, jax.numpy as jnp, reparax as rx
      >>> dist = rx.Categorical(jnp.zeros(3))
      >>> f = lambda z: (z == 0).astype(jnp.float32)
      >>> g = jax.grad(lambda d: rx.disarm(f, d, jax.random.key(0), num_samples=4000))(dist)
      >>> bool(jnp.allclose(g.logits, jnp.array([2.0, -1.0, -1.0]) / 9, atol=0.03))
      True

    References:
      Dong, Mnih & Tucker (2020), https://arxiv.org/abs/2006.10680;
      Dong, Mnih & Tucker (2021), https://arxiv.org/abs/2106.08056.
    """
    validate("disarm", f, dist, key, num_samples, chunk_size)
    support = dist.enumerate_support()

    def one(sample_key):
        noise = jax.lax.stop_gradient(dist.noise(sample_key))
        log_probs = dist.class_log_probs()
        index, antithetic, log_weight = stick_breaking_pair(log_probs, *dist.uniform_noise(noise))
        f1, f2 = f(support[index]), f(support[antithetic])
        coefficient = jax.lax.stop_gradient(0.5 * (f1 - f2) * jnp.exp(log_weight))
        log_ratio = take_class(log_probs, index) - take_class(log_probs, antithetic)
        return attach_gradient(0.5 * (f1 + f2), jnp.sum(coefficient * log_ratio))

    return jnp.mean(map_samples(one, key, num_samples, chunk_size))
