"""ARM for Bernoulli variables and its categorical form ARS (augment-REINFORCE-swap)."""

from __future__ import annotations

from collections.abc import Callable

import jax
import jax.numpy as jnp

from reparax._keyed import bind_key
from reparax.capabilities import DirichletNoise, LogisticBits, OneHot
from reparax.estimator import Estimator
from reparax.estimators._sampling import linear_probe, map_samples


def _swapped(log_pi: jax.Array, reference: jax.Array) -> tuple[jax.Array, jax.Array]:
    """``(swapped, at_reference)``: swapped[..., c, k] is log π with classes c and J =
    ``reference`` exchanged, at class k; at_reference is log π_J.

    Written with selections, not gathers: a gather whose operand and indices are both
    batched (keys vmapped, inside a program's vmaps) was miscompiled by XLA's CPU backend
    in JAX 0.10 (rows of different keys mixed under ``jit``), and selections cost the same.
    """
    classes = jnp.arange(log_pi.shape[-1])
    at_reference = jnp.sum(jnp.where(classes == reference, log_pi, 0.0), axis=-1)
    rows, cols = classes[:, None], classes[None, :]
    swapped = jnp.where(
        cols == rows,
        at_reference[..., None, None],
        jnp.where(cols == reference, log_pi[..., :, None], log_pi[..., None, :]),
    )
    return swapped, at_reference


def _support_at(dist: DirichletNoise, support: jax.Array, index: jax.Array) -> jax.Array:
    """``support[index]``: class ``index`` of each element, as the value ``f`` receives.

    With the ``OneHot`` capability it is ``from_one_hot`` of a one-hot built by comparing
    ``index`` with an iota (what hand-written ARM does; equal to ``eye(K)[index]``), not a
    gather: the gather of a (K, K) identity at batched indices cost categorical ARM 16 %
    over hand-written ARM (``benchmarks/discrete_speed.py``; XLA's bytes 3.2 → 0.8 of
    hand-written's). Other finite families keep the gather.
    """
    if isinstance(dist, OneHot):
        classes = jnp.arange(dist.num_classes).reshape((1,) * index.ndim + (-1,))
        return dist.from_one_hot((index[..., None] == classes).astype(support.dtype))
    return support[index]


#: Up to this many classes the K swapped evaluations are unrolled; beyond, a ``lax.map``.
_UNROLL_CLASSES = 16


def _each_swap(cost: Callable[[jax.Array], jax.Array], swaps: jax.Array) -> jax.Array:
    """``cost`` at each of the K swapped samples, stacked.

    Not ``jax.vmap(cost)``: with the gradient flowing through ``cost`` (a program's
    continuation carrying upstream magic boxes) inside further vmaps, XLA's CPU backend in
    JAX 0.10.2 miscompiled the vmapped form under ``jit`` (wrong upstream gradients; found by
    tests/test_joint.py). The culprit is XLA's YNNPACK fusion (``__ynn_fusion``): one
    broadcast read by two reductions, wrong from a few thousand rows on, right with
    ``XLA_FLAGS=--xla_cpu_experimental_ynn_fusion_type=``; not a gather. Unrolled for few
    classes (what hand-written ARM does), a ``lax.map`` for many.
    """
    if swaps.shape[0] <= _UNROLL_CLASSES:
        return jnp.stack([cost(swaps[k]) for k in range(swaps.shape[0])])
    return jax.lax.map(cost, swaps)


def _arm(
    f: Callable[[jax.Array], jax.Array],
    dist: DirichletNoise,
    key: jax.Array,
    *,
    num_samples: int = 1,
    chunk_size: int | None = None,
) -> jax.Array:
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
    shared by all D elements); the value is the mean of the K draws. First derivatives only.

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
    num_classes = dist.num_classes
    support = dist.enumerate_support()
    if num_classes == 2:
        return jnp.mean(map_samples(_binary(f, dist, support), key, num_samples, chunk_size))

    def one(sample_key: jax.Array) -> jax.Array:
        noise = jax.lax.stop_gradient(dist.noise(sample_key))
        log_pi = dist.dirichlet_noise(noise)  # batch + (K,)
        reference = jax.random.randint(jax.random.fold_in(sample_key, 1), (), 0, num_classes)
        log_probs = dist.class_log_probs()
        swapped, at_reference = _swapped(log_pi, reference)
        scores = jax.lax.stop_gradient(log_probs)[..., None, :] - swapped  # batch + (K, K)
        index = jnp.moveaxis(jnp.argmax(scores, axis=-1), -1, 0)  # (K, *batch)
        cost = bind_key(f, sample_key)
        f_swaps = _each_swap(cost, _support_at(dist, support, index))  # (K,)
        # Centred on the first draw first: a large constant in f cancels exactly.
        centred = f_swaps - jax.lax.stop_gradient(f_swaps[0])
        signal = jax.lax.stop_gradient(centred - jnp.mean(centred))
        weight = 1.0 - num_classes * jnp.exp(at_reference)  # batch
        grad = jnp.reshape(signal, (1,) * weight.ndim + (num_classes,)) * weight[..., None]
        return jnp.mean(f_swaps) + linear_probe(log_probs, grad)  # grad: ∂/∂ log p

    return jnp.mean(map_samples(one, key, num_samples, chunk_size))


def _binary(
    f: Callable[[jax.Array], jax.Array], dist: DirichletNoise, support: jax.Array
) -> Callable[[jax.Array], jax.Array]:
    """ARS for K = 2 (ARM): the same estimate without the reference class or the K × K swaps.

    With two classes the reference J does not matter: for J = 0 and J = 1 alike the draws
    are z and z̃ (π₀ and π₁ exchanged), and ĝ_{d0} = ½ (f(z) − f(z̃)) (1 − 2π_{d0}) = −ĝ_{d1}
    (using π_{d0} + π_{d1} = 1). So J is not drawn (one threefry fewer per sample), and both
    draws are thresholds (selections, no argmax or gather).
    """

    def pick(first: jax.Array) -> jax.Array:  # support[1] where class 1 wins, else support[0]
        first = first.reshape(first.shape + (1,) * (support.ndim - 1))
        return jnp.where(first, support[1], support[0])

    def one(sample_key: jax.Array) -> jax.Array:
        noise = jax.lax.stop_gradient(dist.noise(sample_key))
        if isinstance(dist, LogisticBits):
            # π = (σ(ℓ), σ(−ℓ)): log π₁ − log π₀ = −ℓ and log p₁ − log p₀ = θ, so the draws
            # are ARM's own thresholds 1[θ + ℓ > 0] and 1[θ − ℓ > 0], with no logarithm.
            log_probs = dist.threshold_logits(noise)
            margin, gap = jax.lax.stop_gradient(dist.threshold_logits(noise)), -noise
            pi_0 = jax.nn.sigmoid(noise)
        else:
            log_pi = dist.dirichlet_noise(noise)
            log_probs = dist.class_log_probs()
            margin = jax.lax.stop_gradient(log_probs[..., 1] - log_probs[..., 0])
            gap, pi_0 = log_pi[..., 1] - log_pi[..., 0], jnp.exp(log_pi[..., 0])
        # argmax_k(log p_k − log π_k) picks class 0 on ties: strict comparisons do the same.
        draw, swapped = pick(margin > gap), pick(margin > -gap)
        cost = bind_key(f, sample_key)
        f_draw, f_swapped = cost(draw), cost(swapped)
        half_difference = jax.lax.stop_gradient(0.5 * (f_draw - f_swapped))
        g0 = half_difference * (1.0 - 2.0 * pi_0)
        # For bits the chain through (log σ(−θ), log σ(θ)) is g₀(−σ(θ)) + g₁σ(−θ) = g₁ = −g₀:
        # the estimate is attached to θ directly.
        grad = -g0 if isinstance(dist, LogisticBits) else jnp.stack([g0, -g0], axis=-1)
        return 0.5 * (f_draw + f_swapped) + linear_probe(log_probs, grad)

    return one


arm = Estimator(
    name="arm",
    fn=_arm,
    unbiased=True,
    differentiable_f=False,
    evaluations="K (2 for Bernoulli)",
    requires=(DirichletNoise,),
    count_evaluations=lambda dist: dist.num_classes,
    max_order=1,
    accepts_control_variate=True,
    references=(
        "Yin & Zhou 2019, ARM: Augment-REINFORCE-Merge Gradient for Stochastic Binary "
        "Networks, ICLR, arXiv:1807.11143",
        "Yin, Yue & Zhou 2019, ARSM: Augment-REINFORCE-Swap-Merge Estimator for Gradient "
        "Backpropagation Through Categorical Variables, ICML, arXiv:1905.01413",
    ),
)
