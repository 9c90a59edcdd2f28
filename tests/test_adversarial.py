"""Adversarial catalogue (issue #10, item 2): bad inputs, composition, numerical edges and
determinism, one expected behaviour per case (stated in the id or docstring).

Bad input must raise ``ValueError``/``TypeError`` at trace time whose message names the
argument (and the method, including the one ``auto`` chose) and what would work; every
transformation (jit, vmap, scan, grad of grad, jacfwd, checkpoint, sharding) must compose;
numerical edges give finite values where the maths is finite; the same key gives bitwise the
same result. Cases that expose a bug are kept with the correct expectation and marked
``xfail(strict=True, reason="BUG: ...")``. Shapes are tiny and sample counts small: nothing
here is a statistical test (that suite lives elsewhere).
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import reparax as rx

KEY = jax.random.key(0)
NORMAL = rx.Normal(jnp.zeros(2), jnp.ones(2))
BERN = rx.Bernoulli(jnp.array([0.4, -1.2]))
ONEHOT = rx.OneHotCategorical(jnp.array([[0.1, -0.3, 0.5], [0.0, 1.0, -1.0]]))
SQ = lambda z: jnp.sum(z**2)  # noqa: E731
SUM = lambda z: jnp.sum(z)  # noqa: E731
STEP = lambda z: jnp.sum((z > 0).astype(jnp.float32))  # noqa: E731


def _ge(f=SQ, dist=NORMAL, key=KEY, **kw):
    return lambda: rx.gradient_estimate(f, dist, key, **kw)


def _ex(f=SQ, dist=NORMAL, key=KEY, **kw):
    return lambda: rx.expectation(f, dist, key, **kw)


def _moving_average_update_vector():
    ma = rx.control_variates.moving_average(0.9)
    ma.update(ma.init(), jnp.ones(2))


def _moving_average_stacked_state():
    ma = rx.control_variates.moving_average(0.9)
    state = ma.init()
    ma.baseline(jax.tree.map(lambda x: jnp.stack([x, x]), state))


def _relax_bad_w1_shape():
    params = rx.relax_init(BERN, KEY)
    params["w1"] = jnp.zeros((5, 16))
    rx.gradient_estimate(SUM, BERN, KEY, method="relax", cv_params=params)


# ---------------------------------------------------------------------------------------
# 1. Bad inputs: (thunk, exception type, regex the message must match), id = expectation.
# ---------------------------------------------------------------------------------------

BAD_INPUTS = [
    # --- method names: unknown names get a did-you-mean and the list of known methods
    pytest.param(
        _ge(method="pathwize"),
        ValueError,
        r"Did you mean 'pathwise'\?.*Known methods",
        id="method-typo-pathwize-suggests-pathwise",
    ),
    pytest.param(
        _ge(method="reinforse"),
        ValueError,
        r"Did you mean 'reinforce'\?",
        id="method-typo-reinforse-suggests-reinforce",
    ),
    pytest.param(
        _ge(method="Gumbel-Softmax"),
        ValueError,
        r"Did you mean 'gumbel_softmax'\?",
        id="method-typo-dash-suggests-gumbel_softmax",
    ),
    pytest.param(
        _ge(method="zzz"),
        ValueError,
        r"Unknown method 'zzz'.*Known methods:.*pathwise",
        id="method-unknown-lists-known",
    ),
    pytest.param(
        _ge(method=3), TypeError, r"`method` must be a method name", id="method-int-TypeError"
    ),
    pytest.param(
        _ge(method=None), TypeError, r"`method` must be a method name", id="method-None-TypeError"
    ),
    pytest.param(
        _ex(method="disarn", dist=BERN),
        ValueError,
        r"Did you mean 'disarm'\?",
        id="expectation-method-typo-disarn",
    ),
    # --- num_samples / chunk_size
    pytest.param(
        _ge(method="pathwise", num_samples=0),
        ValueError,
        r"method='pathwise': `num_samples` must be >= 1",
        id="num_samples-0-ValueError-names-method",
    ),
    pytest.param(
        _ge(method="pathwise", num_samples=-2),
        ValueError,
        r"`num_samples` must be >= 1",
        id="num_samples-negative-ValueError",
    ),
    pytest.param(
        _ge(method="pathwise", num_samples=2.0),
        TypeError,
        r"`num_samples` must be a Python int",
        id="num_samples-float-TypeError",
    ),
    pytest.param(
        _ge(method="pathwise", num_samples=True),
        TypeError,
        r"`num_samples` must be a Python int",
        id="num_samples-bool-TypeError",
    ),
    pytest.param(
        _ge(method="pathwise", num_samples=jnp.array(4)),
        TypeError,
        r"`num_samples` must be a Python int",
        id="num_samples-jax-array-TypeError",
    ),
    pytest.param(
        _ge(method="auto", num_samples=0),
        ValueError,
        r"`num_samples` must be >= 1",
        id="auto-num_samples-0-ValueError",
    ),
    pytest.param(
        _ge(method="pathwise", num_samples=4, chunk_size=0),
        ValueError,
        r"method='pathwise': `chunk_size` must be >= 1",
        id="chunk_size-0-ValueError",
    ),
    pytest.param(
        _ge(method="pathwise", num_samples=4, chunk_size=1.5),
        TypeError,
        r"`chunk_size` must be a Python int",
        id="chunk_size-float-TypeError",
    ),
    pytest.param(
        _ge(method="auto", num_samples=4, chunk_size=-1),
        ValueError,
        r"method='pathwise': `chunk_size`",
        id="auto-chunk_size-negative-names-chosen-pathwise",
    ),
    pytest.param(
        _ge(method="rloo", num_samples=1),
        ValueError,
        r"method='rloo': `num_samples` must be >= 2",
        id="rloo-num_samples-1-names-rloo",
    ),
    pytest.param(
        lambda: rx.rloo(SQ, NORMAL, KEY, num_samples=1),
        ValueError,
        r"rloo.*`num_samples` must be >= 2",
        id="rx.rloo-value-num_samples-1-names-rloo",
    ),
    # --- key
    pytest.param(
        _ge(method="pathwise", key=0),
        TypeError,
        r"`key` must be a PRNG key",
        id="key-int-TypeError",
    ),
    pytest.param(
        _ge(method="pathwise", key="seed"),
        TypeError,
        r"`key` must be a PRNG key",
        id="key-str-TypeError",
    ),
    pytest.param(
        _ge(method="pathwise", key=jnp.zeros(2)),
        TypeError,
        r"`key` must be a PRNG key",
        id="key-float-pair-TypeError",
    ),
    pytest.param(
        _ge(method="pathwise", key=jnp.zeros(3, jnp.uint32)),
        TypeError,
        r"`key` must be a PRNG key",
        id="key-uint32-triple-TypeError",
    ),
    pytest.param(
        _ge(method="pathwise", key=jax.random.split(KEY, 2)),
        TypeError,
        r"single PRNG key.*vmap",
        id="key-batch-TypeError-suggests-vmap",
    ),
    pytest.param(
        _ex(method="score_function", key=None),
        TypeError,
        r"`key` must be a PRNG key",
        id="expectation-key-None-TypeError",
    ),
    # --- dist
    pytest.param(
        _ge(dist={"loc": 0.0}, method="score_function"),
        TypeError,
        r"`dist` must be a reparax distribution",
        id="dist-dict-TypeError",
    ),
    pytest.param(
        _ge(dist=jnp.zeros(2), method="auto"),
        TypeError,
        r"`dist` must be a reparax distribution",
        id="auto-dist-array-TypeError",
    ),
    pytest.param(
        _ge(dist=None, method="pathwise"),
        TypeError,
        r"`dist` must be a reparax distribution",
        id="dist-None-TypeError",
    ),
    # --- f
    pytest.param(
        _ge(f=lambda z: z**2, method="pathwise"),
        ValueError,
        r"`f` must map one sample .* to a scalar.*jnp.sum",
        id="f-vector-output-ValueError",
    ),
    pytest.param(
        _ge(f=lambda z: jnp.sum(z > 0), method="score_function"),
        TypeError,
        r"`f` must return a floating-point scalar",
        id="f-int-output-TypeError",
    ),
    pytest.param(
        _ge(f=3.0, method="score_function"),
        TypeError,
        r"`f` must be a callable",
        id="f-not-callable-TypeError",
    ),
    pytest.param(
        _ge(f=3.0, method="auto"),
        TypeError,
        r"`f` must be a callable",
        id="auto-f-not-callable-TypeError",
    ),
    pytest.param(
        _ge(f=STEP, method="pathwise"),
        ValueError,
        r"method='pathwise' needs a differentiable f.*score_function.*rloo",
        id="pathwise-step-f-names-score_function-rloo",
    ),
    pytest.param(
        _ge(f=lambda z: jnp.sum(jax.lax.stop_gradient(z)), method="pathwise"),
        ValueError,
        r"differentiable f.*rloo",
        id="pathwise-stop_gradient-f-refused",
    ),
    pytest.param(
        _ge(f=STEP, dist=BERN, method="gumbel_softmax"),
        ValueError,
        r"method='gumbel_softmax' needs a differentiable f",
        id="gumbel_softmax-step-f-refused",
    ),
    # --- unsupported (method, distribution) pairs list what would work
    pytest.param(
        _ge(dist=BERN, method="pathwise"),
        ValueError,
        r"method='pathwise' does not support Bernoulli.*Methods that support Bernoulli:.*exact",
        id="pathwise-on-Bernoulli-lists-supported",
    ),
    pytest.param(
        _ge(method="exact"),
        ValueError,
        r"method='exact' does not support Normal.*Methods that support Normal:.*pathwise",
        id="exact-on-Normal-lists-supported",
    ),
    pytest.param(
        lambda: rx.indecater(SQ, NORMAL, KEY),
        ValueError,
        r"method='indecater' does not support Normal",
        id="rx.indecater-value-on-Normal",
    ),
    pytest.param(
        lambda: rx.arm(SQ, NORMAL, KEY),
        ValueError,
        r"method='arm' does not support Normal",
        id="rx.arm-value-on-Normal",
    ),
    pytest.param(
        lambda: rx.reinmax(SQ, NORMAL, KEY),
        ValueError,
        r"method='reinmax' does not support Normal.*Methods that support Normal",
        id="rx.reinmax-value-on-Normal",
    ),
    pytest.param(
        _ge(
            dist=rx.Categorical(jnp.zeros(3)),
            method="gumbel_softmax",
            f=lambda z: z.astype(jnp.float32),
        ),
        ValueError,
        r"gumbel_softmax.*OneHotCategorical",
        id="gumbel_softmax-on-Categorical-names-OneHotCategorical",
    ),
    pytest.param(
        _ge(dist=rx.Uniform(0.0, 1.0), method="score_function"),
        ValueError,
        r"method='score_function' does not support Uniform.*pathwise",
        id="score_function-on-Uniform-refused",
    ),
    pytest.param(
        _ge(dist=rx.Beta(2.0, 3.0), method="measure_valued"),
        ValueError,
        r"method='measure_valued' does not support Beta",
        id="measure_valued-on-Beta-refused",
    ),
    # --- options
    pytest.param(
        _ge(method="pathwise", temprature=0.5),
        TypeError,
        r"method='pathwise' has no option `temprature`",
        id="unknown-option-TypeError-names-method",
    ),
    pytest.param(
        _ge(dist=BERN, f=SUM, method="gumbel_softmax", temprature=0.5),
        TypeError,
        r"`temprature`\. Did you mean 'temperature'\?",
        id="option-typo-suggests-temperature",
    ),
    pytest.param(
        _ge(method="auto", frobnicate=1),
        ValueError,
        r"method='auto' found no unbiased method.*frobnicate.*pathwise",
        id="auto-unknown-option-ValueError-lists-methods",
    ),
    pytest.param(
        _ge(dist=BERN, f=SUM, method="gumbel_softmax", temperature=0.0),
        ValueError,
        r"method='gumbel_softmax': `temperature` must be > 0",
        id="temperature-0-ValueError",
    ),
    pytest.param(
        _ge(dist=BERN, f=SUM, method="gumbel_softmax", temperature=-1.0),
        ValueError,
        r"`temperature` must be > 0",
        id="temperature-negative-ValueError",
    ),
    pytest.param(
        _ge(dist=BERN, f=SUM, method="gumbel_softmax", temperature=float("nan")),
        ValueError,
        r"`temperature` must be > 0 and finite",
        id="temperature-nan-ValueError",
    ),
    pytest.param(
        _ge(dist=BERN, f=SUM, method="st_gumbel_softmax", temperature=float("inf")),
        ValueError,
        r"st_gumbel_softmax.*`temperature`",
        id="temperature-inf-ValueError",
    ),
    pytest.param(
        _ge(dist=BERN, f=SUM, method="gumbel_softmax", temperature="1"),
        TypeError,
        r"`temperature` must be a positive float",
        id="temperature-str-TypeError",
    ),
    pytest.param(
        _ge(dist=BERN, f=SUM, method="gumbel_softmax", temperature=None),
        TypeError,
        r"`temperature` must be a positive float",
        id="temperature-None-TypeError",
    ),
    pytest.param(
        _ge(method="score_function", baseline="mean"),
        ValueError,
        r"method='score_function': `baseline` must be",
        id="baseline-unknown-str-ValueError",
    ),
    pytest.param(
        _ge(method="score_function", num_samples=3, baseline=jnp.ones(2)),
        ValueError,
        r"`baseline` must be a scalar or have shape \(num_samples,\)",
        id="baseline-wrong-shape-ValueError",
    ),
    pytest.param(
        _ge(method="score_function", baseline=True),
        TypeError,
        r"`baseline` must be",
        id="baseline-bool-TypeError",
    ),
    pytest.param(
        _ge(method="score_function", baseline="leave_one_out"),
        ValueError,
        r"leave_one_out.*num_samples >= 2",
        id="baseline-loo-one-sample-ValueError",
    ),
    # --- control variates
    pytest.param(
        _ge(method="score_function", control_variate="delta"),
        TypeError,
        r"method='score_function': `control_variate` must be a rx.control_variates.ControlVariate",
        id="control_variate-str-TypeError",
    ),
    pytest.param(
        _ge(
            method="score_function",
            control_variate=rx.control_variates.delta_method(SQ),
            cv_coefficient="best",
        ),
        ValueError,
        r"`cv_coefficient` must be a number or 'optimal'",
        id="cv_coefficient-str-ValueError",
    ),
    pytest.param(
        _ge(
            method="score_function",
            control_variate=rx.control_variates.delta_method(SQ),
            cv_coefficient=jnp.ones(2),
        ),
        TypeError,
        r"`cv_coefficient` must be a real scalar",
        id="cv_coefficient-vector-TypeError",
    ),
    pytest.param(
        _ge(method="auto", control_variate="delta"),
        TypeError,
        r"method='pathwise': `control_variate`",
        id="auto-control_variate-str-names-chosen-pathwise",
    ),
    pytest.param(
        _ge(
            dist=BERN, f=SUM, method="exact", control_variate=rx.control_variates.delta_method(SUM)
        ),
        TypeError,
        r"method='exact' has no option `control_variate`",
        id="exact-control_variate-TypeError",
    ),
    pytest.param(
        _ge(
            dist=BERN,
            f=SUM,
            method="score_function",
            control_variate=rx.control_variates.muprop(SUM),
        ),
        None,
        None,
        id="muprop-on-Bernoulli-works",
    ),
    pytest.param(
        _ge(
            dist=rx.Cauchy(0.0, 1.0),
            f=jnp.tanh,
            method="pathwise",
            control_variate=rx.control_variates.delta_method(jnp.tanh),
        ),
        (TypeError, ValueError),
        r"(variance|covariance|mean).*Cauchy|Cauchy.*(variance|covariance|mean)",
        id="delta_method-on-Cauchy-refused-no-finite-variance",
    ),
    pytest.param(
        lambda: rx.control_variates.moving_average(decay=1.5),
        ValueError,
        r"`decay` must be a number in \[0, 1\]",
        id="moving_average-decay-1.5-ValueError",
    ),
    pytest.param(
        lambda: rx.control_variates.moving_average(decay="0.9"),
        ValueError,
        r"`decay`",
        id="moving_average-decay-str-ValueError",
    ),
    pytest.param(
        _moving_average_update_vector,
        ValueError,
        r"moving-average `value` must be a scalar",
        id="moving_average-update-vector-ValueError",
    ),
    pytest.param(
        lambda: rx.control_variates.moving_average().baseline({"a": 0.0}),
        TypeError,
        r"moving-average `state` must be the MovingAverageState",
        id="moving_average-bad-state-TypeError",
    ),
    pytest.param(
        _moving_average_stacked_state,
        ValueError,
        r"state field `weighted_sum` must be a scalar.*vmap",
        id="moving_average-stacked-state-ValueError",
    ),
    # --- rebar / relax
    pytest.param(
        _ge(dist=BERN, f=SUM, method="rebar", eta="1"),
        TypeError,
        r"method='rebar': `eta` must be a real",
        id="rebar-eta-str-TypeError",
    ),
    pytest.param(
        _ge(dist=BERN, f=SUM, method="rebar", eta=jnp.ones(2)),
        TypeError,
        r"`eta` must be a real scalar",
        id="rebar-eta-vector-TypeError",
    ),
    pytest.param(
        _ge(dist=BERN, f=SUM, method="relax", cv_params={}),
        ValueError,
        r"method='relax': `cv_params`",
        id="relax-cv_params-empty-ValueError",
    ),
    pytest.param(
        _relax_bad_w1_shape,
        ValueError,
        r"`cv_params\['w1'\]` must have shape",
        id="relax-cv_params-w1-shape-ValueError",
    ),
    pytest.param(
        _ge(dist=BERN, f=SUM, method="relax", surrogate=lambda p, z: jnp.sum(z)),
        ValueError,
        r"`cv_params` is required with a custom `surrogate`",
        id="relax-surrogate-without-cv_params-ValueError",
    ),
    pytest.param(
        _ge(dist=BERN, f=SUM, method="relax", surrogate=3, cv_params={}),
        TypeError,
        r"`surrogate` must be callable",
        id="relax-surrogate-not-callable-TypeError",
    ),
    pytest.param(
        _ge(dist=BERN, f=SUM, method="relax", surrogate=lambda p, z: z, cv_params={}),
        ValueError,
        r"`surrogate\(cv_params, z\)` must return a scalar",
        id="relax-surrogate-vector-ValueError",
    ),
    pytest.param(
        lambda: rx.relax_init(BERN), TypeError, r"key", id="relax_init-needs-key-TypeError"
    ),
    # --- variance_gradient
    pytest.param(
        lambda: rx.variance_gradient(SQ, NORMAL, KEY, method="pathwise", cv_params={}),
        ValueError,
        r"variance_gradient needs `to_options` for method='pathwise'.*rebar.*relax",
        id="variance_gradient-pathwise-needs-to_options",
    ),
    pytest.param(
        lambda: rx.variance_gradient(SUM, BERN, KEY, method="relax", cv_params={"w": 1.0}),
        ValueError,
        r"`cv_params`",
        id="variance_gradient-relax-bad-cv_params",
    ),
    pytest.param(
        lambda: rx.variance_gradient(SUM, BERN, KEY, method="rebarr", cv_params={}),
        ValueError,
        r"Did you mean 'rebar'\?",
        id="variance_gradient-typo-suggests-rebar",
    ),
    pytest.param(
        lambda: rx.variance_gradient(
            SUM, BERN, KEY, method="rebar", cv_params=rx.rebar_init(), num_samples=0
        ),
        ValueError,
        r"method='rebar': `num_samples` must be >= 1",
        id="variance_gradient-num_samples-0",
    ),
    # --- supported_methods / register
    pytest.param(
        lambda: rx.supported_methods({}),
        TypeError,
        r"`dist` must be a reparax distribution",
        id="supported_methods-dict-TypeError",
    ),
    pytest.param(
        lambda: rx.supported_methods(None),
        TypeError,
        r"`dist` must be a reparax distribution",
        id="supported_methods-None-TypeError",
    ),
    pytest.param(
        lambda: rx.supported_methods(rx.Normal),
        TypeError,
        r"`dist` must be a reparax distribution",
        id="supported_methods-class-not-instance-TypeError",
    ),
    pytest.param(
        lambda: rx.register("pathwise"),
        TypeError,
        r"register\(\) takes an rx.Estimator",
        id="register-str-TypeError",
    ),
    pytest.param(
        lambda: rx.register(rx.pathwise),
        ValueError,
        r"already registered",
        id="register-duplicate-ValueError",
    ),
    # --- diagnostics.estimator_samples
    pytest.param(
        lambda: rx.diagnostics.estimator_samples(
            SQ, {"loc": 0.0}, KEY, method="pathwise", num_estimates=2
        ),
        TypeError,
        r"`dist` must be a reparax distribution",
        id="estimator_samples-dict-TypeError",
    ),
    pytest.param(
        lambda: rx.diagnostics.estimator_samples(
            SQ, NORMAL, KEY, method="pathwize", num_estimates=2
        ),
        ValueError,
        r"Did you mean 'pathwise'\?",
        id="estimator_samples-typo-suggests",
    ),
    pytest.param(
        lambda: rx.diagnostics.estimator_samples(
            SQ, rx.Normal(0.0, -1.0), KEY, method="pathwise", num_estimates=2
        ),
        ValueError,
        r"`scale` must be > 0",
        id="estimator_samples-negative-scale-ValueError",
    ),
    pytest.param(
        lambda: rx.diagnostics.estimator_samples(
            SQ, NORMAL, KEY, method="pathwise", num_estimates=0
        ),
        ValueError,
        r"`num_estimates` must be >= 1",
        id="estimator_samples-num_estimates-0-ValueError",
    ),
    pytest.param(
        lambda: rx.diagnostics.estimator_samples(
            SQ, NORMAL, KEY, method="pathwise", num_estimates=2.5
        ),
        TypeError,
        r"`num_estimates` must be a Python int",
        id="estimator_samples-num_estimates-float-TypeError",
    ),
    pytest.param(
        lambda: rx.diagnostics.estimator_samples(
            SQ, NORMAL, KEY, method="rloo", num_estimates=2, num_samples=1
        ),
        ValueError,
        r"method='rloo': `num_samples` must be >= 2",
        id="estimator_samples-rloo-one-sample",
    ),
    # --- distribution constructors
    pytest.param(
        lambda: rx.Normal(jnp.zeros(3), jnp.ones(2)),
        ValueError,
        r"do not broadcast.*loc \(3,\).*scale \(2,\)",
        id="Normal-shapes-do-not-broadcast",
    ),
    pytest.param(
        lambda: rx.Normal(0.0, -1.0),
        ValueError,
        r"Normal: `scale` must be > 0",
        id="Normal-negative-scale",
    ),
    pytest.param(
        lambda: rx.Normal(jnp.array([0.0, jnp.nan]), 1.0),
        ValueError,
        r"Normal: `loc`.*nan at index \(1,\)",
        id="Normal-nan-loc-names-index",
    ),
    pytest.param(
        lambda: rx.Normal(0.0, jnp.inf), ValueError, r"`scale`.*inf", id="Normal-inf-scale"
    ),
    pytest.param(
        lambda: rx.Normal("abc", 1.0),
        TypeError,
        r"Normal: `loc` must be an array or a number",
        id="Normal-str-loc-TypeError",
    ),
    pytest.param(
        lambda: rx.Normal([0.0, 1.0], [1.0, 0.0]),
        ValueError,
        r"`scale` must be > 0.*index \(1,\)",
        id="Normal-list-zero-scale",
    ),
    pytest.param(
        lambda: rx.Bernoulli(logits=0.0, probs=0.5),
        TypeError,
        r"exactly one of `logits` and `probs` \(got both\)",
        id="Bernoulli-logits-and-probs",
    ),
    pytest.param(
        lambda: rx.Bernoulli(),
        TypeError,
        r"exactly one of `logits` and `probs` \(got neither\)",
        id="Bernoulli-neither",
    ),
    pytest.param(
        lambda: rx.Bernoulli(probs=1.5), ValueError, r"Bernoulli: `probs`", id="Bernoulli-probs-1.5"
    ),
    pytest.param(
        lambda: rx.Bernoulli(probs=[0.2, -0.1]),
        ValueError,
        r"`probs`.*index \(1,\)",
        id="Bernoulli-probs-negative-index",
    ),
    pytest.param(
        lambda: rx.Bernoulli(probs="x"),
        TypeError,
        r"`probs` must be an array",
        id="Bernoulli-probs-str-TypeError",
    ),
    pytest.param(
        lambda: rx.Bernoulli.from_probs(2.0),
        ValueError,
        r"`probs`",
        id="Bernoulli.from_probs-2-ValueError",
    ),
    pytest.param(
        lambda: rx.Bernoulli(jnp.nan), ValueError, r"Bernoulli: `logits`", id="Bernoulli-nan-logits"
    ),
    pytest.param(
        lambda: rx.Categorical(probs=jnp.array([0.5, 0.6])),
        ValueError,
        r"Categorical: `probs`.*simplex",
        id="Categorical-probs-not-simplex",
    ),
    pytest.param(
        lambda: rx.OneHotCategorical.from_probs(jnp.array([0.5, -0.5, 1.0])),
        ValueError,
        r"`probs`",
        id="OneHotCategorical.from_probs-negative",
    ),
    pytest.param(
        lambda: rx.Categorical(logits=0.0),
        ValueError,
        r"logits",
        id="Categorical-scalar-logits-needs-event-axis",
    ),
    pytest.param(
        lambda: rx.Geometric(probs=0.0), ValueError, r"Geometric: `probs`", id="Geometric-probs-0"
    ),
    pytest.param(
        lambda: rx.Binomial(probs=0.5, total_count=-1),
        ValueError,
        r"total_count",
        id="Binomial-negative-total_count",
    ),
    pytest.param(
        lambda: rx.Gamma(0.0, 1.0),
        ValueError,
        r"Gamma: `concentration` must be > 0",
        id="Gamma-zero-concentration",
    ),
    pytest.param(
        lambda: rx.Gamma(1.0, -1.0),
        ValueError,
        r"Gamma: `rate` must be > 0",
        id="Gamma-negative-rate",
    ),
    pytest.param(
        lambda: rx.Dirichlet(jnp.array([1.0, -1.0])),
        ValueError,
        r"Dirichlet: `concentration`.*index \(1,\)",
        id="Dirichlet-negative-concentration",
    ),
    pytest.param(
        lambda: rx.MultivariateNormalTriL(jnp.zeros(3), jnp.eye(2)),
        ValueError,
        r"scale_tril",
        id="MVN-shape-mismatch",
    ),
    pytest.param(
        lambda: rx.MultivariateNormalTriL(jnp.zeros(2), -jnp.eye(2)),
        ValueError,
        r"`scale_tril`",
        id="MVN-negative-diagonal",
    ),
    pytest.param(
        lambda: rx.Uniform(1.0, 0.0),
        ValueError,
        r"Uniform.*(low|high)",
        id="Uniform-low-above-high",
    ),
    pytest.param(
        lambda: rx.TruncatedNormal(0.0, 1.0, 1.0, -1.0),
        ValueError,
        r"TruncatedNormal.*(low|high)",
        id="TruncatedNormal-low-above-high",
    ),
    pytest.param(
        lambda: rx.VonMises(0.0, -1.0),
        ValueError,
        r"VonMises: `concentration` must be > 0",
        id="VonMises-negative-concentration",
    ),
    pytest.param(
        lambda: rx.StudentT(-1.0, 0.0, 1.0),
        ValueError,
        r"StudentT: `df` must be > 0",
        id="StudentT-negative-df",
    ),
    pytest.param(
        lambda: rx.Poisson(-2.0), ValueError, r"Poisson: `rate`", id="Poisson-negative-rate"
    ),
]


@pytest.mark.parametrize(("call", "error", "pattern"), BAD_INPUTS)
def test_bad_input(call, error, pattern):
    """Raises ``error`` with a message matching ``pattern`` (``None``: the call works)."""
    if error is None:
        call()
        return
    with pytest.raises(error, match=pattern):
        call()


# ---------------------------------------------------------------------------------------
# Method names are case-insensitive; auto picks an unbiased method (and says which).
# ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "canonical"),
    [
        ("PATHWISE", "pathwise"),
        ("Score_Function", "score_function"),
        ("REINFORCE", "score_function"),
        ("RLOO", "rloo"),
        ("Exact", "exact"),
        ("GUMBEL_SOFTMAX", "gumbel_softmax"),
    ],
    ids=lambda v: v if isinstance(v, str) else None,
)
def test_method_names_case_insensitive(name, canonical):
    """Any capitalisation (and the alias) resolves to the canonical estimator."""
    assert rx.resolve_method(name, NORMAL, 4).name == canonical


def test_reinforce_alias_same_result_as_score_function():
    """method='REINFORCE' runs and equals score_function bitwise."""
    a = rx.gradient_estimate(SQ, NORMAL, KEY, method="REINFORCE", num_samples=3)
    b = rx.gradient_estimate(SQ, NORMAL, KEY, method="score_function", num_samples=3)
    assert jax.tree.all(jax.tree.map(lambda x, y: bool(jnp.all(x == y)), a, b))


def test_auto_skips_pathwise_for_step_f():
    """auto with a step f on a Normal picks an unbiased method that does not need ∇f."""
    chosen = rx.resolve_method("auto", rx.Normal(0.3, 1.0), 64, STEP)
    assert isinstance(chosen, rx.Estimator)
    assert chosen.unbiased and not chosen.differentiable_f
    assert chosen.name in ("rloo", "score_function")


def test_auto_step_f_loc_gradient_is_density_at_zero():
    """auto, f = 1[z > 0], Normal(0.3, 1): d/dloc P(z > 0) = φ(0.3) ≈ 0.381 (loose)."""
    est = rx.gradient_estimate(STEP, rx.Normal(0.3, 1.0), KEY, method="auto", num_samples=4096)
    assert abs(float(est.grad.loc) - 0.3814) < 0.06


def test_auto_error_names_chosen_method_for_unknown_option_of_chosen():
    """auto + an option only some candidates take: the error names the chosen method."""
    with pytest.raises(TypeError, match=r"chosen by method='auto'|method='pathwise'"):
        rx.gradient_estimate(SQ, NORMAL, KEY, method="auto", control_variate=3)


@pytest.mark.parametrize(
    ("dist", "expected"),
    [
        (NORMAL, "pathwise"),
        (BERN, "exact"),
        (rx.Bernoulli(jnp.zeros(11)), "disarm"),
        (rx.Poisson(2.0), "rloo"),
    ],
    ids=["Normal-pathwise", "Bernoulli2-exact", "Bernoulli11-disarm-2^11>2^10", "Poisson-rloo"],
)
def test_auto_choice(dist, expected):
    """auto's pick follows the README ranking (num_samples=4)."""
    assert rx.resolve_method("auto", dist, 4, SUM).name == expected


def test_auto_one_sample_falls_back_to_score_function():
    """auto with num_samples=1 and no exact/pathwise: score_function (rloo needs 2)."""
    assert rx.resolve_method("auto", rx.Poisson(2.0), 1, SUM).name == "score_function"


# ---------------------------------------------------------------------------------------
# 2. Composition.
# ---------------------------------------------------------------------------------------

# (method, dist, f) with small shapes; used for jit, vmap and determinism.
COMPOSE = [
    ("pathwise", NORMAL, SQ),
    ("score_function", NORMAL, SQ),
    ("rloo", NORMAL, SQ),
    ("measure_valued", NORMAL, SQ),
    ("exact", BERN, SUM),
    ("indecater", BERN, SUM),
    ("arm", BERN, SUM),
    ("disarm", ONEHOT, SUM),
    ("rebar", BERN, SUM),
    ("relax", BERN, SUM),
    ("gumbel_softmax", ONEHOT, SQ),
    ("straight_through", BERN, SUM),
    ("st_gumbel_softmax", ONEHOT, SQ),
    ("gumbel_rao", BERN, SUM),
    ("reinmax", ONEHOT, SQ),
]
COMPOSE_IDS = [c[0] for c in COMPOSE]


def _run(method, dist, f, key, n=2):
    return rx.gradient_estimate(f, dist, key, method=method, num_samples=n)


def _bitwise(a, b):
    return all(
        np.array_equal(np.asarray(x), np.asarray(y), equal_nan=True)
        for x, y in zip(jax.tree.leaves(a), jax.tree.leaves(b))
    )


_KEYS2 = jax.random.split(KEY, 2)
_EAGER: dict = {}


def _eager(i):
    """Eager (un-jitted) estimates for COMPOSE[i] at the two keys, computed once."""
    if i not in _EAGER:
        method, dist, f = COMPOSE[i]
        _EAGER[i] = [_run(method, dist, f, k) for k in _KEYS2]
    return _EAGER[i]


@pytest.mark.parametrize("i", range(len(COMPOSE)), ids=COMPOSE_IDS)
def test_vmap_over_keys_matches_loop_and_same_key_is_bitwise(i):
    """jit(vmap over 2 keys) equals the per-key eager results; the same key again is
    bitwise the same; the legacy uint32[2] key with the same bits is bitwise the same."""
    method, dist, f = COMPOSE[i]
    batched = jax.jit(jax.vmap(lambda k: _run(method, dist, f, k)))(_KEYS2)
    eager = _eager(i)
    for j, e in enumerate(eager):
        for x, y in zip(jax.tree.leaves(batched), jax.tree.leaves(e)):
            np.testing.assert_allclose(x[j], y, rtol=1e-5, atol=1e-6)
    assert _bitwise(_run(method, dist, f, _KEYS2[0]), eager[0]), "same key, different result"
    legacy = jax.random.key_data(_KEYS2[0])
    assert legacy.dtype == jnp.uint32 and legacy.shape == (2,)
    assert _bitwise(_run(method, dist, f, legacy), eager[0]), "legacy key vs typed key differ"


# XLA may fuse the sums of these two differently under jit (the leave-one-out sums, the
# replacement rows): the same samples, the same maths, a last-ulp difference.
_REASSOCIATED = ("rloo", "indecater")


@pytest.mark.parametrize("i", range(len(COMPOSE_IDS)), ids=COMPOSE_IDS)
def test_jit_is_bitwise_eager(i):
    """jit(gradient_estimate) at a key is the eager result at that key: bitwise, or to a few
    float32 ulps where XLA reassociates a sum."""
    method, dist, f = COMPOSE[i]
    jitted = jax.jit(lambda k: _run(method, dist, f, k))(_KEYS2[0])
    if method in _REASSOCIATED:
        for a, b in zip(jax.tree.leaves(jitted), jax.tree.leaves(_eager(i)[0])):
            np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7)
    else:
        assert _bitwise(jitted, _eager(i)[0]), (jitted, _eager(i)[0])


def test_mvn_upper_triangle_ignored():
    """MultivariateNormalTriL ignores the upper triangle (documented): a full matrix gives
    the tril result, and the gradient of the ignored entries is 0."""
    full = rx.MultivariateNormalTriL(jnp.zeros(2), jnp.array([[1.0, 5.0], [0.5, 2.0]]))
    tril = rx.MultivariateNormalTriL(jnp.zeros(2), jnp.array([[1.0, 0.0], [0.5, 2.0]]))
    a = rx.gradient_estimate(SQ, full, KEY, method="pathwise", num_samples=2)
    b = rx.gradient_estimate(SQ, tril, KEY, method="pathwise", num_samples=2)
    np.testing.assert_allclose(a.value, b.value, rtol=1e-6)
    np.testing.assert_allclose(a.grad.scale_tril, b.grad.scale_tril, rtol=1e-6, atol=1e-7)
    assert float(a.grad.scale_tril[0, 1]) == 0.0


def test_vmap_over_parameters_matches_loop():
    """vmap over a batch of Normal locs (and keys) equals the loop over them."""
    locs = jnp.array([[0.0, 1.0], [2.0, -1.0], [0.5, 0.5]])

    def one(loc):
        return rx.gradient_estimate(
            SQ, rx.Normal(loc, jnp.ones(2)), KEY, method="pathwise", num_samples=2
        ).grad.loc

    batched = jax.vmap(one)(locs)
    for i in range(3):
        np.testing.assert_allclose(batched[i], one(locs[i]), rtol=1e-6)


def test_vmap_over_bernoulli_logits_exact_matches_closed_form():
    """vmap over logits of exact: grad of E[Σb] is σ'(l) per row, exactly."""
    logits = jnp.array([[0.4, -1.2], [2.0, 0.1]])
    grads = jax.vmap(
        lambda lg: rx.gradient_estimate(SUM, rx.Bernoulli(lg), KEY, method="exact").grad.logits
    )(logits)
    s = jax.nn.sigmoid(logits)
    np.testing.assert_allclose(grads, s * (1 - s), rtol=1e-5)


@pytest.mark.parametrize("method", ["pathwise", "score_function", "rloo"])
def test_scan_over_keys_returns_gradients(method):
    """lax.scan over 3 keys stacking gradients equals the per-key results."""
    keys = jax.random.split(KEY, 3)

    def step(carry, k):
        est = rx.gradient_estimate(SQ, NORMAL, k, method=method, num_samples=2)
        return carry + est.value, est.grad

    total, grads = jax.lax.scan(step, jnp.zeros(()), keys)
    assert grads.loc.shape == (3, 2) and isinstance(grads, rx.Normal)
    for i in range(3):
        e = rx.gradient_estimate(SQ, NORMAL, keys[i], method=method, num_samples=2)
        np.testing.assert_allclose(grads.loc[i], e.grad.loc, rtol=1e-5, atol=1e-6)
    assert jnp.isfinite(total)


def test_scan_over_keys_bernoulli_exact_gradients_stack():
    """lax.scan of exact on a Bernoulli: stacked Bernoulli gradients, all equal σ'."""
    keys = jax.random.split(KEY, 2)
    _, g = jax.lax.scan(
        lambda c, k: (c, rx.gradient_estimate(SUM, BERN, k, method="exact").grad), 0.0, keys
    )
    s = jax.nn.sigmoid(BERN.logits)
    np.testing.assert_allclose(g.logits, jnp.stack([s * (1 - s)] * 2), rtol=1e-5)


ORDER_ONE = [
    ("measure_valued", NORMAL, SQ, "loc"),
    ("indecater", BERN, SUM, "logits"),
    ("arm", BERN, SUM, "logits"),
    ("disarm", BERN, SUM, "logits"),
    ("rebar", BERN, SUM, "logits"),
    ("relax", BERN, SUM, "logits"),
    ("straight_through", BERN, SUM, "logits"),
    ("st_gumbel_softmax", ONEHOT, SQ, "logits"),
    ("gumbel_rao", BERN, SUM, "logits"),
    ("reinmax", ONEHOT, SQ, "logits"),
]


@pytest.mark.parametrize(("method", "dist", "f", "leaf"), ORDER_ONE, ids=[c[0] for c in ORDER_ONE])
def test_second_derivative_refused_for_order_one_methods(method, dist, f, leaf):
    """A method marked "≤ 1" raises rx.DerivativeOrderError for a Hessian."""
    assert rx.methods()[method].max_order == 1

    def loss(x):
        d = type(dist)(
            **{**{k: getattr(dist, k) for k in ("loc", "scale") if hasattr(dist, k)}, leaf: x}
        )
        return rx.expectation(f, d, KEY, method=method, num_samples=2)

    with pytest.raises(rx.DerivativeOrderError, match=method):
        jax.eval_shape(jax.hessian(loss), getattr(dist, leaf))  # refused at trace time


def test_pathwise_hessian_of_sum_of_squares_is_2I():
    """pathwise, E[Σz²] = Σ(μ² + σ²): Hessian in loc is exactly 2I (every sample)."""
    h = jax.hessian(
        lambda mu: rx.expectation(
            SQ, rx.Normal(mu, jnp.ones(2)), KEY, method="pathwise", num_samples=3
        )
    )(jnp.array([0.3, -0.7]))
    np.testing.assert_allclose(h, 2 * jnp.eye(2), rtol=1e-6)


def test_pathwise_hessian_in_scale_is_2I():
    """pathwise, E[Σz²] Hessian in scale: 2·mean(ε²) per coordinate (finite, ≥ 0, diag)."""
    h = jax.hessian(
        lambda s: rx.expectation(
            SQ, rx.Normal(jnp.zeros(2), s), KEY, method="pathwise", num_samples=3
        )
    )(jnp.ones(2))
    assert jnp.all(jnp.isfinite(h)) and float(h[0, 1]) == 0.0 and jnp.all(jnp.diag(h) >= 0)


def test_exact_hessian_matches_closed_form():
    """exact, E[Σb] = Σσ(l): Hessian is diag(σ(1−σ)(1−2σ)) to float32 precision."""
    logits = jnp.array([0.4, -1.2, 2.0])
    h = jax.hessian(lambda lg: rx.expectation(SUM, rx.Bernoulli(lg), KEY, method="exact"))(logits)
    s = jax.nn.sigmoid(logits)
    np.testing.assert_allclose(h, jnp.diag(s * (1 - s) * (1 - 2 * s)), atol=1e-6)


def test_exact_hessian_interaction_matches_enumeration():
    """exact, f = b₀·b₁: Hessian = [[σ₀''σ₁, σ₀'σ₁'], [σ₀'σ₁', σ₀σ₁'']] by hand."""
    logits = jnp.array([0.4, -1.2])
    h = jax.hessian(
        lambda lg: rx.expectation(lambda b: b[0] * b[1], rx.Bernoulli(lg), KEY, method="exact")
    )(logits)
    s = jax.nn.sigmoid(logits)
    d1 = s * (1 - s)
    d2 = d1 * (1 - 2 * s)
    want = jnp.array([[d2[0] * s[1], d1[0] * d1[1]], [d1[0] * d1[1], s[0] * d2[1]]])
    np.testing.assert_allclose(h, want, atol=1e-6)


@pytest.mark.parametrize(
    "options",
    [{"method": "rloo"}, {"method": "score_function", "baseline": "leave_one_out"}],
    ids=["rloo", "score_function-leave_one_out"],
)
def test_dice_hessian_of_constant_is_zero(options):
    """rloo (and score_function with the leave-one-out baseline): Hessian of E[5] is
    exactly 0, the constant cancels at second order too. (Plain score_function has no
    baseline to centre with: its estimate of 0 is unbiased but noisy, by design.)"""
    h = jax.hessian(
        lambda mu: rx.expectation(
            lambda z: 5.0 + 0.0 * jnp.sum(z),
            rx.Normal(mu, jnp.ones(2)),
            KEY,
            num_samples=4,
            **options,
        )
    )(jnp.array([0.3, -0.7]))
    np.testing.assert_allclose(h, jnp.zeros((2, 2)), atol=1e-5)


@pytest.mark.parametrize("method", ["score_function", "rloo"])
def test_dice_hessian_of_sum_of_squares_near_2I(method):
    """score_function/rloo, one key and N=4096: Hessian of E[Σz²] in loc ≈ 2I (finite;
    a loose single-draw match, ~5 standard errors)."""
    h = jax.hessian(
        lambda mu: rx.expectation(
            SQ, rx.Normal(mu, jnp.ones(2)), KEY, method=method, num_samples=4096
        )
    )(jnp.array([0.3, -0.7]))
    assert jnp.all(jnp.isfinite(h))
    np.testing.assert_allclose(h, 2 * jnp.eye(2), atol=0.6)


@pytest.mark.parametrize("method", ["pathwise", "score_function", "exact"])
def test_jacfwd_equals_grad(method):
    """Forward mode works where the method allows: jacfwd == grad (same key)."""
    dist_of, f, x0 = (
        (lambda x: rx.Normal(x, jnp.ones(2)), SQ, jnp.array([0.3, -0.7]))
        if method != "exact"
        else (lambda x: rx.Bernoulli(x), SUM, jnp.array([0.4, -1.2]))
    )

    def loss(x):
        return rx.expectation(f, dist_of(x), KEY, method=method, num_samples=3)

    np.testing.assert_allclose(jax.jacfwd(loss)(x0), jax.grad(loss)(x0), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("method", ["pathwise", "score_function", "indecater"])
def test_checkpoint_same_gradient(method):
    """jax.checkpoint around the loss leaves the gradient unchanged."""
    dist_of, f, x0 = (
        (lambda x: rx.Normal(x, jnp.ones(2)), SQ, jnp.array([0.3, -0.7]))
        if method in ("pathwise", "score_function")
        else (lambda x: rx.Bernoulli(x), SUM, jnp.array([0.4, -1.2]))
    )

    def loss(x):
        return rx.expectation(f, dist_of(x), KEY, method=method, num_samples=2)

    np.testing.assert_allclose(
        jax.grad(jax.checkpoint(loss))(x0), jax.grad(loss)(x0), rtol=1e-5, atol=1e-6
    )


def test_grad_through_parameterization_with_value_and_grad_under_jit():
    """jit(value_and_grad) of a softplus-parameterized loss: finite, chain rule holds."""

    def loss(rho):
        return rx.expectation(
            SQ, rx.Normal(jnp.zeros(2), jax.nn.softplus(rho)), KEY, method="pathwise", num_samples=4
        )

    v, g = jax.jit(jax.value_and_grad(loss))(jnp.zeros(2))
    est = rx.gradient_estimate(
        SQ,
        rx.Normal(jnp.zeros(2), jax.nn.softplus(jnp.zeros(2))),
        KEY,
        method="pathwise",
        num_samples=4,
    )
    np.testing.assert_allclose(g, est.grad.scale * jax.nn.sigmoid(jnp.zeros(2)), rtol=1e-5)
    np.testing.assert_allclose(v, est.value, rtol=1e-6)


def test_negative_scale_under_jit_is_nan_not_crash():
    """Traced invalid parameter: jit(value_and_grad) gives NaN value and gradient."""

    def loss(s):
        return rx.expectation(SQ, rx.Normal(jnp.zeros(2), s), KEY, method="pathwise", num_samples=2)

    v, g = jax.jit(jax.value_and_grad(loss))(-jnp.ones(2))
    assert jnp.isnan(v) and jnp.all(jnp.isnan(g))


_SHARDED = textwrap.dedent(
    """
    import jax, jax.numpy as jnp, numpy as np
    import reparax as rx
    from jax.sharding import Mesh, NamedSharding, PartitionSpec as P
    assert jax.device_count() == 4, jax.devices()
    dist = rx.Normal(jnp.zeros(2), jnp.ones(2))
    f = lambda z: jnp.sum((z - 1.0) ** 2)
    keys = jax.random.split(jax.random.key(0), 8)
    one = lambda k: rx.gradient_estimate(f, dist, k, method="score_function", num_samples=4)
    run = jax.jit(jax.vmap(one))
    plain = run(keys)
    mesh = Mesh(np.array(jax.devices()), ("d",))
    sharded_keys = jax.device_put(keys, NamedSharding(mesh, P("d")))
    sharded = run(sharded_keys)
    assert len(sharded.value.sharding.device_set) == 4, sharded.value.sharding
    for a, b in zip(jax.tree.leaves(plain), jax.tree.leaves(sharded)):
        np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=1e-6, atol=1e-7)
    print("OK")
    """
)


def test_sharded_key_batch_matches_unsharded():
    """Keys sharded over 4 forced host devices give the unsharded result (subprocess)."""
    env = dict(os.environ)
    env["XLA_FLAGS"] = (
        env.get("XLA_FLAGS", "") + " --xla_force_host_platform_device_count=4"
    ).strip()
    env["JAX_PLATFORMS"] = "cpu"
    out = subprocess.run(
        [sys.executable, "-c", _SHARDED], env=env, capture_output=True, text=True, timeout=120
    )
    assert out.returncode == 0 and "OK" in out.stdout, out.stderr[-2000:]


# ---------------------------------------------------------------------------------------
# 3. Numerical edges: finite where the maths is finite.
# ---------------------------------------------------------------------------------------


def _finite(tree):
    return all(bool(jnp.all(jnp.isfinite(x))) for x in jax.tree.leaves(tree))


EXTREME_BERN = rx.Bernoulli(jnp.array([100.0, -100.0, 0.0]))


@pytest.mark.parametrize(
    "method",
    [
        "exact",
        "score_function",
        "rloo",
        "measure_valued",
        "indecater",
        "arm",
        "disarm",
        "rebar",
        "relax",
        "gumbel_softmax",
        "straight_through",
        "gumbel_rao",
    ],
)
def test_bernoulli_logits_pm100_finite(method):
    """Bernoulli logits ±100: value and gradient finite (σ' underflows to ~0, no NaN)."""
    est = rx.gradient_estimate(SUM, EXTREME_BERN, KEY, method=method, num_samples=2)
    assert _finite(est), est


def test_bernoulli_logits_pm100_exact_gradient_values():
    """exact at logits ±100: gradient is σ'(l): ~0 at ±100, 0.25 at 0."""
    est = rx.gradient_estimate(SUM, EXTREME_BERN, KEY, method="exact")
    np.testing.assert_allclose(est.grad.logits, [0.0, 0.0, 0.25], atol=1e-6)
    np.testing.assert_allclose(est.value, 1.5, rtol=1e-6)


@pytest.mark.parametrize(
    "method", ["exact", "indecater", "gumbel_softmax", "reinmax", "rloo", "disarm"]
)
def test_onehot_logits_pm100_finite(method):
    """OneHotCategorical logits (100, −100, 0): finite value and gradient."""
    dist = rx.OneHotCategorical(jnp.array([100.0, -100.0, 0.0]))
    est = rx.gradient_estimate(
        lambda z: jnp.sum(z * jnp.array([1.0, 2.0, 3.0])), dist, KEY, method=method, num_samples=2
    )
    assert _finite(est), est


@pytest.mark.parametrize("method", ["exact", "score_function", "indecater"])
def test_bernoulli_probs_1e_minus_30_finite(method):
    """Bernoulli(probs=1e-30): logits ≈ −69, value ≈ 0, gradient finite."""
    dist = rx.Bernoulli(probs=jnp.array([1e-30, 0.5]))
    assert jnp.all(jnp.isfinite(dist.logits))
    est = rx.gradient_estimate(SUM, dist, KEY, method=method, num_samples=2)
    assert _finite(est)


def test_categorical_probs_with_1e_minus_30_finite():
    """Categorical(probs=(1e-30, 0.5, 0.5)) with exact: finite value and gradient."""
    dist = rx.Categorical(probs=jnp.array([1e-30, 0.5, 0.5 - 1e-30]))
    est = rx.gradient_estimate(lambda k: k.astype(jnp.float32), dist, KEY, method="exact")
    assert _finite(est)
    np.testing.assert_allclose(est.value, 1.5, rtol=1e-5)


@pytest.mark.parametrize(
    "concentration", [1e-4, 1e-3, 1.0, 1e4, 1e5], ids=lambda c: f"Gamma-conc-{c:g}"
)
def test_gamma_concentration_range_pathwise_finite(concentration):
    """Gamma(α, 1), f = z: pathwise value and gradient finite over α ∈ 1e-4…1e5 (E[z] = α,
    ∂α = 1 in expectation)."""
    est = rx.gradient_estimate(
        SUM,
        rx.Gamma(jnp.array([concentration]), jnp.ones(1)),
        KEY,
        method="pathwise",
        num_samples=4,
    )
    assert _finite(est), est


@pytest.mark.parametrize("concentration", [1e-4, 1e5], ids=lambda c: f"Dirichlet-conc-{c:g}")
def test_dirichlet_extreme_concentration_pathwise_finite(concentration):
    """Dirichlet(c·1₃), f = z·w: pathwise finite at c = 1e-4 and 1e5."""
    est = rx.gradient_estimate(
        lambda z: jnp.sum(z * jnp.array([1.0, 2.0, 3.0])),
        rx.Dirichlet(jnp.full(3, concentration)),
        KEY,
        method="pathwise",
        num_samples=4,
    )
    assert _finite(est), est


@pytest.mark.parametrize("concentration", [1e-4, 1e5], ids=lambda c: f"Beta-conc-{c:g}")
def test_beta_extreme_concentration_pathwise_finite(concentration):
    """Beta(c, c), f = z: pathwise finite at c = 1e-4 and 1e5."""
    est = rx.gradient_estimate(
        SUM,
        rx.Beta(jnp.array([concentration]), jnp.array([concentration])),
        KEY,
        method="pathwise",
        num_samples=4,
    )
    assert _finite(est), est


@pytest.mark.parametrize("concentration", [1e-4, 1e4], ids=lambda c: f"VonMises-kappa-{c:g}")
def test_von_mises_extreme_concentration_pathwise_finite(concentration):
    """VonMises(0, κ), f = cos z: pathwise finite at κ = 1e-4 and 1e4 (README range)."""
    est = rx.gradient_estimate(
        lambda z: jnp.sum(jnp.cos(z)),
        rx.VonMises(jnp.zeros(1), jnp.array([concentration])),
        KEY,
        method="pathwise",
        num_samples=4,
    )
    assert _finite(est), est


@pytest.mark.parametrize(
    ("method", "dist", "f"),
    [
        ("gumbel_softmax", BERN, SUM),
        ("gumbel_softmax", ONEHOT, SQ),
        ("st_gumbel_softmax", ONEHOT, SQ),
        ("reinmax", ONEHOT, SQ),
        ("gumbel_rao", BERN, SUM),
    ],
    ids=[
        "gumbel_softmax-Bernoulli",
        "gumbel_softmax-OneHot",
        "st_gumbel_softmax-OneHot",
        "reinmax-OneHot",
        "gumbel_rao-Bernoulli",
    ],
)
def test_temperature_1e_minus_4_finite(method, dist, f):
    """temperature = 1e-4: value and gradient finite (no 0·inf)."""
    est = rx.gradient_estimate(f, dist, KEY, method=method, num_samples=2, temperature=1e-4)
    assert _finite(est), est


EMPTY_CASES = [
    ("pathwise", rx.Normal(jnp.zeros(0), 1.0), SQ),
    ("score_function", rx.Normal(jnp.zeros(0), 1.0), SQ),
    ("rloo", rx.Normal(jnp.zeros(0), 1.0), SQ),
    ("measure_valued", rx.Normal(jnp.zeros(0), 1.0), SQ),
    ("exact", rx.Bernoulli(jnp.zeros(0)), SUM),
    ("indecater", rx.Bernoulli(jnp.zeros(0)), SUM),
    ("arm", rx.Bernoulli(jnp.zeros(0)), SUM),
    ("disarm", rx.Bernoulli(jnp.zeros(0)), SUM),
    ("rebar", rx.Bernoulli(jnp.zeros(0)), SUM),
    ("relax", rx.Bernoulli(jnp.zeros(0)), SUM),
    ("gumbel_softmax", rx.Bernoulli(jnp.zeros(0)), SUM),
    ("auto", rx.Bernoulli(jnp.zeros(0)), SUM),
]


@pytest.mark.parametrize(
    ("method", "dist", "f"), EMPTY_CASES, ids=[f"{c[0]}-empty" for c in EMPTY_CASES]
)
def test_empty_batch(method, dist, f):
    """A size-0 batch: value = f(empty) = 0, gradients shaped like the parameters
    (size 0; a scalar scale gets a finite scalar gradient), no ZeroDivisionError."""
    est = rx.gradient_estimate(f, dist, KEY, method=method, num_samples=2)
    assert float(est.value) == 0.0
    for g, p in zip(jax.tree.leaves(est.grad), jax.tree.leaves(dist)):
        assert g.shape == jnp.shape(p) and _finite(g)


@pytest.mark.parametrize(
    ("method", "dist", "f"),
    [
        ("pathwise", rx.Normal(jnp.zeros(1), 1.0), SQ),
        ("exact", rx.Bernoulli(jnp.zeros(1)), SUM),
        ("relax", rx.Bernoulli(jnp.zeros(1)), SUM),
        ("disarm", rx.OneHotCategorical(jnp.zeros((1, 2))), SUM),
    ],
    ids=["pathwise-size1", "exact-size1", "relax-size1", "disarm-onehot-size1"],
)
def test_size_one_batch(method, dist, f):
    """A size-1 batch: finite value and gradient of shape (1,) (or (1, 2))."""
    est = rx.gradient_estimate(f, dist, KEY, method=method, num_samples=2)
    assert _finite(est)
    assert jax.tree.leaves(est.grad)[0].shape[0] == 1


def test_exact_constant_offset_cancels():
    """exact, f = 1e6 + Σb: gradient equals that of f = Σb to float32 precision."""
    dist = rx.Bernoulli(jnp.array([0.4, -1.2, 2.0, 0.1]))
    a = rx.gradient_estimate(lambda b: 1e6 + jnp.sum(b), dist, KEY, method="exact").grad.logits
    b = rx.gradient_estimate(SUM, dist, KEY, method="exact").grad.logits
    np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("method", ["indecater", "rloo", "rebar", "arm"])
def test_constant_offset_does_not_blow_up(method):
    """f = 1e6 + Σb: the estimate is within 0.5 of the exact gradient of Σb (a 1e6
    constant would give errors ~1e5 without centring)."""
    dist = rx.Bernoulli(jnp.array([0.4, -1.2, 2.0, 0.1]))
    exact = rx.gradient_estimate(SUM, dist, KEY, method="exact").grad.logits
    got = rx.gradient_estimate(
        lambda b: 1e6 + jnp.sum(b), dist, KEY, method=method, num_samples=64
    ).grad.logits
    assert jnp.all(jnp.isfinite(got))
    np.testing.assert_allclose(got, exact, atol=0.5)


@pytest.mark.parametrize(
    ("low", "high"),
    [(-jnp.inf, jnp.inf), (0.0, jnp.inf), (-jnp.inf, 0.0)],
    ids=["both-infinite", "high-infinite", "low-infinite"],
)
def test_truncated_normal_infinite_bounds_finite(low, high):
    """TruncatedNormal with infinite bounds: pathwise value/gradient finite (the infinite
    bounds get zero, finite gradients)."""
    dist = rx.TruncatedNormal(
        jnp.array([0.3]), jnp.array([1.0]), jnp.array([low]), jnp.array([high])
    )
    est = rx.gradient_estimate(SUM, dist, KEY, method="pathwise", num_samples=4)
    assert _finite(est.value) and _finite(est.grad.loc) and _finite(est.grad.scale)


def test_truncated_normal_untruncated_loc_gradient_is_one():
    """TruncatedNormal(μ, 1, −inf, inf), f = z: pathwise ∂μ = 1 per sample, exactly."""
    dist = rx.TruncatedNormal(
        jnp.array([0.3]), jnp.array([1.0]), jnp.array([-jnp.inf]), jnp.array([jnp.inf])
    )
    est = rx.gradient_estimate(SUM, dist, KEY, method="pathwise", num_samples=4)
    np.testing.assert_allclose(est.grad.loc, [1.0], rtol=1e-5)


@pytest.mark.parametrize("scale", [1e-30, 1e-6, 1e6], ids=lambda s: f"Normal-scale-{s:g}")
def test_normal_extreme_scales_pathwise_finite(scale):
    """Normal scale 1e-30…1e6, f = Σz²: pathwise finite."""
    est = rx.gradient_estimate(
        SQ, rx.Normal(jnp.zeros(2), jnp.full(2, scale)), KEY, method="pathwise", num_samples=2
    )
    assert _finite(est)


def test_measure_valued_tiny_scale_finite():
    """measure_valued on Normal(0, 1e-20), f = Σz²: finite (∂σ = 2σ, ∂μ = 0)."""
    est = rx.gradient_estimate(
        SQ, rx.Normal(jnp.zeros(2), jnp.full(2, 1e-20)), KEY, method="measure_valued", num_samples=2
    )
    assert _finite(est)


# ---------------------------------------------------------------------------------------
# 4. Determinism and keys beyond the per-method case above.
# ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("method", ["pathwise", "score_function"])
def test_chunked_equals_unchunked_bitwise(method):
    """chunk_size=2 over 5 samples gives the unchunked per-sample values (allclose)."""
    a = rx.gradient_estimate(SQ, NORMAL, KEY, method=method, num_samples=5)
    b = rx.gradient_estimate(SQ, NORMAL, KEY, method=method, num_samples=5, chunk_size=2)
    for x, y in zip(jax.tree.leaves(a), jax.tree.leaves(b)):
        np.testing.assert_allclose(x, y, rtol=1e-6, atol=1e-7)


def test_legacy_key_under_jit_and_vmap():
    """Legacy PRNGKey batch works under jit(vmap) and equals typed keys."""
    legacy = jax.random.split(jax.random.PRNGKey(1), 2)
    typed = jax.random.split(jax.random.key(1), 2)
    run = jax.jit(
        jax.vmap(lambda k: rx.gradient_estimate(SQ, NORMAL, k, method="pathwise", num_samples=2))
    )
    assert _bitwise(run(legacy), run(typed))


def test_different_keys_differ():
    """Two different keys give different estimates (the key is actually used)."""
    a = rx.gradient_estimate(SQ, NORMAL, jax.random.key(1), method="pathwise", num_samples=2)
    b = rx.gradient_estimate(SQ, NORMAL, jax.random.key(2), method="pathwise", num_samples=2)
    assert not _bitwise(a, b)


def test_estimator_samples_deterministic():
    """diagnostics.estimator_samples: same key → bitwise same stacked estimates."""
    a = rx.diagnostics.estimator_samples(SQ, NORMAL, KEY, method="pathwise", num_estimates=3)
    b = rx.diagnostics.estimator_samples(SQ, NORMAL, KEY, method="pathwise", num_estimates=3)
    assert _bitwise(a, b) and a.grad.loc.shape == (3, 2)
