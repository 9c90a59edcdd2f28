"""Sequential programs (``reparax.sequential``): DiCE nodes inside ``lax.scan``.

The reference is a 2-state, 2-action MDP with stochastic transitions, horizon 3, and a
softmax policy θ[s, a]. Its expected return, policy gradient and policy Hessian are computed
exactly by enumerating all 2³ · 2³ trajectories and differentiating Σ_τ p_θ(τ) R(τ) with
``jax.grad`` / ``jax.hessian``: nothing of ``reparax.sequential`` is used. The estimator's
per-trajectory values (reward-to-go, whole-return REINFORCE, Loaded DiCE's Hessian) are also
written out by hand from the per-step scores, which gives their exact means and variances by
the same enumeration.
"""

from __future__ import annotations

import functools
import itertools
import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from reparax.distributions import Bernoulli, Categorical, Normal, Uniform
from reparax.estimators._dice import magic_box as library_magic_box
from reparax.sequential import DiceState, baseline_node, cost_node, dice_init, sample_node
from tests.stats import assert_unbiased, assert_variance, assert_variance_lower

# -- the MDP ---------------------------------------------------------------------------------
# Chosen (by enumerating the estimators' exact variances over ~200 random MDPs) so
# that every gradient coordinate and both diagonal blocks of the Hessian are large enough for
# 5 standard errors to be below 5% of them with 2¹⁷ episodes (the Hessian with the value
# baseline needs ≈ 80 000; the others 20 000 to 40 000).

HORIZON = 3
INITIAL = jnp.array([0.5, 0.5])
TRANSITIONS = jnp.array([[[0.56, 0.44], [0.23, 0.77]], [[0.73, 0.27], [0.21, 0.79]]])  # P[s,a,s']
REWARDS = jnp.array([[0.9, -0.8], [-1.1, 0.9]])  # r(s, a), the per-step cost
THETA = jnp.array([[0.6, -0.9], [-0.7, 1.3]])  # policy logits θ[s, a]
NUM_PARAMS = THETA.size
NUM_EPISODES = 2**17
DISCOUNT = 0.25  # Loaded DiCE's λ < 1 in the tests of its bias

_TRAJECTORIES = np.array(
    [
        (states, actions)
        for states in itertools.product(range(2), repeat=HORIZON)
        for actions in itertools.product(range(2), repeat=HORIZON)
    ]
)
ALL_STATES, ALL_ACTIONS = jnp.asarray(_TRAJECTORIES[:, 0]), jnp.asarray(_TRAJECTORIES[:, 1])


def trajectory_log_probs(theta: jax.Array) -> jax.Array:
    """log p_θ(τ) of every trajectory: initial state, policy, transitions."""
    s, a = ALL_STATES, ALL_ACTIONS
    policy = jax.nn.log_softmax(theta, axis=-1)[s, a].sum(axis=1)
    dynamics = jnp.log(TRANSITIONS[s[:, :-1], a[:, :-1], s[:, 1:]]).sum(axis=1)
    return jnp.log(INITIAL[s[:, 0]]) + policy + dynamics


def expected_return(theta: jax.Array) -> jax.Array:
    returns = REWARDS[ALL_STATES, ALL_ACTIONS].sum(axis=1)
    return jnp.sum(jnp.exp(trajectory_log_probs(theta)) * returns)


def value_table_for(rewards: jax.Array, theta: jax.Array = THETA) -> jax.Array:
    """V[t, s]: the expected reward-to-go from state s at step t (backward recursion), the
    baseline of the choice made there; it does not depend on that choice."""
    policy = jax.nn.softmax(theta, axis=-1)
    rows, later = [], jnp.zeros(2)
    for _ in range(HORIZON):
        later = jnp.sum(policy * (rewards + TRANSITIONS @ later), axis=-1)
        rows.insert(0, later)
    return jnp.stack(rows)


# jit: compiling each is cheaper than dispatching their many small ops one by one.
EXACT_GRAD = np.asarray(jax.jit(jax.grad(expected_return))(THETA), np.float64).ravel()
EXACT_HESSIAN = np.asarray(jax.jit(jax.hessian(expected_return))(THETA), np.float64).reshape(
    NUM_PARAMS, NUM_PARAMS
)
VALUES = jax.jit(value_table_for)(REWARDS)
NO_BASELINE = jnp.zeros((HORIZON, 2))

# -- the program under test --------------------------------------------------------------------


def rollout(theta, key, discount=1.0, values=None, rewards=REWARDS):
    """One episode in ``lax.scan``: the surrogate and the (states, actions) it visited."""
    init_key, key = jax.random.split(key)
    s0 = jax.random.categorical(init_key, jnp.log(INITIAL))

    def step(carry, inputs):
        state, s = carry
        t, step_key = inputs
        policy_key, env_key = jax.random.split(step_key)
        state, a = sample_node(state, Categorical(theta[s]), policy_key)
        term = cost_node(state, rewards[s, a])
        if values is not None:
            term = term + baseline_node(state, values[t, s])
        s_next = jax.random.categorical(env_key, jnp.log(TRANSITIONS[s, a]))
        return (state, s_next), (term, s, a)

    inputs = (jnp.arange(HORIZON), jax.random.split(key, HORIZON))
    _, (terms, states, actions) = jax.lax.scan(step, (dice_init(discount), s0), inputs)
    return jnp.sum(terms), (states, actions)


def rollout_unrolled(theta, key, discount=1.0, values=None):
    """The same program with a Python loop instead of ``lax.scan`` (same keys)."""
    init_key, key = jax.random.split(key)
    s = jax.random.categorical(init_key, jnp.log(INITIAL))
    state, total = dice_init(discount), 0.0
    for t, step_key in enumerate(jax.random.split(key, HORIZON)):
        policy_key, env_key = jax.random.split(step_key)
        state, a = sample_node(state, Categorical(theta[s]), policy_key)
        total = total + cost_node(state, REWARDS[s, a])
        if values is not None:
            total = total + baseline_node(state, values[t, s])
        s = jax.random.categorical(env_key, jnp.log(TRANSITIONS[s, a]))
    return total


def per_episode(theta, key, discount, values, rewards=REWARDS):
    """Value, gradient and Hessian of one episode's surrogate, and the path it took."""

    def grad_and_rest(th):
        (value, path), grad = jax.value_and_grad(rollout, has_aux=True)(
            th, key, discount, values, rewards
        )
        return grad, (value, grad, path)

    hessian, (value, grad, (states, actions)) = jax.jacfwd(grad_and_rest, has_aux=True)(theta)
    return {
        "value": value,
        "grad": grad.reshape(NUM_PARAMS),
        "hessian": hessian.reshape(NUM_PARAMS, NUM_PARAMS),
        "states": states,
        "actions": actions,
    }


# Compiled once each, with λ, the baselines and the costs as traced arguments.
_one_episode = jax.jit(per_episode)
_many_episodes = jax.jit(jax.vmap(per_episode, in_axes=(None, 0, None, None)))
KEYS = jax.random.split(jax.random.key(2024), NUM_EPISODES)


@functools.cache
def episodes(discount: float, baseline: bool) -> dict[str, np.ndarray]:
    """Per-episode estimates on the same 2¹⁷ fixed keys for every setting."""
    values = VALUES if baseline else NO_BASELINE
    return {k: np.asarray(v) for k, v in _many_episodes(THETA, KEYS, discount, values).items()}


# -- the estimators written out by hand from the per-step scores --------------------------


def step_derivatives(theta, states, actions):
    """∇θ lₜ (T, P) and ∇²θ lₜ (T, P, P) of lₜ = log π_θ(aₜ | sₜ)."""

    def log_pi(th, s, a):
        return jax.nn.log_softmax(th[s])[a]

    grads = jax.vmap(jax.grad(log_pi), (None, 0, 0))(theta, states, actions)
    hessians = jax.vmap(jax.hessian(log_pi), (None, 0, 0))(theta, states, actions)
    return grads.reshape(HORIZON, NUM_PARAMS), hessians.reshape(HORIZON, NUM_PARAMS, NUM_PARAMS)


def advantages(states, actions, values):
    """Aₜ = Σ_{t' ≥ t} r_{t'} − V[t, sₜ] (reward-to-go minus the baseline)."""
    rewards = REWARDS[states, actions]
    to_go = jnp.cumsum(rewards[::-1])[::-1]
    return to_go - values[jnp.arange(HORIZON), states]


def reward_to_go_gradient(theta, states, actions, values=NO_BASELINE):
    """Σₜ ∇lₜ Aₜ: each step's score times the costs from that step on."""
    grads, _ = step_derivatives(theta, states, actions)
    return advantages(states, actions, values) @ grads


def whole_return_gradient(theta, states, actions):
    """REINFORCE on the whole return: (Σₜ rₜ)(Σₜ ∇lₜ), every score meets every cost."""
    grads, _ = step_derivatives(theta, states, actions)
    return jnp.sum(REWARDS[states, actions]) * grads.sum(axis=0)


def loaded_dice_hessian(theta, states, actions, discount, values=NO_BASELINE):
    """Σₜ Aₜ [∇²lₜ + ∇lₜ∇lₜᵀ + Σ_{j<t} λ^{t−j} (∇lₜ∇lⱼᵀ + ∇lⱼ∇lₜᵀ)] (Farquhar et al. 2019)."""
    grads, hessians = step_derivatives(theta, states, actions)
    adv = advantages(states, actions, values)
    total = jnp.zeros((NUM_PARAMS, NUM_PARAMS))
    for t in range(HORIZON):
        inner = hessians[t] + jnp.outer(grads[t], grads[t])
        for j in range(t):
            cross = jnp.outer(grads[t], grads[j])
            inner = inner + discount ** (t - j) * (cross + cross.T)
        total = total + adv[t] * inner
    return total


def exp_box(x):
    """DiCE's magic box in its original form, for the definitions written by hand."""
    return jnp.exp(x - jax.lax.stop_gradient(x))


def loaded_dice_objective(theta, states, actions, discount, values=NO_BASELINE):
    """Σₜ rₜ + Σₜ (□(wₜ) − □(wₜ − lₜ)) Aₜ with wₜ = Σ_{j≤t} λ^{t−j} lⱼ, as in the paper."""
    logs = jax.nn.log_softmax(theta, axis=-1)[states, actions]
    t, j = np.arange(HORIZON)[:, None], np.arange(HORIZON)[None, :]
    powers = jnp.where(j <= t, jnp.asarray(discount, logs.dtype) ** np.maximum(t - j, 0), 0.0)
    w = powers @ logs
    adv = advantages(states, actions, values)
    return jnp.sum(REWARDS[states, actions]) + jnp.sum((exp_box(w) - exp_box(w - logs)) * adv)


def plain_dice_objective(theta, states, actions, values=NO_BASELINE):
    """Σₜ rₜ □(Σ_{j≤t} lⱼ) + Σₜ bₜ (□(Σ_{j<t} lⱼ) − □(Σ_{j≤t} lⱼ)): DiCE with baselines."""
    logs = jax.nn.log_softmax(theta, axis=-1)[states, actions]
    upto = jnp.cumsum(logs)
    before = upto - logs
    b = values[jnp.arange(HORIZON), states]
    rewards = REWARDS[states, actions]
    return jnp.sum(rewards * exp_box(upto)) + jnp.sum(b * (exp_box(before) - exp_box(upto)))


def exact_moments(estimate):
    """Mean and per-coordinate variance of a per-trajectory estimate, by enumeration."""
    probs = np.asarray(jnp.exp(trajectory_log_probs(THETA)), np.float64)
    values = np.asarray(jax.jit(jax.vmap(estimate))(ALL_STATES, ALL_ACTIONS), np.float64)
    values = values.reshape(len(probs), -1)
    mean = probs @ values
    return mean, probs @ (values - mean) ** 2


def first_episodes(discount: float, baseline: bool, num: int = 16) -> dict[str, np.ndarray]:
    """The first ``num`` episodes of the runs, one at a time: fixed trajectories with my
    derivatives (the compiled single episode; the batched run is checked against it)."""
    values = VALUES if baseline else NO_BASELINE
    rows = [_one_episode(THETA, key, discount, values) for key in KEYS[:num]]
    return {k: np.stack([np.asarray(row[k]) for row in rows]) for k in rows[0]}


def hand(fn, run, *args):
    """``fn(states, actions, *args)`` on each recorded trajectory of ``run``, stacked."""
    states, actions = jnp.asarray(run["states"]), jnp.asarray(run["actions"])
    return np.asarray(jax.jit(jax.vmap(lambda s, a: fn(s, a, *args)))(states, actions))


@jax.jit
@functools.partial(jax.vmap, in_axes=(0, 0, None, None))
def by_hand(states, actions, discount, values):
    """Everything the fixed-trajectory tests compare with, compiled once (λ and the
    baselines traced): the return, the reward-to-go gradient, the Hessian of Loaded DiCE's
    objective and its formula, and plain DiCE's value, gradient and Hessian."""

    def plain(theta):
        return plain_dice_objective(theta, states, actions, values)

    shape = (NUM_PARAMS, NUM_PARAMS)
    definition = jax.hessian(loaded_dice_objective)(THETA, states, actions, discount, values)
    return {
        "return": jnp.sum(REWARDS[states, actions]),
        "reward_to_go": reward_to_go_gradient(THETA, states, actions, values),
        "definition": definition.reshape(shape),
        "formula": loaded_dice_hessian(THETA, states, actions, discount, values),
        "plain_value": plain(THETA),
        "plain_grad": jax.grad(plain)(THETA).reshape(NUM_PARAMS),
        "plain_hessian": jax.hessian(plain)(THETA).reshape(shape),
    }


# -- unbiasedness against the enumerated gradient and Hessian ------------------------------


@pytest.mark.parametrize("baseline", [False, True], ids=["plain", "baseline"])
def test_policy_gradient_is_unbiased(baseline):
    grads = episodes(1.0, baseline)["grad"]
    assert_unbiased(grads, EXACT_GRAD, label=f"sequential gradient, baseline={baseline}")


@pytest.mark.parametrize("baseline", [False, True], ids=["plain", "baseline"])
def test_policy_hessian_is_unbiased(baseline):
    hessians = episodes(1.0, baseline)["hessian"].reshape(NUM_EPISODES, -1)
    exact = EXACT_HESSIAN.ravel()
    largest = np.max(np.abs(exact))
    # The two diagonal (same-state) blocks are large: checked at 5% of their own value.
    big = np.abs(exact) >= 0.5 * largest
    assert big.sum() == 8
    label = f"sequential Hessian, baseline={baseline}"
    assert_unbiased(hessians[:, big], exact[big], label=label + " (large entries)")
    # Every entry, the small cross-state ones to a stated floor of 5% of the largest.
    assert_unbiased(hessians, exact, floor=0.05 * largest, label=label + " (all entries)")


def test_discounted_hessian_is_biased_and_less_variable():
    """λ < 1: the estimates average to E[Loaded DiCE's Hessian at λ] (enumerated from its
    formula), which is off the true Hessian by more than the 5% resolution of the check;
    the gradient stays unbiased and the Hessian's variance drops."""
    run = episodes(DISCOUNT, False)
    hessians = run["hessian"].reshape(NUM_EPISODES, -1)
    largest = np.max(np.abs(EXACT_HESSIAN))
    expected, _ = exact_moments(lambda s, a: loaded_dice_hessian(THETA, s, a, DISCOUNT).ravel())
    assert_unbiased(hessians, expected, floor=0.05 * largest, label="Loaded DiCE Hessian, λ")
    bias = np.max(np.abs(expected - EXACT_HESSIAN.ravel()))
    assert bias > 0.05 * largest, (bias, largest)
    with pytest.raises(AssertionError, match="biased"):
        assert_unbiased(hessians, EXACT_HESSIAN.ravel(), floor=0.05 * largest)
    assert_unbiased(run["grad"], EXACT_GRAD, label="Loaded DiCE gradient, λ")
    assert_variance_lower(run["hessian"], episodes(1.0, False)["hessian"])


# -- variance: reward-to-go against whole-return REINFORCE ------------------------------------


def test_reward_to_go_has_lower_variance_than_whole_return_reinforce():
    run = episodes(1.0, False)
    whole = hand(lambda s, a: whole_return_gradient(THETA, s, a), run).reshape(NUM_EPISODES, -1)
    reward_to_go = run["grad"]
    # The measured per-coordinate variances match their enumerated values ...
    _, exact_var_rtg = exact_moments(lambda s, a: reward_to_go_gradient(THETA, s, a))
    _, exact_var_whole = exact_moments(lambda s, a: whole_return_gradient(THETA, s, a).ravel())
    assert_variance(reward_to_go, exact_var_rtg)
    assert_variance(whole, exact_var_whole)
    # ... and the total variance is lower, by a factor of 1.92 on this MDP.
    assert_variance_lower(reward_to_go, whole)
    ratio = exact_var_whole.sum() / exact_var_rtg.sum()
    assert 1.85 < ratio < 2.0, ratio
    measured = whole.var(axis=0).sum() / reward_to_go.var(axis=0).sum()
    assert abs(measured / ratio - 1) < 0.05, (measured, ratio)


# -- the estimator's definition, on fixed trajectories ---------------------------------------


@pytest.mark.parametrize("discount", [1.0, DISCOUNT])
@pytest.mark.parametrize("baseline", [False, True], ids=["plain", "baseline"])
def test_derivatives_match_loaded_dice_by_hand(discount, baseline):
    """On fixed trajectories: value = the return; gradient = the reward-to-go formula Σₜ∇lₜAₜ
    (whatever λ); Hessian = Loaded DiCE's objective differentiated by JAX, AND its formula."""
    values = VALUES if baseline else NO_BASELINE
    run = first_episodes(discount, baseline)
    expected = by_hand(run["states"], run["actions"], discount, values)
    tol = {"rtol": 1e-5, "atol": 1e-6}
    np.testing.assert_allclose(run["value"], expected["return"], **tol)
    np.testing.assert_allclose(run["grad"], expected["reward_to_go"], **tol)
    np.testing.assert_allclose(run["hessian"], expected["definition"], **tol)
    np.testing.assert_allclose(run["hessian"], expected["formula"], **tol)


@pytest.mark.parametrize("baseline", [False, True], ids=["plain", "baseline"])
def test_discount_one_is_plain_dice(baseline):
    """λ = 1 telescopes: the value, gradient and Hessian of plain DiCE (each cost times the
    box of all earlier log-probabilities; each baseline times □(before) − □(up to t))."""
    values = VALUES if baseline else NO_BASELINE
    run = first_episodes(1.0, baseline)
    expected = by_hand(run["states"], run["actions"], 1.0, values)
    for name in ("value", "grad", "hessian"):
        np.testing.assert_allclose(run[name], expected["plain_" + name], rtol=1e-5, atol=1e-6)


def test_value_baseline_cancels_a_constant_added_to_every_cost():
    """With bₜ = V(t, sₜ), adding c to every cost adds c·(T − t) to both the reward-to-go
    and the baseline: the advantages, hence the gradient AND Hessian, are unchanged. Without
    the baseline they change."""
    shift = 3.0
    shifted_values = jax.jit(value_table_for)(REWARDS + shift)
    for key in KEYS[:3]:
        base = _one_episode(THETA, key, 1.0, VALUES)
        shifted = _one_episode(THETA, key, 1.0, shifted_values, REWARDS + shift)
        unbaselined = _one_episode(THETA, key, 1.0, NO_BASELINE, REWARDS + shift)
        np.testing.assert_allclose(shifted["value"], base["value"] + HORIZON * shift, rtol=1e-6)
        for name in ("grad", "hessian"):
            np.testing.assert_allclose(shifted[name], base[name], rtol=1e-4, atol=1e-5)
            assert not np.allclose(unbaselined[name], base[name], atol=1e-2)


def test_only_earlier_choices_are_credited():
    """A cost incurred before a choice gets no score of that choice: with one cost before
    and one after a choice, ∂/∂θ is the later cost times the score, exactly."""
    theta = jnp.array(0.3)
    key = jax.random.key(3)

    def program(theta):
        state = dice_init()
        early = cost_node(state, 5.0)
        state, bit = sample_node(state, Bernoulli(theta), key)
        return early + cost_node(state, 2.0), bit

    grad, bit = jax.jit(jax.grad(program, has_aux=True))(theta)
    score = bit - jax.nn.sigmoid(theta)  # ∂/∂θ log Bernoulli(bit; θ)
    np.testing.assert_allclose(grad, 2.0 * score, rtol=1e-6)


# -- pathwise choices ---------------------------------------------------------------------------


def mixed_program(params, key):
    """z ~ N(μ, 1) pathwise, then b ~ Bernoulli(θ + z/2) by score function; costs z² (before
    b) and (b − 0.3 z)² (after b)."""
    mu, theta = params
    z_key, b_key = jax.random.split(key)
    state = dice_init()
    state, z = sample_node(state, Normal(mu, 1.0), z_key, method="pathwise")
    first = cost_node(state, z**2)
    state, b = sample_node(state, Bernoulli(theta + 0.5 * z), b_key)
    return first + cost_node(state, (b - 0.3 * z) ** 2)


def mixed_exact(params):
    """E by Gauss–Hermite quadrature over z (60 nodes: exact to float32 for this integrand)."""
    mu, theta = params
    nodes, weights = np.polynomial.hermite_e.hermegauss(60)
    z = mu + jnp.asarray(nodes, jnp.float32)
    w = jnp.asarray(weights / math.sqrt(2 * math.pi), jnp.float32)
    p = jax.nn.sigmoid(theta + 0.5 * z)
    inner = z**2 + p * (1 - 0.3 * z) ** 2 + (1 - p) * (0.3 * z) ** 2
    return jnp.sum(w * inner)


def mixed_derivatives(params, key, order):
    """Value and gradient (order 1), and the Hessian (order 2), of one mixed program."""
    if order == 1:
        return jax.value_and_grad(mixed_program)(params, key)

    def grad_and_value(p):
        value, grad = jax.value_and_grad(mixed_program)(p, key)
        return grad, value

    hessian, value = jax.jacfwd(grad_and_value, has_aux=True)(params)
    return value, hessian.ravel()


MIXED_PARAMS = jnp.array([0.4, -0.3])
MIXED_KEYS = jax.random.split(jax.random.key(9), 2**17)


def test_pathwise_choice_feeding_a_score_function_choice_is_unbiased():
    run = jax.jit(jax.vmap(lambda k: mixed_derivatives(MIXED_PARAMS, k, 1)))
    values, grads = run(MIXED_KEYS)
    exact_value, exact_grad = jax.value_and_grad(mixed_exact)(MIXED_PARAMS)
    assert_unbiased(values, exact_value, label="mixed program value")
    assert_unbiased(grads, exact_grad, label="mixed program gradient")


@pytest.mark.slow
def test_pathwise_then_score_function_hessian_is_unbiased():
    run = jax.jit(jax.vmap(lambda k: mixed_derivatives(MIXED_PARAMS, k, 2)))
    _, hessians = run(MIXED_KEYS)
    exact = np.asarray(jax.hessian(mixed_exact)(MIXED_PARAMS), np.float64).ravel()
    # ∂²/∂μ² and ∂²/∂μ∂θ at 5% of themselves; ∂²/∂θ² (0.037) to the floor of 5% of the largest.
    assert_unbiased(hessians[:, :3], exact[:3], label="mixed program Hessian")
    largest = np.max(np.abs(exact))
    assert_unbiased(hessians, exact, floor=0.05 * largest, label="mixed program Hessian")


# -- jit, vmap, scan ------------------------------------------------------------------------------


def test_eager_vmap_and_jit_give_the_same_episodes():
    """Same key, same result: the jitted, vmapped run against one jitted episode at a time
    and against an eager (unjitted) gradient of a vmapped scan."""
    single = first_episodes(1.0, True, num=3)
    batched = episodes(1.0, True)
    for name in ("value", "grad", "hessian"):
        np.testing.assert_allclose(single[name], batched[name][:3], rtol=1e-5, atol=1e-6)

    def mean_surrogate(theta):
        return jnp.mean(jax.vmap(lambda k: rollout(theta, k, 1.0, VALUES)[0])(KEYS[:3]))

    eager = jax.grad(mean_surrogate)(THETA).ravel()
    np.testing.assert_allclose(eager, single["grad"].mean(axis=0), rtol=1e-5, atol=1e-6)


def test_scan_matches_an_unrolled_loop():
    unrolled = jax.jit(
        lambda key, discount: (
            rollout_unrolled(THETA, key, discount, VALUES),
            jax.hessian(rollout_unrolled)(THETA, key, discount, VALUES),
        )
    )
    for discount in (1.0, DISCOUNT):
        run = first_episodes(discount, True, num=2)
        for i, key in enumerate(KEYS[:2]):
            value, hessian = unrolled(key, discount)
            np.testing.assert_allclose(value, run["value"][i], rtol=1e-6)
            np.testing.assert_allclose(
                hessian.reshape(4, 4), run["hessian"][i], rtol=1e-5, atol=1e-6
            )


def test_state_is_a_fixed_pytree_of_scalars():
    state = dice_init(0.9)
    assert isinstance(state, DiceState)
    assert all(leaf.shape == () for leaf in state)
    assert len({leaf.dtype for leaf in state}) == 1
    # A legacy uint32 key works, and the state keeps its structure and dtypes (scan carry).
    new_state, _ = sample_node(state, Categorical(THETA[0]), jax.random.PRNGKey(3))
    assert jax.tree.structure(new_state) == jax.tree.structure(state)
    assert [x.dtype for x in new_state] == [x.dtype for x in state]
    # A traced λ is accepted (one compilation for every λ; the runs above rely on it).
    assert float(jax.jit(dice_init)(0.5).discount) == 0.5


def test_library_magic_box_inside_scan():
    def program(theta, box, xs):
        def step(w, x):
            w = w + theta * x
            return w, box(w)

        return jax.lax.scan(step, jnp.zeros(()), xs)[1].sum()

    """The shared box keeps its derivatives inside lax.scan (a constant-primal custom_jvp
    box lost them in JAX 0.10: Hessian 0, vmapped gradients times the batch size)."""
    xs = jnp.array([1.0, 2.0])
    episodes_xs = jnp.stack([xs] * 3)
    batch = lambda theta: jnp.sum(
        jax.vmap(lambda x: program(theta, library_magic_box, x))(episodes_xs)
    )
    np.testing.assert_allclose(jax.grad(batch)(1.0), 3 * (1.0 + 3.0), rtol=1e-6)
    # And the second derivative is lost: 1² + 3² = 10 with the exp form.
    expected = jax.hessian(program)(1.0, exp_box, xs)
    np.testing.assert_allclose(expected, 10.0, rtol=1e-6)
    np.testing.assert_allclose(jax.hessian(program)(1.0, library_magic_box, xs), expected)


# -- errors ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("bad", [0.0, -0.5, 1.5, float("nan"), float("inf")])
def test_discount_outside_unit_interval_is_refused(bad):
    with pytest.raises(ValueError, match=r"`discount` must be in \(0, 1\]"):
        dice_init(bad)


@pytest.mark.parametrize("bad", ["0.5", True, None, 0.5j])
def test_discount_of_the_wrong_type_is_refused(bad):
    with pytest.raises(TypeError, match="`discount`"):
        dice_init(bad)


def test_discount_must_be_a_scalar():
    with pytest.raises(ValueError, match="`discount` must be a scalar"):
        dice_init(jnp.array([0.5, 0.5]))


def test_bad_arguments_to_the_nodes_are_named():
    state, key, dist = dice_init(), jax.random.key(0), Categorical(THETA[0])
    with pytest.raises(TypeError, match="`state` must be a DiceState"):
        sample_node((0.0, 1.0, 1.0, 1.0), dist, key)
    with pytest.raises(TypeError, match="`dist` must be a reparax distribution"):
        sample_node(state, THETA[0], key)
    with pytest.raises(TypeError, match="`key`"):
        sample_node(state, dist, 0)
    with pytest.raises(TypeError, match="`key` must be a single PRNG key"):
        sample_node(state, dist, jax.random.split(key, 2))
    with pytest.raises(ValueError, match="unknown `method` 'gumbel'"):
        sample_node(state, dist, key, method="gumbel")
    with pytest.raises(TypeError, match="`method` must be a string"):
        sample_node(state, dist, key, method=None)
    with pytest.raises(ValueError, match="method='pathwise' needs a reparameterized.*Categorical"):
        sample_node(state, dist, key, method="pathwise")
    with pytest.raises(ValueError, match="moving boundary of Uniform"):
        sample_node(state, Uniform(0.0, 1.0), key)
    with pytest.raises(TypeError, match="`state` must be a DiceState"):
        cost_node(None, 1.0)
    for bad in ("1.0", True, 1 + 2j, None):
        with pytest.raises(TypeError, match="`cost` must be a real number"):
            cost_node(state, bad)
        with pytest.raises(TypeError, match="`baseline` must be a real number"):
            baseline_node(state, bad)


def test_method_names_are_case_insensitive_with_the_reinforce_alias():
    key = jax.random.key(0)
    state, z = sample_node(dice_init(), Categorical(THETA[0]), key, method="REINFORCE")
    reference, z_ref = sample_node(dice_init(), Categorical(THETA[0]), key)
    assert z == z_ref
    np.testing.assert_allclose(state.log_weight, reference.log_weight)
