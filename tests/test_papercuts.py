"""Regression tests for the papercuts an adversarial review left open (one test per fix).

Cheap by design: most checks trace only (errors are raised while tracing) and the numeric
ones run a few compiled calls on tiny problems.
"""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import reparax as rx
from reparax import _registry, constraints
from reparax.distributions import _without_replacement as wor
from tests.stats import assert_unbiased

KEY = jax.random.key(0)
SET_METHODS = ("unordered_set", "sum_and_sample")


# -- 1. DerivativeOrderError names alternatives right for the objective and the family ------


def _order_error(run) -> str:
    with pytest.raises(rx.DerivativeOrderError) as caught:
        run()
    return str(caught.value)


def _named(message: str) -> set[str]:
    """The method names quoted in ``message``."""
    return {e.name for e in _registry.estimators() if repr(e.name) in message}


def test_order_error_for_a_bound_method_names_bound_alternatives():
    """dreg's Hessian: the alternative is iwae under rx.multisample_bound, not an E[f]
    method; the names are derived from the registry (unbiased, bound, order ≥ 2)."""

    def bound(loc: jax.Array) -> jax.Array:
        q = rx.Normal(loc, jnp.ones(2))
        return rx.multisample_bound(lambda z: -jnp.sum(z**2), q, KEY, method="dreg", num_samples=2)

    message = _order_error(lambda: jax.jit(jax.hessian(bound))(jnp.zeros(2)))
    assert "rx.multisample_bound" in message
    assert _named(message) == {"dreg", "iwae"}  # dreg (the refusing one) and iwae


def test_order_error_with_no_alternative_says_so():
    """vimco on a Bernoulli q: no bound method gives a Hessian there (iwae needs a
    reparameterized q), and the message must not invent one."""

    def bound(logits: jax.Array) -> jax.Array:
        q = rx.Bernoulli(logits)
        return rx.multisample_bound(lambda z: -jnp.sum(z), q, KEY, method="vimco", num_samples=2)

    message = _order_error(lambda: jax.jit(jax.hessian(bound))(jnp.zeros(2)))
    assert "No method of rx.multisample_bound gives order 2" in message
    assert _named(message) == {"vimco"}


def test_order_error_for_an_expectation_names_methods_supporting_the_family():
    def objective(logits: jax.Array) -> jax.Array:
        dist = rx.Bernoulli(logits)
        return rx.expectation(jnp.sum, dist, KEY, method="disarm", num_samples=2)

    message = _order_error(lambda: jax.jit(jax.hessian(objective))(jnp.zeros(2)))
    dist = rx.Bernoulli(jnp.zeros(2))
    expected = {
        e.name
        for e in _registry.estimators()
        if e.objective == "expectation" and e.unbiased and e.max_order is None and e.supports(dist)
    }
    assert "pathwise" not in expected and {"exact", "rloo"} <= expected
    assert _named(message) == expected | {"disarm"}


_DELTA = rx.control_variates.delta_method(lambda z: jnp.sum(z**2))


@pytest.mark.parametrize(
    ("options", "advice", "start"),
    [
        (
            {"control_variate": _DELTA, "cv_coefficient": "optimal"},
            "use a numeric cv_coefficient (or none)",
            "method='score_function' with cv_coefficient='optimal'",
        ),
        (
            {"baseline": "optimal"},
            "use a numeric baseline, 'leave_one_out' (or none) for order 2",
            "method='score_function' with baseline='optimal'",
        ),
    ],
    ids=["cv_coefficient", "baseline"],
)
def test_order_error_with_an_optimal_option_advises_a_fixed_one(options, advice, start):
    """Review findings: with cv_coefficient='optimal' (and, noticed later, baseline='optimal')
    the error suggested 'score_function', the method in use (the baseline case also quoted
    the name with the option inside); the limit is the option's, so the advice is about it."""

    def objective(loc: jax.Array) -> jax.Array:
        return rx.expectation(
            lambda z: jnp.sum(z**2),
            rx.Normal(loc, jnp.ones(2)),
            KEY,
            method="score_function",
            num_samples=4,
            **options,
        )

    message = _order_error(lambda: jax.jit(jax.hessian(objective))(jnp.zeros(2)))
    assert advice in message
    assert _named(message) == {"score_function"}  # the method in use, named once as such
    assert message.startswith(start)


def test_order_error_at_a_joint_site_names_the_site_and_what_a_site_accepts():
    """Review finding: inside an rx.Joint the error named no site and suggested
    sum_and_sample, which a site refuses."""

    def objective(theta: jax.Array) -> jax.Array:
        joint = rx.Joint({"z": rx.Normal(theta, 0.8), "b": lambda z: rx.Bernoulli(1.5 * z)})
        return rx.expectation(
            lambda s: (s["z"] - 0.5) ** 2 + s["b"] * s["z"],
            joint,
            KEY,
            method={"z": "pathwise", "b": "disarm"},
            num_samples=4,
        )

    message = _order_error(lambda: jax.jit(jax.hessian(objective))(0.3))
    assert message.startswith("site 'b': method='disarm'")
    assert _named(message) == {"disarm", "score_function", "rloo", "exact"}


# -- 2. auto_num_samples validates its input ------------------------------------------------


@pytest.mark.parametrize(
    ("num_samples", "error"),
    [(0, ValueError), (-3, ValueError), (4.0, TypeError), (True, TypeError)],
)
def test_auto_num_samples_refuses_a_bad_budget(num_samples, error):
    with pytest.raises(error, match="`num_samples`"):
        rx.auto_num_samples(rx.disarm, rx.Bernoulli(jnp.zeros(2)), num_samples)


def test_auto_num_samples_refuses_what_is_not_an_estimator_for_the_distribution():
    bernoulli = rx.Bernoulli(jnp.zeros(2))
    with pytest.raises(TypeError, match="`method` must be"):
        rx.auto_num_samples(len, bernoulli, 4)
    with pytest.raises(ValueError, match="resolve_method"):
        rx.auto_num_samples("auto", bernoulli, 4)
    with pytest.raises(TypeError, match="`dist` must be a reparax distribution"):
        rx.auto_num_samples(rx.disarm, object(), 4)
    with pytest.raises(ValueError, match="does not support Normal"):
        rx.auto_num_samples(rx.indecater, rx.Normal(0.0, 1.0), 4)
    assert rx.auto_num_samples("disarm", bernoulli, 5) == 2  # a name works: 2 pairs


# -- 3. an f that returns a container is described as one, with has_aux suggested -----------


def test_a_pair_from_f_is_named_with_the_has_aux_hint():
    dist = rx.Normal(jnp.zeros(2), jnp.ones(2))
    pair = lambda z: (jnp.sum(z), z)  # noqa: E731
    with pytest.raises(ValueError, match="returned a tuple of length 2.*has_aux=True"):
        rx.expectation(pair, dist, KEY, method="pathwise")
    with pytest.raises(ValueError, match="returned a dict with keys \\['a'\\]") as caught:
        rx.gradient_estimate(lambda z: {"a": jnp.sum(z)}, dist, KEY, method="pathwise")
    assert "has_aux" not in str(caught.value)  # a dict is not the (cost, aux) form
    with pytest.raises(ValueError, match="it returned a tuple of length 2"):
        rx.multisample_bound(pair, dist, KEY, method="iwae", num_samples=2)
    plated = rx.Bernoulli(jnp.zeros((2, 3)))
    with pytest.raises(ValueError, match="plates=1.*returned a list of length 1"):
        rx.expectation(lambda z: [jnp.sum(z)], plated, KEY, method="rloo", num_samples=2, plates=1)


def test_a_tuple_from_relax_surrogate_is_named():
    dist = rx.Bernoulli(jnp.zeros(2))
    with pytest.raises(ValueError, match="surrogate.*got a tuple of length 2"):
        rx.expectation(
            jnp.sum, dist, KEY, method="relax", surrogate=lambda p, z: (1.0, 2.0), cv_params={}
        )


# -- 4. variance_gradient's docstring names every trainable estimator -----------------------


def test_variance_gradient_docstring_names_every_trainable_builtin():
    trainable = [e.name for e in _registry.BUILTIN if e.trainable is not None]
    assert {"rebar", "relax", "double_cv", "rodeo"} <= set(trainable)
    doc = rx.variance_gradient.__doc__ or ""
    missing = [name for name in trainable if f'"{name}"' not in doc]
    assert not missing, f"variance_gradient's docstring does not name {missing}"


# -- 5. gapped_straight_through's gap: a positive scalar, checked eagerly or jit-safely -------


def test_a_gap_array_or_a_concrete_non_positive_gap_is_refused():
    dist = rx.OneHotCategorical(jnp.zeros(3))
    run = lambda gap: rx.expectation(  # noqa: E731
        jnp.sum, dist, KEY, method="gapped_straight_through", gap=gap
    )
    with pytest.raises(ValueError, match="`gap` must be a scalar.*shape \\(3,\\)"):
        run(jnp.ones(3))
    for bad in (0.0, jnp.array(-1.0), float("inf")):
        with pytest.raises(ValueError, match="`gap` must be > 0 and finite"):
            run(bad)
    with pytest.raises(TypeError, match="`gap` must be a positive float"):
        run("1.0")


@pytest.mark.parametrize(
    ("method", "option"),
    [
        ("gapped_straight_through", "gap"),
        ("gumbel_softmax", "temperature"),
        ("st_gumbel_softmax", "backward_temperature"),
    ],
)
def test_a_traced_non_positive_parameter_makes_the_estimate_nan(method, option):
    """Traced (jit, vmap over the parameter), κ or τ ≤ 0 cannot be refused at trace time:
    value and gradient are NaN, never a silently finite (ungapped) number."""
    f = lambda z: jnp.sum(z * jnp.arange(3.0))  # noqa: E731

    def value_and_grad(parameter: jax.Array) -> tuple[jax.Array, jax.Array]:
        def objective(logits: jax.Array) -> jax.Array:
            dist = rx.OneHotCategorical(logits)
            return rx.expectation(f, dist, KEY, method=method, **{option: parameter})

        return jax.value_and_grad(objective)(jnp.array([0.3, -0.2, 0.1]))

    values, grads = jax.jit(jax.vmap(value_and_grad))(jnp.array([0.5, 0.0, -1.0, jnp.inf]))
    assert bool(jnp.isfinite(values[0])) and bool(jnp.all(jnp.isfinite(grads[0])))
    assert bool(jnp.any(grads[0] != 0.0))
    assert bool(jnp.all(jnp.isnan(values[1:]))) and bool(jnp.all(jnp.isnan(grads[1:])))


# -- 6. without replacement from a categorical with classes of probability 0 ----------------

#: m = 3 classes of positive probability among K = 5.
ZERO_CLASSES = jnp.array([0.4, -jnp.inf, -0.3, -jnp.inf, 0.1])
POSITIVE = jnp.array([0, 2, 4])
COSTS = jnp.array([2.0, -2.0, -1.0, 3.0, 0.0])  # finite at every class, f(z) = COSTS[z]


def test_inclusion_probabilities_with_zero_probability_classes():
    """k ≤ m: a zero class never, the positive ones as without the zero classes; k > m: the
    positive ones surely, each zero class with (k − m)/(K − m). Finite derivatives."""
    dist = rx.Categorical(ZERO_CLASSES)
    within = dist.inclusion_probabilities(2)
    np.testing.assert_array_equal(within[jnp.array([1, 3])], [0.0, 0.0])
    without_zeros = rx.Categorical(ZERO_CLASSES[POSITIVE]).inclusion_probabilities(2)
    np.testing.assert_allclose(within[POSITIVE], without_zeros, rtol=1e-5)
    beyond = dist.inclusion_probabilities(4)
    np.testing.assert_allclose(beyond, [1.0, 0.5, 1.0, 0.5, 1.0], rtol=1e-5)
    one_hot = rx.OneHotCategorical(ZERO_CLASSES).inclusion_probabilities(4)
    np.testing.assert_allclose(one_hot, beyond)
    jacobian = jax.jacrev(lambda logits: rx.Categorical(logits).inclusion_probabilities(4))
    assert bool(jnp.all(jnp.isfinite(jacobian(ZERO_CLASSES))))


def test_draws_with_zero_probability_classes_match_the_inclusion_probabilities():
    dist = rx.Categorical(ZERO_CLASSES)
    keys = jax.random.split(jax.random.key(3), 16_000)

    @jax.jit
    def draws(keys: jax.Array) -> tuple[jax.Array, jax.Array]:
        one = lambda key, k: dist.sample_without_replacement(key, k)  # noqa: E731
        return jax.vmap(lambda key: one(key, 2))(keys), jax.vmap(lambda key: one(key, 4))(keys)

    within, beyond = draws(keys)
    assert bool(jnp.all(jnp.isin(within, POSITIVE)))  # k ≤ m: never a class of probability 0
    assert bool(jnp.all(jnp.isin(beyond[:, :3], POSITIVE)))  # the positive classes first
    indicator = jnp.sum(jax.nn.one_hot(beyond, 5), axis=-2)
    assert bool(jnp.all(indicator <= 1)), "a class was drawn twice"
    # The zero classes fill the set uniformly: each is in it half of the time.
    assert_unbiased(indicator, dist.inclusion_probabilities(4), label="inclusion k=4 > m=3")


@pytest.mark.parametrize("method", ["unordered_set", "sum_and_sample"])
def test_set_estimators_with_zero_probability_classes_are_exact_above_m(method):
    """k = 4 > m = 3: every positive class is in the set (summed), so both estimators give
    the enumerated value and gradient, finite, whatever the key (the zero classes weigh 0)."""
    dist = rx.Categorical(ZERO_CLASSES)
    f = lambda z: COSTS[z]  # noqa: E731
    exact = rx.gradient_estimate(f, dist, KEY, method="exact")
    keys = jax.random.split(KEY, 4)

    run = lambda key: rx.gradient_estimate(f, dist, key, method=method, num_samples=4)  # noqa: E731
    est = jax.jit(jax.vmap(run))(keys)
    np.testing.assert_allclose(est.value, np.full(4, exact.value), rtol=1e-5)
    np.testing.assert_allclose(
        est.grad.logits, np.broadcast_to(exact.grad.logits, (4, 5)), atol=1e-6
    )


@pytest.mark.slow
@pytest.mark.parametrize("method", ["unordered_set", "sum_and_sample"])
def test_set_estimators_with_zero_probability_classes_are_unbiased_below_m(method):
    """k = 2 < m = 3: a sampled set (the zero classes never in it), unbiased."""
    dist = rx.Categorical(ZERO_CLASSES)
    f = lambda z: COSTS[z]  # noqa: E731
    exact = rx.gradient_estimate(f, dist, KEY, method="exact")
    keys = jax.random.split(jax.random.key(11), 100_000)
    run = lambda key: rx.gradient_estimate(f, dist, key, method=method, num_samples=2)  # noqa: E731
    est = jax.jit(jax.vmap(run))(keys)
    assert_unbiased(est.grad.logits[:, POSITIVE], exact.grad.logits[POSITIVE], label="grad")
    np.testing.assert_array_equal(est.grad.logits[:, jnp.array([1, 3])], 0.0)
    assert_unbiased(est.value[:, None], exact.value, label="value")


# -- 6b. a finite log-probability far below the others is not probability 0 ----------------

#: Classes 1 and 2 have finite log-probabilities under −1000 (the old floor); 3, 4 are masked.
FAR = jnp.array([0.0, -999.0, -1001.0, -jnp.inf, -jnp.inf])


def test_a_finite_class_far_below_the_others_is_drawn_before_a_masked_one():
    """Review finding: log-probabilities floored at −1000 made finite classes below it
    alike with the masked ones, so masked classes were drawn while a positive one was left,
    and the set and inclusion probabilities of the finite ones were wrong."""
    cold = rx.Categorical(jnp.array([10.0, 0.0, -jnp.inf, -jnp.inf]) / 0.008)
    keys = jax.random.split(jax.random.key(5), 2000)
    sets = jax.jit(jax.vmap(lambda key: cold.sample_without_replacement(key, 2)))(keys)
    np.testing.assert_array_equal(jnp.sort(sets, axis=-1), np.broadcast_to([0, 1], (2000, 2)))
    np.testing.assert_array_equal(cold.inclusion_probabilities(2), [1.0, 1.0, 0.0, 0.0])
    # The second draw is class 1 or 2 with odds e^2 : 1; the masked ones fill a set of 4.
    dist = rx.Categorical(FAR)
    second = jax.nn.sigmoid(2.0)
    np.testing.assert_allclose(
        dist.inclusion_probabilities(2), [1.0, second, 1.0 - second, 0.0, 0.0], rtol=1e-5
    )
    np.testing.assert_allclose(dist.inclusion_probabilities(4), [1, 1, 1, 0.5, 0.5], rtol=1e-5)
    jacobian = jax.jacrev(lambda logits: rx.Categorical(logits).inclusion_probabilities(4))
    assert bool(jnp.all(jnp.isfinite(jacobian(FAR))))
    # p({1, 2}) = p1 p2 (1/(1 − p1) + 1/(1 − p2)) = 2 e^{−2000} up to e^{−999} relative.
    set_log_prob = jax.jit(jax.vmap(wor.set_log_prob, (None, 0)))
    sets = jnp.array([[0, 1], [0, 2], [1, 2], [0, 3], [3, 4]])
    expected = [np.log(second), np.log(1.0 - second), np.log(2.0) - 2000.0, -np.inf, -np.inf]
    np.testing.assert_allclose(set_log_prob(FAR, sets), expected, rtol=1e-6)


def test_set_estimators_draw_no_masked_class_while_a_finite_one_is_left():
    """k = 3 = m with one positive class at −1100: the set is the three positive classes
    (never a masked one, where f is NaN here), so both estimators are exact."""
    logits = jnp.array([0.3, -0.2, -1100.0, -jnp.inf, -jnp.inf])
    costs = jnp.array([2.0, -1.0, 3.0, jnp.nan, jnp.nan])
    f = lambda z: costs[z]  # noqa: E731
    exact = rx.gradient_estimate(f, rx.Categorical(logits[:3]), KEY, method="exact")
    keys = jax.random.split(KEY, 4)

    @jax.jit
    def estimates(keys: jax.Array) -> dict[str, rx.Estimate]:
        def run(key: jax.Array, method: str) -> rx.Estimate:
            return rx.gradient_estimate(
                f, rx.Categorical(logits), key, method=method, num_samples=3
            )

        return {m: jax.vmap(lambda key, m=m: run(key, m))(keys) for m in SET_METHODS}

    for method, est in estimates(keys).items():
        np.testing.assert_allclose(est.value, np.full(4, exact.value), rtol=1e-6, err_msg=method)
        expected = np.concatenate([exact.grad.logits, [0.0, 0.0]])
        np.testing.assert_allclose(
            est.grad.logits, np.broadcast_to(expected, (4, 5)), atol=1e-6, err_msg=method
        )


# -- 6c. a subclass's own parameters are checked on the estimators' fast path --------------


@rx.distribution
class ScaledBernoulli(rx.Bernoulli):
    """A user's subclass adding a parameter the Bernoulli fast check does not know."""

    scale: jax.Array = rx.param(constraints.positive)

    def __init__(self, logits: jax.Array, scale: jax.Array) -> None:
        object.__setattr__(self, "logits", logits)
        object.__setattr__(self, "scale", scale)
        self._initialize()


@rx.distribution
class TemperedCategorical(rx.Categorical):
    """The same for the categorical fast check (logits only)."""

    temperature: jax.Array = rx.param(constraints.positive)

    def __init__(self, logits: jax.Array, temperature: jax.Array) -> None:
        object.__setattr__(self, "logits", logits)
        object.__setattr__(self, "temperature", temperature)
        self._initialize()


def test_checked_poisons_a_subclass_parameter_without_reporting():
    """Review finding: Bernoulli.checked(report=False) returned the distribution itself and
    CategoricalBase's checked only looked at the logits, so a subclass's traced invalid
    parameter stayed finite."""

    @jax.jit
    def extra(value: jax.Array) -> tuple[jax.Array, ...]:
        bits = ScaledBernoulli(jnp.zeros(2), value).checked(report=False)
        classes = TemperedCategorical(jnp.zeros(3), value).checked(report=False)
        return bits.scale, bits.logits, classes.temperature, classes.logits

    scale, bit_logits, temperature, class_logits = extra(jnp.float32(-1.0))
    assert np.isnan(scale) and np.isnan(temperature)
    np.testing.assert_array_equal(bit_logits, 0.0)  # valid parameters stay as they are
    np.testing.assert_array_equal(class_logits, 0.0)
    valid = extra(jnp.float32(2.0))
    np.testing.assert_array_equal(valid[0], 2.0)
    np.testing.assert_array_equal(valid[2], 2.0)


# -- 6d. a NaN parameter makes every discrete estimate NaN ----------------------------------

#: Logits with a NaN (refused when concrete, so passed traced), per family.
NAN_LOGITS = {
    rx.Bernoulli: jnp.array([0.0, jnp.nan, 1.0]),
    rx.OneHotCategorical: jnp.array([[0.0, 1.0, 2.0], [0.0, jnp.nan, 1.0]]),
}
#: The one-hot methods the review found finite (the rest: the slow tier, for CI time).
PROBED = ["measure_valued", "arm", "disarm"]


@pytest.mark.parametrize(
    ("family", "methods"),
    [
        (rx.Bernoulli, None),
        (rx.OneHotCategorical, PROBED),
        pytest.param(rx.OneHotCategorical, None, marks=pytest.mark.slow),
    ],
    ids=["Bernoulli", "OneHotCategorical-probed", "OneHotCategorical"],
)
def test_a_nan_parameter_makes_every_discrete_estimate_nan(family, methods):
    """Review finding: linear_probe zeroed the derivative of a non-finite parameter, so ARM,
    DisARM and measure-valued estimates at a NaN logit came out finite (value or gradient):
    the poisoning of an invalid parameter was undone. Every method (``None``), one
    compilation."""
    logits = NAN_LOGITS[family]
    methods = methods or rx.supported_methods(family(jnp.zeros(logits.shape)))
    f = lambda z: jnp.sum((z - 0.3) ** 2)  # noqa: E731

    @jax.jit
    def estimates(logits: jax.Array) -> dict[str, tuple[jax.Array, jax.Array]]:
        def one(method: str) -> tuple[jax.Array, jax.Array]:
            def run(logits: jax.Array) -> jax.Array:
                dist = family(logits)
                return rx.expectation(f, dist, KEY, method=method, num_samples=4)

            return jax.value_and_grad(run)(logits)

        return {m: one(m) for m in methods}

    for method, (value, grad) in estimates(logits).items():
        assert np.isnan(value), method
        assert np.isnan(grad).any(), method


# -- 7. f-evaluations that depend on the options -------------------------------------------


def _scaled_score(f, dist, key, *, num_samples=1, chunk_size=None, scale=1.0):
    """A user's estimator whose count takes ``dist`` alone (the pre-options signature)."""
    return scale * rx.score_function(f, dist, key, num_samples=num_samples)


USER_ESTIMATOR = rx.Estimator(
    name="papercuts_user_count",
    fn=_scaled_score,
    unbiased=False,
    differentiable_f=False,
    evaluations="3",
    references=(),
    count_evaluations=lambda dist: 3,
)


def test_f_evaluations_reads_the_options():
    """gumbel_softmax(value="hard") evaluates f at the relaxed and at the hard sample."""
    dist = rx.OneHotCategorical(jnp.zeros((2, 3)))
    count = rx.diagnostics.f_evaluations
    assert count("gumbel_softmax", dist, 4) == 4
    assert count("gumbel_softmax", dist, 4, value="relaxed") == 4
    assert count("gumbel_softmax", dist, 4, value="hard") == 8
    with pytest.raises(ValueError, match="`value` must be 'relaxed'"):
        count("gumbel_softmax", dist, 4, value="hrad")
    with pytest.raises(TypeError, match="no option `vale`"):
        count("gumbel_softmax", dist, 4, vale="hard")
    with pytest.raises(ValueError, match="`num_samples` must be >= 2"):
        count("rloo", dist, 1)
    # A count of dist alone (existing estimators, users' own) still works, options or not.
    assert count(USER_ESTIMATOR, dist, 2, scale=2.0) == count(USER_ESTIMATOR, dist, 2) == 6
    assert count("disarm", dist, 3) == 6


def test_f_evaluations_of_relax_count_the_default_surrogate():
    """Review finding: relax counted 1 evaluation per sample, but its default surrogate is
    REBAR's control variate plus a network, and calls f at each of its 4 evaluations (z, z̃
    and both without θ-gradient), as REBAR does; a custom surrogate leaves f(b) alone."""
    dist = rx.Bernoulli(jnp.zeros(3))
    count = rx.diagnostics.f_evaluations
    assert count("relax", dist, 4) == count("rebar", dist, 4) == 20
    custom = lambda params, z: jnp.sum(params * jax.nn.sigmoid(z))  # noqa: E731
    assert count("relax", dist, 4, surrogate=custom, cv_params=jnp.ones(3)) == 4


# -- 8. exact enumerates once, whatever num_samples -----------------------------------------


def test_f_evaluations_of_exact_is_the_support_whatever_num_samples():
    dist = rx.Bernoulli(jnp.zeros(3))
    count = rx.diagnostics.f_evaluations
    assert [count("exact", dist, n) for n in (1, 4, 64)] == [8, 8, 8]
    # A keyed f is averaged over num_samples inner keys, each over the whole support.
    keyed = rx.with_key(lambda b, key: jnp.sum(b) + jax.random.normal(key))
    assert count("exact", dist, 4, f=keyed) == 32
    assert rx.resolve_method("auto", dist, 1) is rx.exact
    assert count("auto", dist, 1) == 8


# -- 9. methods whose samples only work together are refused at a Joint site ----------------


@pytest.mark.parametrize(
    ("method", "why"),
    [
        ("unordered_set", "size of one set"),
        ("sum_and_sample", "size of one set"),
        ("double_cv", "at least 2 samples"),
        ("rodeo", "at least 2 samples"),
    ],
)
def test_set_and_coupled_methods_are_refused_at_a_joint_site(method, why):
    """A site runs one sample per program sample: the set estimators would be REINFORCE
    without a baseline, and double_cv/rodeo returned NaN."""
    joint = rx.Joint({"b": rx.OneHotCategorical(jnp.array([0.3, -0.2, 0.5]))})
    f = lambda v: jnp.sum(v["b"] * jnp.arange(3.0))  # noqa: E731
    with pytest.raises(ValueError, match=f"site 'b': method='{method}'.*{why}") as caught:
        rx.gradient_estimate(f, joint, KEY, method={"b": method}, num_samples=4)
    named = str(caught.value).split("Methods for this site: ")[1]
    assert {"rloo", "exact", "disarm"} <= set(named.rstrip(".").split(", "))
    assert method not in named


# -- 10. Categorical.log_prob off its support -------------------------------------------------


def test_categorical_log_prob_is_minus_inf_off_the_classes_and_takes_python_ints():
    """It raised a TypeError for a Python int, gave the last class's log-probability for −1
    (a wrapped index), NaN for K and class 1's for 1.5 (a truncated one)."""
    probs = jnp.array([0.2, 0.3, 0.5])
    dist = rx.Categorical.from_probs(probs)
    assert float(dist.log_prob(1)) == pytest.approx(np.log(0.3))
    values = jnp.array([0.0, 2.0, -1.0, 3.0, 1.5])
    np.testing.assert_allclose(
        dist.log_prob(values), [np.log(0.2), np.log(0.5), -np.inf, -np.inf, -np.inf], rtol=1e-6
    )
    batched = rx.Categorical.from_probs(jnp.stack([probs, probs[::-1]]))
    np.testing.assert_allclose(
        jax.jit(batched.log_prob)(jnp.array([2, -1])), [np.log(0.5), -np.inf], rtol=1e-6
    )
    # The gradient at a class is d log softmax; off the classes it is 0 (a constant −inf).
    grad = jax.grad(lambda logits: rx.Categorical(logits).log_prob(jnp.array(1)))(jnp.zeros(3))
    np.testing.assert_allclose(grad, [-1 / 3, 2 / 3, -1 / 3], rtol=1e-6)
    grad = jax.grad(lambda logits: rx.Categorical(logits).log_prob(jnp.array(3)))(jnp.zeros(3))
    np.testing.assert_array_equal(grad, jnp.zeros(3))


# -- 11. traced probabilities off their constraint --------------------------------------------


def test_traced_probs_off_the_simplex_are_nan_not_renormalised():
    """Eager, an off-simplex row raises; traced, log p of it was a valid row of logits (the
    row renormalised). Now the row is NaN, as every invalid traced parameter is."""
    logits = jax.jit(lambda p: rx.OneHotCategorical.from_probs(p).logits)(
        jnp.array([[0.2, 0.3, 0.5], [0.2, 0.3, 0.6], [-0.1, 0.6, 0.5]])
    )
    np.testing.assert_allclose(logits[0], np.log([0.2, 0.3, 0.5]), rtol=1e-6)
    assert bool(jnp.all(jnp.isnan(logits[1:])))
    bits = jax.jit(lambda p: rx.Bernoulli.from_probs(p).logits)(jnp.array([0.0, 0.5, 1.0, 1.5]))
    np.testing.assert_array_equal(bits, [-np.inf, 0.0, np.inf, np.nan])

    def value(probs):
        dist = rx.Categorical.from_probs(probs)
        f = lambda z: z.astype(jnp.float32)  # noqa: E731
        return rx.expectation(f, dist, KEY, method="rloo", num_samples=4)

    assert bool(jnp.isnan(jax.jit(value)(jnp.array([0.2, 0.3, 0.6]))))
    grad = jax.jit(jax.grad(value))(jnp.array([0.2, 0.3, 0.5]))
    assert bool(jnp.all(jnp.isfinite(grad)))
