r"""Sequential stochastic programs: DiCE sample and cost nodes for rollouts in ``lax.scan``.

A sequential program (an RL rollout, a sequential decoder) makes stochastic choices
z₁, z₂, … with log-probabilities lₖ = log p_θ(zₖ | past) and incurs costs along the way.
A cost can only be caused by the choices made *before* it, so its score-function gradient
needs only their scores (causality, Schulman et al. 2015): the reward-to-go estimator. The
nodes below build, step by step, a surrogate whose value is the total cost and whose
derivatives of every order are that estimator (DiCE, Foerster et al. 2018), with two options
of Loaded DiCE (Farquhar, Whiteson & Foerster 2019): per-choice baselines and a discount λ of
distant dependencies.

The state carried through the program (a :class:`DiceState`) holds

* the discounted log-probability of the choices so far, wₖ = λ wₖ₋₁ + lₖ (w₀ = 0);
* the *weight* of a cost incurred now, Wₖ = 1 + Σ_{j≤k} Dⱼ with
  Dⱼ = □(wⱼ) − □(λ wⱼ₋₁) and □(x) = exp(x − ⊥x) DiCE's magic box (⊥ = stop_gradient).

:func:`sample_node` draws the next choice and updates both; :func:`cost_node` returns c·Wₖ
for a cost c incurred after choice k; :func:`baseline_node` returns −⊥(bₖ)·Dₖ for a baseline
bₖ of choice k. Summed over a rollout the terms are Loaded DiCE's objective,

.. math::

    \mathcal L = \sum_c c + \sum_k (□(w_k) − □(λ w_{k−1}))\,A_k,
    \qquad A_k = \sum_{c \text{ after } z_k} c \;−\; b_k,

rewritten per cost by exchanging the sums (Σₖ Dₖ Σ_{c after k} c = Σ_c c Σ_{k before c} Dₖ),
so each term is available at the step where its cost is incurred, with no backward pass over
the rollout. The leading Σ c (the 1 in Wₖ) restores the value: every □ has value 1, so
𝓛 evaluates to the total cost, and a cost that depends on θ directly (or through a pathwise
choice) contributes its own derivative.

Derivatives. Since ∇□(x) = □(x)∇x, ∇Dₖ = ∇wₖ − λ∇wₖ₋₁ = ∇lₖ for every λ, so the gradient
is the reward-to-go estimator with baselines, Σₖ ∇lₖ Aₖ, unbiased whatever λ. The Hessian is

.. math::

    \sum_k A_k \Big[∇^2 l_k + ∇l_k ∇l_k^⊤
        + \sum_{j<k} λ^{k−j} (∇l_k ∇l_j^⊤ + ∇l_j ∇l_k^⊤)\Big] + (\text{terms of } ∇c),

so λ = 1 (the default) is plain DiCE, □(wₖ) − □(wₖ₋₁) telescoping to Wₖ = □(Σ_{j≤k} lⱼ):
unbiased derivatives of every order. λ < 1 shrinks the cross terms of choices k − j steps
apart by λ^{k−j}: lower variance, but **biased** second and higher derivatives (the first
derivative stays unbiased). Baselines never bias any order as long as bₖ does not depend on
zₖ or later choices: Dₖ = □(λwₖ₋₁)(□(lₖ) − 1), and given the past E[∇ⁿ□(lₖ)] = ∇ⁿ Σ p = 0
for n ≥ 1.

The box is DiCE's exp(x − ⊥x) (``reparax.estimators._dice.magic_box``), whose derivatives
are right inside ``lax.scan`` to every order.

Example:
  A rollout of a 2-state, 2-action MDP in ``lax.scan``, one key per step::

    >>> import jax, jax.numpy as jnp
    >>> from reparax.distributions import Categorical
    >>> from reparax.sequential import cost_node, dice_init, sample_node
    >>> transitions = jnp.array([[[0.9, 0.1], [0.2, 0.8]], [[0.5, 0.5], [0.1, 0.9]]])
    >>> rewards = jnp.array([[1.0, 0.0], [0.0, 2.0]])
    >>> def episode(logits, key, horizon=4):
    ...     def step(carry, step_key):
    ...         state, s = carry
    ...         policy_key, env_key = jax.random.split(step_key)
    ...         state, a = sample_node(state, Categorical(logits[s]), policy_key)
    ...         term = cost_node(state, rewards[s, a])
    ...         s = jax.random.categorical(env_key, jnp.log(transitions[s, a]))
    ...         return (state, s), term
    ...     carry = (dice_init(), jnp.array(0))
    ...     _, terms = jax.lax.scan(step, carry, jax.random.split(key, horizon))
    ...     return jnp.sum(terms)
    >>> logits = jnp.zeros((2, 2))
    >>> keys = jax.random.split(jax.random.key(0), 16)
    >>> objective = lambda logits: jnp.mean(jax.vmap(episode, (None, 0))(logits, keys))
    >>> grad = jax.jit(jax.grad(objective))(logits)   # the reward-to-go policy gradient
    >>> grad.shape, jax.jit(jax.hessian(objective))(logits).shape
    ((2, 2), (2, 2, 2, 2))

References:
  Schulman, Heess, Weber & Abbeel (2015), Gradient estimation using stochastic computation
  graphs, https://arxiv.org/abs/1506.05254;
  Foerster, Farquhar, Al-Shedivat, Rocktäschel, Xing & Whiteson (2018), DiCE: the infinitely
  differentiable Monte Carlo estimator, https://arxiv.org/abs/1802.05098;
  Mao, Foerster, Rocktäschel, Al-Shedivat, Farquhar & Whiteson (2019), A baseline for any
  order gradient estimation in stochastic computation graphs, ICML;
  Farquhar, Whiteson & Foerster (2019), Loaded DiCE: trading off bias and variance in
  any-order score function estimators for reinforcement learning,
  https://arxiv.org/abs/1909.10549.
"""

from __future__ import annotations

import numbers
from typing import Any, NamedTuple, cast

import jax
import jax.numpy as jnp
import numpy as np

from reparax._checks import check_distribution, check_key
from reparax.capabilities import Reparameterized, has_capability
from reparax.distributions._base import Distribution
from reparax.estimators._dice import magic_box

#: ``method=`` values of :func:`sample_node`, lower-case, with their canonical name.
_METHODS = {
    "score_function": "score_function",
    "reinforce": "score_function",
    "pathwise": "pathwise",
}


class DiceState(NamedTuple):
    """The dependencies of a cost incurred now, carried through a sequential program.

    A pytree of scalar arrays: carry it through ``lax.scan``, ``vmap`` it over episodes.
    Build it with :func:`dice_init`; only :func:`sample_node` updates it.

    Attributes:
      log_weight: wₖ = λ wₖ₋₁ + lₖ, the discounted log-probability of the choices so far
        (0 before the first choice).
      weight: Wₖ = 1 + Σ_{j≤k} (□(wⱼ) − □(λ wⱼ₋₁)), the multiplier of a cost incurred now
        (value 1; □(wₖ) itself when λ = 1).
      previous_weight: Wₖ₋₁, the weight before the latest choice (for its baseline).
      discount: λ ∈ (0, 1], the discount of distant dependencies (1: unbiased DiCE).
    """

    log_weight: jax.Array
    weight: jax.Array
    previous_weight: jax.Array
    discount: jax.Array


def dice_init(discount: float | jax.Array = 1.0) -> DiceState:
    """The state before the first choice: no dependencies, weight 1.

    Args:
      discount: Loaded DiCE's λ ∈ (0, 1]. 1 (the default) gives unbiased derivatives of
        every order (plain DiCE); λ < 1 multiplies the second-order cross terms of choices
        d steps apart by λᵈ (and higher orders alike): less variance, **biased** derivatives
        of order ≥ 2; the gradient is unchanged. A traced value is accepted unchecked.

    Returns:
      A :class:`DiceState` of scalars in the default floating dtype.

    Raises:
      TypeError: ``discount`` is not a real number.
      ValueError: ``discount`` is not a scalar, or (when concrete) not in (0, 1].
    """
    if isinstance(discount, bool | str) or not (
        isinstance(discount, numbers.Real)
        or jnp.issubdtype(getattr(discount, "dtype", np.dtype(object)), jnp.floating)
        or jnp.issubdtype(getattr(discount, "dtype", np.dtype(object)), jnp.integer)
    ):
        raise TypeError(
            f"`discount` must be a real number in (0, 1], got {type(discount).__name__} "
            f"{discount!r}."
        )
    if jnp.shape(discount) != ():
        raise ValueError(f"`discount` must be a scalar, got shape {jnp.shape(discount)}.")
    if not isinstance(discount, jax.core.Tracer):
        value = float(np.asarray(discount))
        # Written so that NaN fails too (every comparison with NaN is False).
        if not 0.0 < value <= 1.0:
            raise ValueError(
                f"`discount` must be in (0, 1] (1: unbiased DiCE; < 1: Loaded DiCE's biased "
                f"discount of distant dependencies), got {value!r}."
            )
    dtype = jax.dtypes.canonicalize_dtype(jnp.float64)
    zero, one = jnp.zeros((), dtype), jnp.ones((), dtype)
    return DiceState(zero, one, one, jnp.asarray(discount, dtype))


def sample_node(
    state: DiceState, dist: Distribution, key: jax.Array, *, method: str = "score_function"
) -> tuple[DiceState, jax.Array]:
    """Draws a choice z ~ dist and makes it a dependency of every later cost.

    With ``method="score_function"`` (alias ``"reinforce"``) z carries no gradient; its
    log-probability l = ``dist.joint_log_prob(z)`` (summed over the batch: one choice) enters
    the state, w ← λ w + l, W ← W + □(w) − □(λ w_old), so later costs meet its score. The
    parameters of ``dist`` may depend on earlier choices and on θ; both are differentiated
    through l. With ``method="pathwise"`` z = ``dist.rsample(key)`` carries the
    reparameterization gradient into whatever uses it and the state is unchanged.

    Args:
      state: the current :class:`DiceState`.
      dist: a reparax distribution (its parameters may be traced).
      key: a PRNG key, used for this draw only (split a fresh one per step).
      method: ``"score_function"`` (default) or ``"pathwise"`` (families with ``rsample``).

    Returns:
      ``(new_state, z)``; z has ``dist``'s sample shape and dtype (integers for Categorical).

    Raises:
      TypeError: ``state``, ``dist`` or ``key`` has the wrong type, or ``method`` is no string.
      ValueError: unknown ``method``; ``"pathwise"`` for a family without reparameterization;
        ``"score_function"`` for a family whose support moves with its parameters.
    """
    _check_state(state)
    check_distribution(dist)
    key = check_key(key)
    method = _resolve_method(method)
    family = type(dist).__name__
    if method == "pathwise":
        if not has_capability(dist, Reparameterized):
            raise ValueError(
                f"sample_node: method='pathwise' needs a reparameterized family (with "
                f"`rsample`); {family} has none: use method='score_function'."
            )
        return state, cast(Reparameterized, dist).rsample(key)
    if not dist.fixed_support:
        hint = dist.capability_hints.get("fixed_support", "")
        raise ValueError(
            f"sample_node: method='score_function' differentiates the density only, which "
            f"misses the moving boundary of {family}'s support. {hint}".rstrip()
        )
    # stop_gradient although `sample` promises it: a hand-written family might not keep that
    # promise, and a gradient through z would be counted twice (pathwise and score).
    z = jax.lax.stop_gradient(dist.sample(key))
    dtype = state.log_weight.dtype
    log_prob = dist.joint_log_prob(z).astype(dtype)
    # λ is a hyperparameter, not a parameter of the objective: no derivative through it.
    discounted = jax.lax.stop_gradient(state.discount) * state.log_weight
    log_weight = discounted + log_prob
    # D = □(w) − □(λ w_old): value exactly 0 and derivative ∇l, so the weight's value stays 1
    # and its first derivative is the plain score sum whatever λ (Farquhar et al. 2019).
    weight = state.weight + (magic_box(log_weight) - magic_box(discounted))
    # astype keeps the scan carry's dtype fixed when a family computes in another precision.
    new_state = DiceState(log_weight, weight.astype(dtype), state.weight, state.discount)
    return new_state, z


def cost_node(state: DiceState, cost: Any) -> jax.Array:
    """The surrogate term of a cost incurred now: ``cost · W``.

    Its value is ``cost``; its derivatives credit the cost to the scores of the choices
    drawn so far only (the reward-to-go estimator; discounted by λ at orders ≥ 2), plus the
    derivative of ``cost`` itself where it depends on θ. Sum the terms over the program.

    Args:
      state: the :class:`DiceState` after the choices that may have caused the cost.
      cost: a real number or array (each element is credited to the same choices).

    Returns:
      An array of ``cost``'s shape.

    Raises:
      TypeError: ``state`` is no :class:`DiceState`, or ``cost`` is not real-valued.
    """
    _check_state(state)
    return _real("cost", cost) * state.weight


def baseline_node(state: DiceState, baseline: Any) -> jax.Array:
    """The surrogate term of a baseline b for the latest choice: ``−⊥(b) · (W − W_prev)``.

    Value 0. It subtracts b from the cost-to-go that multiplies the latest choice's score,
    at every derivative order (Loaded DiCE's advantage form): unbiased provided b does not
    depend on that choice or on later ones (a value function of the state it was drawn in,
    say), and a variance reduction when b tracks the cost-to-go. b is held fixed
    (``stop_gradient``): a learned baseline is trained by its own loss.

    At λ = 1 the term is ⊥(b)·□(wₖ₋₁)(1 − □(lₖ)). Mao et al.'s (1 − □(lₖ))·b has the same
    first derivative but leaves the cross terms ∇lⱼ∇lₖᵀ (j < k) of the second derivative
    without baseline; this form baselines them too (Farquhar et al. 2019).

    An advantage estimate Aₖ computed after the rollout (GAE, say) enters Loaded DiCE as
    Dₖ·Aₖ with Dₖ = ``state.weight − state.previous_weight`` recorded at step k; this
    function is that term for Aₖ = −b.

    Args:
      state: the :class:`DiceState` right after the choice that b is a baseline for.
      baseline: a real number or array (broadcast like ``cost``).

    Returns:
      An array of ``baseline``'s shape, with value 0.

    Raises:
      TypeError: ``state`` is no :class:`DiceState`, or ``baseline`` is not real-valued.
    """
    _check_state(state)
    baseline = jax.lax.stop_gradient(_real("baseline", baseline))
    return baseline * (state.previous_weight - state.weight)


def _check_state(state: Any) -> None:
    if not isinstance(state, DiceState):
        raise TypeError(
            "`state` must be a DiceState (from dice_init(), then sample_node), got "
            f"{type(state).__module__}.{type(state).__qualname__}."
        )


def _resolve_method(method: Any) -> str:
    if not isinstance(method, str):
        raise TypeError(f"`method` must be a string, got {type(method).__name__} {method!r}.")
    resolved = _METHODS.get(method.lower())
    if resolved is None:
        raise ValueError(
            f"sample_node: unknown `method` {method!r}; use 'score_function' (alias "
            "'reinforce') or 'pathwise'."
        )
    return resolved


def _real(name: str, value: Any) -> jax.Array:
    """``value`` as a real array, or ``TypeError`` naming the argument."""
    dtype = getattr(value, "dtype", None)
    if dtype is None and isinstance(value, numbers.Real):
        dtype = jnp.result_type(value)
    if (
        isinstance(value, bool)
        or dtype is None
        or not (jnp.issubdtype(dtype, jnp.floating) or jnp.issubdtype(dtype, jnp.integer))
    ):
        raise TypeError(
            f"`{name}` must be a real number or array, got {type(value).__name__} {value!r}."
        )
    return jnp.asarray(value)
