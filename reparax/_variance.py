"""Training control variates: the gradient of the squared gradient estimate.

One function, :func:`variance_gradient`, in two forms that share one computation:

* ``variance_gradient(f, dist, key, ...)``: ĝ is the gradient with respect to the leaves of a
  fixed distribution ``dist``;
* ``variance_gradient(model, params, key, ...)``: an amortized model, ``model(params)``
  returns ``(f, dist)`` (an encoder's logits in ``dist``, a decoder's cost in ``f``), and ĝ
  is the gradient with respect to ``params``, encoder and decoder alike.

The first form is the second with ``model = lambda d: (f, d)`` and ``params = dist``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp

from reparax import _registry
from reparax._api import Estimate
from reparax._checks import _depends
from reparax.distributions._base import Distribution
from reparax.estimator import COMMON_OPTIONS, Estimator

#: ``model(params) -> (f, dist)``: the cost of one sample and the distribution, both built
#: from the parameters being trained.
Model = Callable[[Any], tuple[Callable[[jax.Array], jax.Array], Distribution]]


def _check_model_output(out: Any) -> tuple[Callable, Distribution]:
    """``model(params)`` must be a pair ``(f, dist)``; a ``TypeError`` naming ``model``."""
    if not isinstance(out, (tuple, list)) or len(out) != 2:
        got = f"a {type(out).__name__}" + (
            f" of length {len(out)}" if isinstance(out, (tuple, list)) else ""
        )
        raise TypeError(
            "variance_gradient: `model(params)` must return a pair (f, dist), f mapping one "
            f"sample to a scalar cost and dist a reparax distribution; got {got}. (To train "
            "against a fixed distribution, pass `f, dist` as the first two arguments.)"
        )
    f, dist = out
    if not callable(f):
        raise TypeError(
            "variance_gradient: the first element of `model(params)` must be the cost f, a "
            f"callable mapping one sample to a scalar; got {type(f).__name__}."
        )
    if not isinstance(dist, Distribution):
        raise TypeError(
            "variance_gradient: the second element of `model(params)` must be a reparax "
            f"distribution (e.g. rx.Bernoulli(logits=encoder(params, x))); got "
            f"{type(dist).__module__}.{type(dist).__qualname__}."
        )
    return f, dist


def _as_model(first: Any, second: Any) -> tuple[Callable[[Any], tuple[Callable, Any]], Any]:
    """``(model, params)`` for either form of :func:`variance_gradient`."""
    if isinstance(second, Distribution):
        f = first  # checked with the estimator's own messages (``f`` must be callable ...)
        return (lambda dist: (f, dist)), second
    if not callable(first):
        raise TypeError(
            "variance_gradient: `model` must be a callable, model(params) -> (f, dist), or "
            "(with a reparax distribution as the second argument) the cost f; got "
            f"{type(first).__name__}."
        )
    return (lambda params: _check_model_output(first(params))), second


def _trainable_options(estimator: Estimator, to_options: Callable | None) -> Callable:
    if to_options is not None:
        if not callable(to_options):
            raise TypeError(
                "variance_gradient: `to_options` must be a callable, cv_params -> dict of "
                f"method options; got {type(to_options).__name__}."
            )
        return to_options
    if estimator.trainable is None:
        trainable = [e.name for e in _registry.estimators() if e.trainable is not None]
        raise ValueError(
            f"variance_gradient needs `to_options` for method={estimator.name!r} (it has no "
            f"trainable control variate of its own); estimators that have one: "
            f"{', '.join(trainable)}. A learned baseline for 'score_function' is "
            "to_options=lambda psi: {'baseline': net(psi, x)}."
        )
    return estimator.trainable.to_options


def _squared_norm(tree: Any) -> jax.Array:
    return sum((jnp.sum(g**2) for g in jax.tree.leaves(tree)), start=jnp.zeros(()))


def _check_reaches_estimate(
    squared_norm: Callable[[Any], tuple[jax.Array, Any]], cv_params: Any, name: str
) -> None:
    """Refuses ``cv_params`` on which ĝ does not depend by construction (a silent 0).

    Reads the jaxpr of ∂‖ĝ‖²/∂φ: when no output depends on φ, JAX's symbolic zero was
    instantiated, i.e. the estimator held every option from ``to_options`` fixed
    (``stop_gradient``) or ignored it.
    """
    leaves = jax.tree.leaves(cv_params)
    if not leaves:
        return
    jaxpr = jax.make_jaxpr(jax.grad(lambda p: squared_norm(p)[0]))(cv_params).jaxpr
    if not any(_depends(jaxpr, [True] * len(jaxpr.invars))):
        raise ValueError(
            f"variance_gradient: the gradient estimate of method={name!r} does not depend on "
            "`cv_params` (the options from `to_options` are held fixed or unused by the "
            "estimator), so their variance gradient would be a silent 0."
        )


def variance_gradient(
    model: Callable,
    params: Any,
    /,
    key: jax.Array,
    *,
    method: str | Estimator,
    cv_params: Any,
    num_samples: int = 1,
    to_options: Callable[[Any], dict] | None = None,
    **options: Any,
) -> tuple[Estimate, Any]:
    r"""A gradient estimate and the gradient that trains its control variate.

    Two forms, told apart by the second argument:

    * ``variance_gradient(f, dist, key, ...)`` with ``dist`` a reparax distribution:
      ĝ estimates ∇_θ E_{p_θ}[f] with respect to ``dist``'s leaves θ.
    * ``variance_gradient(model, params, key, ...)`` with ``model(params) -> (f, dist)``,
      the amortized case: ``dist = rx.Bernoulli(logits=encoder(params["enc"], x))`` and
      ``f = lambda z: cost(params["dec"], z, x)``; ĝ estimates ∇_θ E_{p_θ}[f_θ] with respect
      to every leaf θ of ``params``, through the distribution (the estimator's own gradient,
      pulled back through the encoder) and through ``f`` (∇_θ f, the decoder's part).

    For an estimator ĝ(φ) unbiased for every control-variate parameter φ, E[ĝ] does not
    depend on φ, so

    .. math:: \frac{∂}{∂φ} E‖ĝ(φ)‖² = \frac{∂}{∂φ}\big(\mathrm{tr}\,\mathrm{Var}[ĝ(φ)]
              + ‖E ĝ‖²\big) = \frac{∂}{∂φ} \mathrm{tr}\,\mathrm{Var}[ĝ(φ)],

    and the single-draw ``cv_grad`` = ∂‖ĝ‖²/∂φ = 2 ĝᵀ ∂ĝ/∂φ is an unbiased estimate of the
    variance's gradient (Grathwohl et al. 2018, §3.3). In the amortized form ĝ is the whole
    parameter gradient, encoder and decoder (for the built-in estimators the decoder's part,
    ∇_θ f at the hard sample, does not depend on φ, so in effect φ minimises the variance of
    the encoder's gradient over the minibatch), and the control variate may read the data x:
    a baseline network c_φ(x), or a RELAX surrogate c_φ(z, x) closing over x. Both outputs
    come from one call (a value-and-gradient of the estimator's surrogate nested in a
    gradient in φ; no hand-written double backprop), so a model update and a control-variate
    update fit in one ``jax.jit``-compiled optax step.

    ∂ĝ/∂φ is a mixed derivative of the surrogate, which the trainable estimators give
    exactly even where second derivatives in θ are refused (all four built-in ones have
    ``max_order=1``).

    For a minibatch pass ``plates=1`` and let ``f`` return one cost per data point: each data
    point's estimate then reads its own cost only (lower variance than a summed cost), and
    φ is trained on the variance of the sum over data points of those estimates, pulled back
    through the encoder. With plates, the options from ``to_options`` are shared by every
    data point (REBAR's λ and η, one scalar baseline; RELAX's default network then takes one
    data point's logits: initialise it with ``rx.relax_init`` on one data point's
    distribution).

    Args:
      model: ``model(params) -> (f, dist)``; or the cost ``f`` when ``params`` is a
        distribution. Positional only.
      params: the parameters θ (a pytree of float arrays) that ĝ differentiates; or a reparax
        distribution ``dist`` (then ĝ is with respect to its leaves). Positional only.
      key: a PRNG key, as for ``rx.gradient_estimate``.
      method: an estimator with trainable control-variate parameters (``Estimator.trainable``
        is set: built in, ``"rebar"``, ``"relax"``, ``"double_cv"`` and ``"rodeo"``; the
        registry's list is ``[e.name for e in rx.methods().values() if e.trainable]``), or
        any method given ``to_options`` (``"score_function"`` with a learned baseline).
      cv_params: the control variate's parameters φ (a pytree; ``rx.rebar_init()``,
        ``rx.relax_init(dist, key)``, for any trainable estimator
        ``rx.methods()[name].trainable.init(dist, key)``, or a baseline network's
        parameters).
      num_samples: as for ``rx.gradient_estimate``.
      to_options: maps ``cv_params`` to the method's keyword options (default: the
        estimator's own ``trainable.to_options``). It may close over the data x, e.g.
        ``lambda phi: {"baseline": net(phi, x)}`` for the score function.
      **options: further method options (``surrogate=`` for relax), passed through to the
        estimator, common ones included: ``chunk_size``, and ``plates=k`` for a minibatch
        (``f`` returns one cost per data point, shape ``dist.batch_shape[:k]``, and each data
        point's encoder output is credited with its own cost only).

    Returns:
      ``(Estimate(value, grad), cv_grad)``: ``value`` the Monte Carlo estimate of E[f],
      ``grad`` ĝ with the structure of ``params`` (of ``dist`` in the first form), and
      ``cv_grad`` = ∂‖ĝ‖²/∂φ with the structure of ``cv_params``.

    Raises:
      TypeError: ``model`` is not callable, or ``model(params)`` is not a pair
        ``(f, dist)`` of a callable and a reparax distribution.
      ValueError: ``method`` has no trainable control variate and no ``to_options`` is given
        (the message lists those that have one); ĝ does not depend on ``cv_params`` by
        construction (their gradient would be a silent 0); any check of
        ``rx.gradient_estimate``.

    Example:
      A linear encoder of three data points into two bits each, a linear decoder, and REBAR's
      temperature and scale trained in the same jitted step as the model:

      >>> import jax, jax.numpy as jnp, optax, reparax as rx
      >>> x = jnp.array([[1.0, -0.5], [0.2, 0.3], [-1.0, 0.8]])
      >>> params = {"enc": jnp.zeros((2, 2)), "dec": jnp.zeros((2, 2))}
      >>> def model(params):
      ...     dist = rx.Bernoulli(logits=x @ params["enc"])
      ...     return (lambda z: jnp.sum((x - z @ params["dec"]) ** 2)), dist
      >>> optimizer, cv_optimizer = optax.sgd(0.01), optax.adam(1e-2)
      >>> @jax.jit
      ... def step(params, cv_params, states, key):
      ...     est, cv_grad = rx.variance_gradient(model, params, key, method="rebar",
      ...                                         cv_params=cv_params)
      ...     updates, state = optimizer.update(est.grad, states[0])
      ...     cv_updates, cv_state = cv_optimizer.update(cv_grad, states[1])
      ...     return (optax.apply_updates(params, updates),
      ...             optax.apply_updates(cv_params, cv_updates), (state, cv_state), est)
      >>> cv_params = rx.rebar_init()
      >>> states = (optimizer.init(params), cv_optimizer.init(cv_params))
      >>> params, cv_params, states, est = step(params, cv_params, states, jax.random.key(0))
      >>> est.grad["enc"].shape, sorted(cv_params)
      ((2, 2), ['eta', 'log_temperature'])

      The first form, on a fixed distribution:

      >>> dist = rx.Bernoulli(jnp.zeros(2))
      >>> est, cv_grad = rx.variance_gradient(lambda b: jnp.sum((b - 0.45) ** 2), dist,
      ...                                     jax.random.key(0), method="rebar",
      ...                                     cv_params=rx.rebar_init())
      >>> est.grad.logits.shape, sorted(cv_grad)
      ((2,), ['eta', 'log_temperature'])

    References:
      Grathwohl, Choi, Wu, Roeder & Duvenaud (2018), Backpropagation through the Void,
      §3.3, https://arxiv.org/abs/1711.00123; Tucker et al. (2017), REBAR,
      https://arxiv.org/abs/1703.07370.
    """
    estimator = _registry.lookup(method)
    # An estimator's own trainable options reach ĝ by construction (and are tested to); a
    # user's to_options, or options that may change how they are used (a custom RELAX
    # surrogate), are checked once per trace.
    check_reach = to_options is not None or any(o not in COMMON_OPTIONS for o in options)
    to_options = _trainable_options(estimator, to_options)
    model, params = _as_model(model, params)

    f, dist = model(params)
    example = {**options, **to_options(cv_params)}
    common = {"chunk_size": example.pop("chunk_size", None), "plates": example.pop("plates", 0)}
    estimator.validate(f, dist, key, num_samples=num_samples, options=example, **common)

    def squared_norm(phi: Any) -> tuple[jax.Array, Estimate]:
        def objective(p: Any) -> jax.Array:
            cost, d = model(p)
            # ∂ĝ/∂φ is a mixed derivative the trainable estimators give exactly.
            return estimator.surrogate(
                cost,
                d,
                key,
                num_samples=num_samples,
                guard_order=False,
                **to_options(phi),
                **options,
            )

        value, grad = jax.value_and_grad(objective)(params)
        return _squared_norm(grad), Estimate(value, grad)

    if check_reach:
        _check_reaches_estimate(squared_norm, cv_params, estimator.name)
    (_, est), cv_grad = jax.value_and_grad(squared_norm, has_aux=True)(cv_params)
    return est, cv_grad
