"""``rx.Joint``: programs of continuous and discrete sites with a method per site.

The reference is exact: Gauss–Hermite quadrature over the Normal site (60 nodes: exact to
float precision for these smooth integrands) times enumeration over the discrete sites,
differentiated by ``jax.grad``/``jax.hessian`` — independent of reparax's code paths.
"""

import itertools

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import reparax as rx
from tests.stats import assert_unbiased, assert_variance_lower, jit_many

THETA = {
    "mu": jnp.array(0.3),
    "sigma": jnp.array(0.8),
    "a": jnp.array(1.5),
    "W": jnp.array([[0.2, -0.5, 0.4], [-0.6, 0.3, 0.9]]),
}
VALUES_OF_C = jnp.array([0.0, 1.0, -2.0])


def make_joint(theta):
    """Normal → Bernoulli → Categorical, each reading the ones before."""
    return rx.Joint(
        {
            "z": rx.Normal(theta["mu"], theta["sigma"]),
            "b": lambda z: rx.Bernoulli(logits=theta["a"] * z),
            "c": lambda z, b: rx.Categorical(logits=theta["W"][b.astype(jnp.int32)] + 0.5 * z),
        }
    )


def costs(sample):
    """Named costs: the first reads z only, the second all three sites."""
    z, b, c = sample["z"], sample["b"], sample["c"]
    return {"fit": (z - 0.5) ** 2, "reward": 2.0 * b * z + VALUES_OF_C[c] * (1.0 + b)}


def total_cost(sample):
    out = costs(sample)
    return out["fit"] + out["reward"]


_NODES, _WEIGHTS = np.polynomial.hermite_e.hermegauss(60)


def exact_expectation(theta, f=total_cost):
    z = theta["mu"] + theta["sigma"] * jnp.asarray(_NODES)
    total = jnp.zeros_like(z)
    for b in (0.0, 1.0):
        p_b = jax.nn.sigmoid((2 * b - 1) * theta["a"] * z)
        p_c = jax.nn.softmax(theta["W"][int(b)][None, :] + 0.5 * z[:, None], -1)
        for c in range(3):
            site_values = {"b": jnp.array(b), "c": jnp.array(c)}
            value = jax.vmap(lambda zz, fixed=site_values: f({"z": zz, **fixed}))(z)
            total = total + p_b * p_c[:, c] * value
    return jnp.sum(jnp.asarray(_WEIGHTS) * total) / np.sqrt(2 * np.pi)


EXACT_GRAD = jax.grad(exact_expectation)(THETA)

# Unbiased methods per site. The Normal: pathwise, score-family, measure-valued; the discrete
# sites: score-family, enumeration, local expectations and the coupled estimators.
SITE_METHODS = {
    "z": ["pathwise", "score_function", "rloo", "measure_valued"],
    "b": ["score_function", "rloo", "exact", "indecater", "arm", "disarm"],
    "c": ["score_function", "rloo", "exact", "indecater", "arm", "disarm"],
}
# Default tier: a covering set (every method at every site at least once); the slow tier runs
# every one of the 144 combinations.
COVERING = [
    {"z": SITE_METHODS["z"][i % 4], "b": SITE_METHODS["b"][i], "c": SITE_METHODS["c"][(i + 2) % 6]}
    for i in range(6)
]
ALL = [
    dict(zip("zbc", combo))
    for combo in itertools.product(SITE_METHODS["z"], SITE_METHODS["b"], SITE_METHODS["c"])
]
# Per-site parameters: (site, parameter names) — one site's method per assertion.
_GROUPS = {"z": ("mu", "sigma"), "b": ("a",), "c": ("W",)}


def _gradients(methods, num_estimates, num_samples, key=0):
    def loss(theta, k):
        return rx.expectation(
            total_cost, make_joint(theta), k, method=methods, num_samples=num_samples
        )

    run = jit_many(jax.vmap(jax.grad(loss), in_axes=(None, 0)))
    return run(THETA, jax.random.split(jax.random.key(key), num_estimates))


# Samples per estimate grow with the sites' noise (weights from measured variances on this
# program), so that every combination has power at 2000 estimates.
_NOISE = {
    "score_function": 3,
    "rloo": 2,
    "arm": 2.5,
    "disarm": 1.5,
    "measure_valued": 1,
    "indecater": 0.5,
}


def _check(methods):
    num_samples = int(96 * (1 + sum(_NOISE.get(m, 0) for m in methods.values())))
    grads = _gradients(methods, 2000, num_samples)
    for site, names in _GROUPS.items():
        for name in names:
            assert_unbiased(grads[name], EXACT_GRAD[name], label=f"{methods}: {site}.{name}")


@pytest.mark.parametrize("methods", COVERING, ids=lambda m: "-".join(m.values()))
def test_mixed_program_is_unbiased(methods):
    _check(methods)


@pytest.mark.slow
@pytest.mark.parametrize("methods", ALL, ids=lambda m: "-".join(m.values()))
def test_every_combination_of_unbiased_site_methods(methods):
    _check(methods)


def rb_costs(sample):
    """A large cost that reads z only, next to one that reads every site."""
    z, b, c = sample["z"], sample["b"], sample["c"]
    return {"fit": 3.0 * (z - 2.0) ** 2, "reward": 2.0 * b * z + VALUES_OF_C[c] * (1.0 + b)}


def test_rao_blackwellized_costs_are_unbiased_and_cut_the_variance():
    """The "fit" cost reads z only: the score-function sites b and c must not multiply it."""
    methods = {"z": "pathwise", "b": "score_function", "c": "score_function"}
    keys = jax.random.split(jax.random.key(4), 3000)
    exact = jax.grad(lambda th: exact_expectation(th, lambda s: sum(rb_costs(s).values())))(THETA)

    def grads(f):
        loss = lambda th, k: rx.expectation(f, make_joint(th), k, method=methods, num_samples=128)  # noqa: E731
        return jit_many(jax.vmap(jax.grad(loss), in_axes=(None, 0)))(THETA, keys)

    named, summed = grads(rb_costs), grads(lambda s: sum(rb_costs(s).values()))
    assert_unbiased(named["a"], exact["a"], label="named costs: b.a")
    assert_unbiased(named["W"], exact["W"], label="named costs: c.W")
    assert_variance_lower(named["a"], summed["a"])
    assert_variance_lower(named["W"], summed["W"])


def test_the_dependencies_come_from_fs_jaxpr_and_the_parent_graph():
    from reparax import _program

    joint = make_joint(THETA)
    methods = {"z": "score_function", "b": "rloo", "c": "score_function"}
    plan = _program.plan(costs, joint, jax.random.key(0), methods, 4, None)
    boxed = dict(zip(plan.cost_names, plan.boxed))
    assert boxed == {"['fit']": {"z"}, "['reward']": {"z", "b", "c"}}


def test_second_derivatives_through_the_dice_path():
    """Hessian in (mu, a) with pathwise z, score-function b and enumerated c."""
    methods = {"z": "pathwise", "b": "score_function", "c": "exact"}

    def exact(p):
        return exact_expectation({**THETA, "mu": p[0], "a": p[1]})

    def estimate(p, k):
        joint = make_joint({**THETA, "mu": p[0], "a": p[1]})
        return rx.expectation(total_cost, joint, k, method=methods, num_samples=1024)

    point = jnp.array([THETA["mu"], THETA["a"]])
    hessians = jit_many(jax.vmap(jax.hessian(estimate), in_axes=(None, 0)))(
        point, jax.random.split(jax.random.key(5), 2000)
    )
    assert_unbiased(hessians, jax.hessian(exact)(point), label="Hessian (mu, a)")


def test_second_derivatives_are_refused_where_a_site_method_lacks_them():
    def estimate(mu):
        joint = make_joint({**THETA, "mu": mu})
        return rx.expectation(
            total_cost, joint, jax.random.key(0), method={"b": "disarm"}, num_samples=2
        )

    with pytest.raises(rx.DerivativeOrderError):
        jax.jit(jax.hessian(estimate))(THETA["mu"])


def test_gradient_estimate_has_the_joints_structure_and_chunking_changes_nothing():
    joint = make_joint(THETA)
    key = jax.random.key(1)
    methods = {"z": "pathwise", "b": "disarm", "c": "rloo"}
    run = jax.jit(
        lambda j, chunk_size: rx.gradient_estimate(
            total_cost, j, key, method=methods, num_samples=6, chunk_size=chunk_size
        ),
        static_argnums=1,
    )
    est = run(joint, None)
    assert isinstance(est.grad, rx.Joint)
    assert est.grad["z"].loc.shape == ()
    chunked = run(joint, 4)
    np.testing.assert_allclose(est.grad["z"].loc, chunked.grad["z"].loc, rtol=1e-5)
    np.testing.assert_allclose(est.value, chunked.value, rtol=1e-5)


def test_relaxed_sites_pass_relaxed_values_downstream():
    """Σ b(1 − b) is 0 at every hard sample: a positive value means relaxed values reached
    the descendants and f (biased, as for one site)."""
    joint = rx.Joint(
        {"b": rx.Bernoulli(logits=jnp.zeros(2)), "z": lambda b: rx.Normal(jnp.sum(b), 1.0)}
    )

    def f(sample):
        return jnp.sum(sample["b"] * (1.0 - sample["b"])) + 0.0 * sample["z"]

    relaxed = rx.expectation(
        f, joint, jax.random.key(0), method={"b": "gumbel_softmax", "z": "pathwise"}, num_samples=4
    )
    hard = rx.expectation(
        f, joint, jax.random.key(0), method={"b": "disarm", "z": "pathwise"}, num_samples=4
    )
    assert float(relaxed) > 0.0
    assert float(hard) == 0.0


def test_a_keyed_f_gets_one_key_per_program_sample():
    """Noise from f's own key, shared by the enumerated alternatives of b and c, cancels in
    their differences: the gradient is the noise-free one (same program keys)."""
    methods = {"z": "pathwise", "b": "exact", "c": "exact"}
    noisy = rx.with_key(lambda s, k: total_cost(s) + 3.0 * jax.random.normal(k))

    def estimate(f):
        def loss(theta):
            return rx.expectation(
                f, make_joint(theta), jax.random.key(0), method=methods, num_samples=4
            )

        return jax.jit(jax.value_and_grad(loss))(THETA)

    (noisy_value, noisy_grad), (value, grad) = estimate(noisy), estimate(total_cost)
    for name in THETA:  # the Normal's parameters and those the site functions close over
        np.testing.assert_allclose(noisy_grad[name], grad[name], rtol=1e-4, atol=1e-5)
    assert float(noisy_value) != float(value)


def test_auto_picks_a_method_per_site():
    est = rx.gradient_estimate(total_cost, make_joint(THETA), jax.random.key(0), num_samples=4)
    assert jnp.isfinite(est.grad["z"].loc)


# -- errors -------------------------------------------------------------------------------
def test_a_site_that_reads_an_unknown_site_is_refused():
    with pytest.raises(ValueError, match="reads 'y', which is not an earlier site"):
        rx.Joint({"z": rx.Normal(0.0, 1.0), "b": lambda y: rx.Bernoulli(logits=y)})


def test_sites_must_be_distributions_or_functions():
    with pytest.raises(TypeError, match="non-empty mapping"):
        rx.Joint({})
    with pytest.raises(TypeError):
        rx.Joint({"z": 3.0})


def test_methods_for_unknown_or_unsupported_sites_are_refused():
    joint = make_joint(THETA)
    with pytest.raises(ValueError, match="does not have.*Did you mean 'b'"):
        rx.expectation(total_cost, joint, jax.random.key(0), method={"bb": "rloo"}, num_samples=2)
    with pytest.raises(ValueError, match="site 'z'.*disarm.*does not support Normal"):
        rx.expectation(total_cost, joint, jax.random.key(0), method={"z": "disarm"}, num_samples=2)
    with pytest.raises(TypeError, match="site_options"):
        rx.expectation(total_cost, joint, jax.random.key(0), num_samples=2, temperature=0.5)


def test_costs_must_be_scalars():
    with pytest.raises(ValueError, match="floating scalar"):
        rx.expectation(
            lambda s: jnp.stack([s["z"], s["z"]]),
            make_joint(THETA),
            jax.random.key(0),
            num_samples=2,
        )


def test_a_site_read_only_through_a_comparison_refuses_pathwise_and_auto_avoids_it():
    joint = rx.Joint({"z": rx.Normal(jnp.array(0.3), 1.0)})
    step = lambda s: (s["z"] > 0).astype(jnp.float32)  # noqa: E731
    with pytest.raises(ValueError, match="site 'z'.*needs a differentiable f"):
        rx.expectation(step, joint, jax.random.key(0), method="pathwise", num_samples=2)
    est = rx.gradient_estimate(step, joint, jax.random.key(0), num_samples=2000)
    # ∂/∂μ P(z > 0) = φ(0.3) = 0.381: auto chose an estimator that does not differentiate f.
    assert abs(float(est.grad["z"].loc) - 0.381) < 0.1


def test_auto_bounds_the_product_of_nested_evaluations():
    from reparax import _program

    joint = rx.Joint(
        {
            "a": rx.Bernoulli(logits=jnp.zeros(10)),
            "b": lambda a: rx.Bernoulli(logits=a - 0.5),
            "c": lambda b: rx.Bernoulli(logits=b - 0.5),
        }
    )
    plan = _program.plan(lambda s: jnp.sum(s["c"]), joint, jax.random.key(0), "auto", 4, None)
    assert [s.estimator.name for s in plan.sites] == ["exact", "rloo", "rloo"]


def test_a_site_function_must_return_a_distribution_and_baselines_their_shape():
    bad = rx.Joint({"z": rx.Normal(0.0, 1.0), "b": lambda z: 3.0 * z})
    with pytest.raises(TypeError, match="site 'b''s function must return a reparax distribution"):
        rx.expectation(lambda s: s["b"], bad, jax.random.key(0), num_samples=2)
    with pytest.raises(ValueError, match=r"site 'b': `baseline` must be a scalar or have shape"):
        rx.expectation(
            total_cost,
            make_joint(THETA),
            jax.random.key(0),
            method={"b": "score_function"},
            num_samples=4,
            site_options={"b": {"baseline": jnp.ones(3)}},
        )
