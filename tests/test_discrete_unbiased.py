"""Every unbiased discrete estimator against exact enumeration, one (method, problem) per
test, each assertion with the power to see a 5% bias (see ``tests/stats.py``).

The references are enumerated here from ``log_prob`` alone (not with ``method="exact"``, which
is itself under test).
"""

import jax
import jax.numpy as jnp
import pytest

import reparax as rx
from reparax import _registry
from tests.stats import assert_unbiased, enumerate_exact, estimator_samples, jit_many

# The built-in estimators (their sample sizes are tuned here; the toy one of conftest.py is
# covered by the contract suite).
# E[f] estimators (bound methods: tests/test_multisample.py).
UNBIASED = [e.name for e in _registry.BUILTIN if e.unbiased and e.objective == "expectation"]
# At their initial parameters double_cv and rodeo ARE rloo (tests/test_cv_frontier.py checks
# it number for number, and their unbiasedness at trained and random parameters with power),
# so re-running rloo's enumeration tests through them is the slow tier's job (CI time).
SAME_AS_RLOO_AT_INIT = {"double_cv", "rodeo"}


def _param(*values, method, id=None):
    slow = [pytest.mark.slow] if method in SAME_AS_RLOO_AT_INIT else []
    return pytest.param(*values, marks=slow, id=id)


NUM_ESTIMATES = 1000


def num_samples_for(method, problem):
    return SAMPLES[problem].get(method, SAMPLES[problem]["default"])


# -- the problems --------------------------------------------------------------------------
# name: (dist, f, f differentiable on relaxed inputs, floor for near-zero gradients)

T_BITS = 0.2  # (b − t)² with 1 − 2t = 0.6: gradients σ'(θ)·0.6, none small
_BITS = jnp.array([-1.0, -0.3, 0.0, 0.5, 2.0])
_TABLE3 = jax.random.normal(jax.random.key(1), (2, 2, 2))  # every |gradient| ≥ 0.09
_TABLE33 = jax.random.normal(jax.random.key(4), (3, 3))  # every |gradient| ≥ 0.075
_LOGITS34 = jax.random.normal(jax.random.key(13), (3, 4))
_COSTS34 = jax.random.normal(jax.random.key(14), (3, 4))


def _bits(b):
    return jnp.sum((b - T_BITS) ** 2)


def _table_bernoulli(b):
    index = b.astype(jnp.int32)
    return _TABLE3[index[0], index[1], index[2]]


def _table_categorical(z):
    return _TABLE33[z[0], z[1]]


def _table_one_hot(z):
    return _table_categorical(jnp.argmax(z, axis=-1))


def _interaction_one_hot(one_hot):
    main = jnp.sum(_COSTS34 * one_hot)
    return main + 2.0 * one_hot[0, 1] * one_hot[1, 2] - one_hot[2, 0] * one_hot[0, 3]


def _interaction_categorical(z):
    return _interaction_one_hot(jax.nn.one_hot(z, 4))


_TABLE_LOGITS = jnp.array([[0.2, -0.4, 0.9], [-1.0, 0.5, 0.0]])
PROBLEMS = {
    "bits-Bernoulli": (rx.Bernoulli(_BITS), _bits, True, None),
    "table-Bernoulli": (rx.Bernoulli(jnp.array([0.3, -0.7, 1.1])), _table_bernoulli, False, None),
    "table-Categorical": (rx.Categorical(_TABLE_LOGITS), _table_categorical, False, None),
    "table-OneHotCategorical": (rx.OneHotCategorical(_TABLE_LOGITS), _table_one_hot, False, None),
    # gradients from 0.015 to 0.28: below 0.2 the stated resolution is 0.01 (absolute)
    "interaction-Categorical": (rx.Categorical(_LOGITS34), _interaction_categorical, False, 0.01),
    "interaction-OneHotCategorical": (
        rx.OneHotCategorical(_LOGITS34),
        _interaction_one_hot,
        True,
        0.01,
    ),
}

# num_samples per estimate (NUM_ESTIMATES estimates) that gives every coordinate power with a
# margin, so that a gradient scaled by 1.05 fails.
SAMPLES = {
    # double_cv and rodeo at their initial parameters are RLOO: RLOO's sample sizes.
    "bits-Bernoulli": {
        "default": 512,
        "arm": 1024,
        "score_function": 4096,
        "rloo": 1024,
        "double_cv": 1024,
        "rodeo": 1024,
    },
    "table-Bernoulli": {"default": 256, "score_function": 1024, "rloo": 1024},
    "table-Categorical": {"default": 512, "arm": 1024, "score_function": 1024, "rloo": 1024},
    "table-OneHotCategorical": {
        "default": 512,
        "arm": 1024,
        "score_function": 1024,
        "rloo": 1024,
    },
    "interaction-Categorical": {"default": 512, "score_function": 2048, "rloo": 1024},
    "interaction-OneHotCategorical": {
        "default": 512,
        "score_function": 2048,
        "rloo": 1024,
        "double_cv": 1024,
        "rodeo": 1024,
    },
}


def _cases():
    for problem, (dist, _, differentiable, _) in PROBLEMS.items():
        for method in rx.supported_methods(dist):
            if method not in UNBIASED or method == "exact":
                continue
            if rx.methods()[method].differentiable_f and not differentiable:
                continue
            yield _param(method, problem, method=method, id=f"{method}-{problem}")


@pytest.mark.parametrize("method,problem", list(_cases()))
def test_unbiased_against_enumeration(method, problem):
    dist, f, _, floor = PROBLEMS[problem]
    exact_value, exact_grad = enumerate_exact(f, dist)
    est = estimator_samples(
        f,
        dist,
        jax.random.key(0),
        method=method,
        num_estimates=NUM_ESTIMATES,
        num_samples=num_samples_for(method, problem),
    )
    assert_unbiased(est.grad.logits, exact_grad, floor=floor, label=f"{method} grad")
    assert_unbiased(est.value[:, None], exact_value, label=f"{method} value")


@pytest.mark.parametrize("problem", list(PROBLEMS))
def test_exact_method_matches_enumeration(problem):
    # method="exact" has no variance: any key gives the enumerated gradient (to rounding).
    dist, f, _, floor = PROBLEMS[problem]
    exact_value, exact_grad = enumerate_exact(f, dist)
    est = rx.diagnostics.estimator_samples(
        f, dist, jax.random.key(0), method="exact", num_estimates=4
    )
    assert_unbiased(est.grad.logits, exact_grad, floor=floor, label="exact grad")
    assert_unbiased(est.value[:, None], exact_value, label="exact value")


# The 1-bit toy E[(b − t)²] at logits {−1.5, 0, 0.8} and t ∈ {0.2, 0.4}: one vmap over the six
# (logit, t) problems per method, against ∂/∂θ = σ'(θ)(1 − 2t). (t = 0.499, the RELAX toy,
# has a gradient 0.002·σ'(θ): no test of feasible size has power there; its variances are
# checked in test_discrete_variance.py instead.)
TOY_SAMPLES = {
    "score_function": 1024,
    "rloo": 512,
    "double_cv": 512,
    "rodeo": 512,
    "rebar": 1024,
    "relax": 1024,
}


@pytest.mark.parametrize(
    "method",
    [
        _param(m, method=m, id=m)
        for m in UNBIASED
        if rx.methods()[m].supports(rx.Bernoulli(jnp.zeros(1)))
    ],
)
def test_one_bit_toy(method):
    logits = jnp.array([-1.5, 0.0, 0.8] * 2)
    targets = jnp.array([0.2] * 3 + [0.4] * 3)
    sigma = jax.nn.sigmoid(logits)
    closed_form = sigma * (1 - sigma) * (1 - 2 * targets)
    keys = jax.random.split(jax.random.key(1), NUM_ESTIMATES)
    num_samples = TOY_SAMPLES.get(method, 128)

    def one(logit, t, key):
        f = lambda b: jnp.sum((b - t) ** 2)  # noqa: E731
        est = rx.gradient_estimate(
            f, rx.Bernoulli(logit[None]), key, method=method, num_samples=num_samples
        )
        return est.grad.logits[0]

    grads = jit_many(jax.vmap(jax.vmap(one, (None, None, 0)), (0, 0, None)))(
        logits, targets, keys
    )  # (6 problems, NUM_ESTIMATES estimates)
    assert_unbiased(grads.T, closed_form, label=method)


def test_exact_matches_closed_form_enumeration():
    # E[Σ b_d] = Σ σ(θ_d): gradient σ'(θ_d)
    logits = jnp.array([0.3, -2.0, 4.0])
    est = rx.gradient_estimate(jnp.sum, rx.Bernoulli(logits), jax.random.key(0), method="exact")
    assert jnp.allclose(est.value, jnp.sum(jax.nn.sigmoid(logits)), rtol=1e-6)
    sig = jax.nn.sigmoid(logits)
    assert jnp.allclose(est.grad.logits, sig * (1 - sig), rtol=1e-5)
