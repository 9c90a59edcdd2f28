"""Edge cases of plates, ``rx.with_key``, ``rx.Joint`` and their combinations that work.

Each test pins behaviour checked by an adversarial review: exact agreement with a
hand-written ``jax.vmap`` or with the plain estimator where the numbers must agree, and
unbiasedness (with power) against exact enumeration where they cannot.
"""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import reparax as rx
from reparax import _program
from tests.stats import assert_unbiased


# -- plates ------------------------------------------------------------------------------------
def test_plates_over_two_axes_with_a_broadcast_scale_equal_a_vmap():
    method = "rloo"
    """plates=2 over a (2, 3) Normal whose scale is a shared scalar: each element is the
    single-site estimator with its own key; the shared scale gets the sum of their grads."""
    loc = jnp.array([[0.1, 0.5, -0.3], [1.0, -1.0, 0.2]])
    scale = jnp.array(1.3)
    weights = jnp.array([1.0, 2.0, 3.0])
    key = jax.random.key(7)
    plated = jax.jit(
        lambda d: rx.gradient_estimate(
            lambda z: (z - 0.5) ** 2 * weights[None, :],
            d,
            key,
            method=method,
            num_samples=3,
            plates=2,
        )
    )(rx.Normal(loc, scale))

    def one(element_loc, w, element_key):
        return rx.gradient_estimate(
            lambda z: (z - 0.5) ** 2 * w,
            rx.Normal(element_loc, scale),
            element_key,
            method=method,
            num_samples=3,
        )

    per = jax.jit(jax.vmap(one))(loc.reshape(-1), jnp.tile(weights, 2), jax.random.split(key, 6))
    np.testing.assert_allclose(plated.value, jnp.sum(per.value), rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(plated.grad.loc.reshape(-1), per.grad.loc, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(plated.grad.scale, jnp.sum(per.grad.scale), rtol=1e-5, atol=1e-5)


def test_plates_for_mvn_with_a_shared_scale_tril_equal_a_vmap():
    """An event-shaped family whose scale_tril is shared by the batch (broadcast over the
    plate): the shared parameter gets the sum of the elements' gradients."""
    key = jax.random.key(7)
    locs = jnp.array([[0.1, 0.5], [1.0, -1.0], [0.3, 0.3]])
    tril = jnp.array([[1.0, 0.0], [0.4, 0.8]])

    def cost(z):
        return (z - 0.5) ** 2 @ jnp.array([1.0, 2.0])

    def estimate(loc, k, plates):
        dist = rx.MultivariateNormalTriL(loc, tril)
        return rx.gradient_estimate(cost, dist, k, method="rloo", num_samples=3, plates=plates)

    plated = jax.jit(lambda p: estimate(p, key, 1))(locs)
    per = jax.jit(jax.vmap(lambda p, k: estimate(p, k, 0)))(locs, jax.random.split(key, 3))
    np.testing.assert_allclose(plated.value, jnp.sum(per.value), rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(plated.grad.loc, per.grad.loc, rtol=1e-5, atol=1e-5)
    assert plated.grad.scale_tril.shape == (2, 2)
    np.testing.assert_allclose(
        plated.grad.scale_tril, jnp.sum(per.grad.scale_tril, 0), rtol=1e-5, atol=1e-5
    )


def test_empty_and_size_one_plates():
    run = jax.jit(
        lambda d: rx.gradient_estimate(
            lambda z: jnp.sum(z, -1), d, jax.random.key(0), method="disarm", num_samples=2, plates=1
        )
    )
    empty = run(rx.Bernoulli(logits=jnp.zeros((0, 3))))
    assert float(empty.value) == 0.0 and empty.grad.logits.shape == (0, 3)
    one = run(rx.Bernoulli(logits=jnp.zeros((1, 3))))
    assert one.grad.logits.shape == (1, 3)
    assert bool(jnp.all(jnp.isfinite(one.grad.logits)))


@pytest.mark.parametrize("method", ["indecater"])
def test_keyed_plates_with_a_legacy_key_chunk_as_unchunked(method):
    """with_key + plates + a legacy uint32 PRNGKey + a chunk_size that does not divide N."""
    logits = jnp.array([[0.3, -0.8, 1.2], [-1.0, 0.5, 0.0]])
    f = rx.with_key(lambda b, k: jnp.sum(b * (1.0 + jax.random.normal(k, b.shape)), -1))
    key = jax.random.PRNGKey(3)
    dist = rx.Bernoulli(logits=logits)
    run = jax.jit(
        lambda d, chunk_size: rx.gradient_estimate(
            f, d, key, method=method, num_samples=5, plates=1, chunk_size=chunk_size
        ),
        static_argnums=1,
    )
    full, chunked = run(dist, None), run(dist, 2)
    np.testing.assert_allclose(full.value, chunked.value, rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(full.grad.logits, chunked.grad.logits, rtol=1e-5, atol=1e-6)


def test_plates_inside_a_users_vmap_over_distributions():
    key = jax.random.key(0)
    locs = jnp.array([[0.1, -0.4, 0.7], [1.1, 0.6, 1.7]])

    def grad(loc):
        return rx.gradient_estimate(
            lambda z: (z - 1.0) ** 2,
            rx.Normal(loc, 1.0),
            key,
            method="rloo",
            num_samples=4,
            plates=1,
        ).grad.loc

    jitted = jax.jit(grad)
    np.testing.assert_allclose(
        jax.jit(jax.vmap(grad))(locs), jnp.stack([jitted(locs[0]), jitted(locs[1])]), rtol=1e-6
    )


def test_keyed_plates_are_unbiased_although_the_batch_shares_element_zeros_key():
    """f's key comes from element 0 (all_gather) for the whole batch: every element's
    estimate must stay unbiased, element 0's included."""
    logits = jnp.array([0.3, -0.5, 1.0, 0.2])
    w = jnp.array([1.0, 2.0, -1.0, 3.0])
    p = jax.nn.sigmoid(logits)
    exact = p * (1 - p) * (1 + 0.5 * w)  # E[b (1 + w u)], u ~ U(0, 1) independent of b
    f = rx.with_key(lambda b, k: b * (1.0 + w * jax.random.uniform(k, ())))

    def estimate(lg, k):
        return rx.expectation(
            f, rx.Bernoulli(logits=lg), k, method="disarm", num_samples=8, plates=1
        )

    grads = jax.jit(jax.vmap(jax.grad(estimate), in_axes=(None, 0)))(
        logits, jax.random.split(jax.random.key(1), 4000)
    )
    assert_unbiased(grads, exact, label="keyed plates disarm")


def test_nested_expectations_inside_a_plated_keyed_f_are_unbiased():
    """Per-element inner expectations (a vmap inside f, with f's key) under the outer
    plates' vmap: the measure-valued gradient is unbiased, E = Σ_b [(loc_b − 1)² + 2]."""
    loc = jnp.array([0.1, -0.4, -0.3])

    def inner(z, k):
        keys = jax.random.split(k, 3)
        return jax.vmap(
            lambda zz, kk: rx.expectation(
                lambda y: (y - 1.0) ** 2, rx.Normal(zz, 1.0), kk, method="rloo", num_samples=4
            )
        )(z, keys)

    def estimate(mean, k):
        return rx.expectation(
            rx.with_key(inner),
            rx.Normal(mean, 1.0),
            k,
            method="measure_valued",
            num_samples=4,
            plates=1,
        )

    grads = jax.jit(jax.vmap(jax.grad(estimate), in_axes=(None, 0)))(
        loc, jax.random.split(jax.random.key(1), 3000)
    )
    assert_unbiased(grads, 2 * (loc - 1.0), label="nested plates")


def test_a_per_element_baseline_is_refused_naming_the_shape():
    dist = rx.Bernoulli(logits=jnp.array([0.3, -0.5, 1.0]))
    with pytest.raises(ValueError, match=r"shape \(num_samples,\) = \(4,\); got shape \(3,\)"):
        rx.gradient_estimate(
            lambda b: b * 1.0,
            dist,
            jax.random.key(0),
            method="score_function",
            num_samples=4,
            plates=1,
            baseline=jnp.array([1.0, 2.0, 3.0]),
        )


# -- Joint -----------------------------------------------------------------------------------
def test_a_single_site_joint_with_exact_is_the_plain_estimator_to_every_order():
    logits = jnp.array([[0.3, -0.8, 1.2], [-1.0, 0.5, 0.0]])
    f = lambda z: jnp.sum(z @ jnp.array([1.0, -2.0, 3.0])) ** 2  # noqa: E731
    key = jax.random.key(0)

    def plain(lg):
        return rx.expectation(f, rx.OneHotCategorical(logits=lg), key, method="exact")

    def joint(lg):
        return rx.expectation(
            lambda s: f(s["z"]),
            rx.Joint({"z": rx.OneHotCategorical(logits=lg)}),
            key,
            method="exact",
            num_samples=3,
        )

    for transform in (lambda g: g, jax.grad, jax.hessian):
        np.testing.assert_allclose(
            jax.jit(transform(joint))(logits),
            jax.jit(transform(plain))(logits),
            rtol=1e-5,
            atol=1e-6,
        )


def _two_site_joint():
    return rx.Joint({"z": rx.Normal(0.0, 1.0), "b": lambda z: rx.Bernoulli(logits=z)})


def test_nested_dict_none_and_constant_costs():
    key = jax.random.key(0)
    nested = jax.jit(
        lambda j: rx.gradient_estimate(
            lambda s: {"a": {"x": s["z"], "y": [s["z"] ** 2, 1.0]}, "b": (s["b"],), "c": None},
            j,
            key,
            method={"b": "rloo"},
            num_samples=4,
        )
    )(_two_site_joint())
    assert jnp.isfinite(nested.value) and jnp.isfinite(nested.grad["z"].loc)
    constant = jax.jit(
        lambda j: rx.gradient_estimate(lambda s: 3.0, j, key, method={"b": "rloo"}, num_samples=2)
    )(_two_site_joint())
    assert float(constant.value) == 3.0
    assert float(constant.grad["z"].loc) == 0.0 and float(constant.grad["z"].scale) == 0.0
    empty = jax.jit(lambda j: rx.gradient_estimate(lambda s: {}, j, key, num_samples=2))(
        _two_site_joint()
    )
    assert float(empty.value) == 0.0


def test_reads_through_non_differentiable_ops_are_still_dependencies():
    """jnp.where, comparisons, integer casts and stop_gradient read a site: the score sites
    must multiply those costs; a constant cost depends on nothing."""
    joint = rx.Joint(
        {
            "x": rx.Bernoulli(logits=0.4),
            "s": lambda x: rx.Categorical(logits=jnp.zeros(3) + x),
            "y": lambda s: rx.Bernoulli(logits=s * 0.5),
        }
    )

    def costs(v):
        return {
            "where": jnp.where(v["x"] > 0.5, 2.0, -1.0),
            "cast": v["s"].astype(jnp.float32) * 0.0 + 1.0,
            "stopped": jax.lax.stop_gradient(v["y"]),
            "constant": jnp.float32(5.0),
        }

    methods = {"x": "rloo", "s": "score_function", "y": "rloo"}
    plan = _program.plan(costs, joint, jax.random.key(0), methods, 4, None)
    boxed = dict(zip(plan.cost_names, plan.boxed))
    assert boxed["['where']"] == {"x"}
    assert boxed["['cast']"] == {"x", "s"}
    assert boxed["['stopped']"] == {"x", "s", "y"}
    assert boxed["['constant']"] == frozenset()


_THETA = {
    "tx": jnp.array(0.4),
    "W": jnp.array([[0.2, -0.5, 0.9], [-0.7, 0.6, 0.1]]),
    "v": jnp.array([0.5, -1.0, 1.2]),
}
_VALS = jnp.array([1.0, -2.0, 3.0])


def _discrete_joint(th):
    return rx.Joint(
        {
            "x": rx.Bernoulli(logits=th["tx"]),
            "s": lambda x: rx.Categorical(logits=th["W"][x.astype(jnp.int32)]),
            "y": lambda s: rx.Bernoulli(logits=th["v"][s]),
        }
    )


def _named_costs(v):
    x, s, y = v["x"], v["s"], v["y"]
    return {"a": jnp.where(x > 0.5, 2.0, -1.0), "b": _VALS[s] * (1.0 + x), "c": 3.0 * y - s}


def _enumerated(th):
    total = 0.0
    px1 = jax.nn.sigmoid(th["tx"])
    for x in (0, 1):
        ps = jax.nn.softmax(th["W"][x])
        for s in range(3):
            py1 = jax.nn.sigmoid(th["v"][s])
            for y in (0, 1):
                p = (px1 if x else 1 - px1) * ps[s] * (py1 if y else 1 - py1)
                value = {"x": jnp.float32(x), "s": jnp.int32(s), "y": jnp.float32(y)}
                total = total + p * sum(_named_costs(value).values())
    return total


def test_rloo_sites_downstream_of_an_enumerated_site_with_named_costs_are_unbiased():
    """exact at x (each program sample enumerates x, N = 64 > 1), rloo at s and y below it,
    named costs (one reads x through jnp.where only), leave-one-out baselines per site."""
    methods = {"x": "exact", "s": "rloo", "y": "rloo"}

    def loss(th, k):
        return rx.expectation(_named_costs, _discrete_joint(th), k, method=methods, num_samples=64)

    grads = jax.jit(jax.vmap(jax.grad(loss), in_axes=(None, 0)))(
        _THETA, jax.random.split(jax.random.key(4), 20000)
    )
    exact = jax.grad(_enumerated)(_THETA)
    for name in _THETA:
        assert_unbiased(grads[name], exact[name], label=f"exact→rloo: {name}")
