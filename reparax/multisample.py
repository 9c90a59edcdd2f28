"""Multi-sample variational bounds: ``rx.multisample_bound`` and its Estimate form."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jax

from reparax import _registry
from reparax._api import Estimate
from reparax._checks import check_distribution, check_key
from reparax._keyed import is_keyed
from reparax._plates import describe_output
from reparax.estimator import Estimator
from reparax.joint import Joint


def _bound_methods() -> list[str]:
    return [e.name for e in _registry.estimators() if e.objective == "bound"]


def _resolve(method: Any, dist: Any) -> Estimator:
    """The bound estimator ``method`` names; expectation methods and ``"auto"`` refuse."""
    if isinstance(method, str) and method.lower() == "auto":
        raise ValueError(
            f"rx.multisample_bound has no method='auto'; name one of {', '.join(_bound_methods())}."
        )
    estimator = _registry.lookup(method)
    if estimator.objective != "bound":
        raise ValueError(
            f"method={estimator.name!r} estimates E[f] (use rx.expectation); "
            f"rx.multisample_bound takes a bound method: {', '.join(_bound_methods())}."
        )
    if isinstance(dist, Joint):
        raise TypeError("rx.multisample_bound takes one distribution q, not an rx.Joint.")
    check_distribution(dist)
    if not estimator.supports(dist):
        working = _registry.supported_methods(dist, objective="bound")
        raise ValueError(
            f"method={estimator.name!r} does not support {type(dist).__name__} (it needs "
            f"{', '.join(estimator.missing(dist))}). Bound methods that support it: "
            f"{', '.join(working) or 'none'}."
        )
    return estimator


def _check_log_joint(log_joint: Any, dist: Any, key: Any, plates: Any) -> None:
    """``log_joint`` maps one sample to a scalar (one per plate element with plates)."""
    if not callable(log_joint):
        raise TypeError(
            f"`log_joint` must be a callable mapping one sample z to log p(x, z), got "
            f"{log_joint!r}."
        )
    check_key(key)
    example = jax.eval_shape(dist.sample, key)
    args = (example, jax.random.key(0)) if is_keyed(log_joint) else (example,)
    out = jax.eval_shape(log_joint.fn if is_keyed(log_joint) else log_joint, *args)
    wanted = tuple(dist.batch_shape)[:plates] if isinstance(plates, int) else ()
    if getattr(out, "shape", None) != wanted:
        per = f"one log p per plate element, shape {wanted}" if wanted else "a scalar"
        raise ValueError(
            f"`log_joint` must map one sample z (shape {example.shape}) to {per}, "
            f"log p(x, z); it returned {describe_output(out)}. Sum the "
            "log-densities of z's elements inside log_joint (reparax maps it over the K "
            "samples itself)."
        )


def _validated(
    log_joint: Callable,
    dist: Any,
    key: jax.Array,
    method: Any,
    num_samples: int,
    options: dict[str, Any],
) -> tuple[Estimator, dict[str, Any]]:
    estimator = _resolve(method, dist)
    common = {"chunk_size": options.pop("chunk_size", None), "plates": options.pop("plates", 0)}
    _check_log_joint(log_joint, dist, key, common["plates"])
    estimator.validate(log_joint, dist, key, num_samples=num_samples, options=options, **common)
    return estimator, common


def multisample_bound(
    log_joint: Callable[[jax.Array], jax.Array],
    dist: Any,
    key: jax.Array,
    *,
    method: str | Estimator = "iwae",
    num_samples: int,
    **options: Any,
) -> jax.Array:
    r"""A differentiable Monte Carlo estimate of the K-sample variational bound.

    With q = ``dist``, K = ``num_samples`` samples z_k ~ q and log-weights
    l_k = log p(x, z_k) − log q(z_k), formed by the library from ``log_joint`` and
    ``dist.log_prob``,

    .. math:: L_K = E_{z_{1:K} \sim q}\Big[\log \frac1K \sum_{k=1}^K e^{l_k}\Big]
              \;\le\; \log p(x),

    L_1 being the ELBO. The returned scalar's value is the estimate log (1/K) Σ_k e^{l_k}, and
    its derivative, with respect to ``dist``'s parameters and to anything ``log_joint``
    closes over (the model's parameters), is the method's estimator of ∇L_K:

    - ``"iwae"``: pathwise, Σ_k w̃_k ∇ l_k (reparameterized q);
    - ``"dreg"``: doubly reparameterized for q, IWAE's for the model (reparameterized q);
    - ``"vimco"``: score function with leave-one-out baselines (any q, discrete included);
    - ``"stl"``: the ELBO's path derivative. It estimates L_1, not L_K: with
      ``num_samples=N`` its value is (1/N) Σ_k l_k, the mean of N single-sample ELBOs.

    Use ``jax.value_and_grad`` on it (or :func:`multisample_bound_estimate`). With
    ``plates=k`` the leading k batch axes of ``dist`` are independent elements (data points
    of an amortized model): each gets its own K-sample bound, ``log_joint`` returns one
    log p(x_b, z_b) per element, and the value is the sum of the elements' bounds.
    ``rx.expectation`` refuses these methods, and this function refuses E[f] methods.

    Args:
      log_joint: maps ONE sample z to the unnormalized log-target log p(x, z) (a scalar;
        one per plate element with ``plates``). It may close over model parameters.
      dist: the proposal q, a reparax distribution (its leaves are the parameters φ).
      key: a PRNG key; sample k uses ``jax.random.split(key, num_samples)[k]``.
      method: ``"iwae"`` (default), ``"dreg"``, ``"vimco"`` or ``"stl"``, or their
        ``rx.Estimator`` values.
      num_samples: K, the number of samples in the bound (N independent terms for stl).
      **options: ``chunk_size`` (samples evaluated this many at a time), ``plates``.

    Returns:
      A scalar.

    Example:
      >>> import jax, jax.numpy as jnp, reparax as rx
      >>> x = 1.0
      >>> def loss(params, key):
      ...     q = rx.Normal(params["mu"], jnp.exp(params["log_sigma"]))
      ...     log_joint = lambda z: -0.5 * (z - params["theta"]) ** 2 - 0.5 * (x - z) ** 2
      ...     return -rx.multisample_bound(log_joint, q, key, method="dreg", num_samples=8)
      >>> params = {"mu": 0.0, "log_sigma": 0.0, "theta": 0.5}
      >>> grads = jax.grad(loss)(params, jax.random.key(0))
      >>> sorted(grads)
      ['log_sigma', 'mu', 'theta']

    References:
      Burda et al. (2016), https://arxiv.org/abs/1509.00519; Mnih & Rezende (2016),
      https://arxiv.org/abs/1602.06725; Tucker et al. (2019),
      https://arxiv.org/abs/1810.04152; Roeder et al. (2017),
      https://arxiv.org/abs/1703.09194.
    """
    estimator, common = _validated(log_joint, dist, key, method, num_samples, options)
    return estimator.surrogate(log_joint, dist, key, num_samples=num_samples, **common, **options)


def multisample_bound_estimate(
    log_joint: Callable[[jax.Array], jax.Array],
    dist: Any,
    key: jax.Array,
    *,
    method: str | Estimator = "iwae",
    num_samples: int,
    **options: Any,
) -> Estimate:
    """The bound's estimate and its gradient with respect to ``dist``'s parameters.

    The same as ``jax.value_and_grad`` of :func:`multisample_bound` in ``dist``, validated
    once; see there for the arguments. Gradients for what ``log_joint`` closes over need
    :func:`multisample_bound` inside your own ``jax.grad``.

    Returns:
      ``Estimate(value, grad)`` with ``grad`` of the pytree structure of ``dist``.

    Example:
      >>> import jax, jax.numpy as jnp, reparax as rx
      >>> q = rx.Bernoulli(jnp.zeros(3))
      >>> est = rx.multisample_bound_estimate(lambda b: -jnp.sum((b - 0.8) ** 2), q,
      ...     jax.random.key(0), method="vimco", num_samples=5)
      >>> est.grad.logits.shape
      (3,)
    """
    estimator, common = _validated(log_joint, dist, key, method, num_samples, options)

    def objective(d: Any) -> jax.Array:
        return estimator.surrogate(log_joint, d, key, num_samples=num_samples, **common, **options)

    value, grad = jax.value_and_grad(objective)(dist)
    return Estimate(value, grad)
