"""The unified entry points: ``expectation`` and ``gradient_estimate``."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

import jax

from reparax import _program, _registry
from reparax._checks import check_count, check_distribution, derivative_is_structurally_zero
from reparax._keyed import bind_key
from reparax.estimator import Estimator
from reparax.joint import Joint

#: The most f-evaluations per sample ``method="auto"`` accepts (exact enumeration of a joint
#: support of at most 2¹⁰ outcomes).
AUTO_MAX_EVALUATIONS = 2**10


class Estimate(NamedTuple):
    """A Monte Carlo estimate of E[f] and of its gradient.

    Attributes:
      value: the estimate of E_{p}[f(z)] (a scalar).
      grad: the gradient estimate, a pytree with the structure of the distribution.
    """

    value: jax.Array
    grad: Any


def resolve_method(
    method: str | Estimator,
    dist: Any,
    num_samples: int,
    f: Callable | None = None,
    options: dict[str, Any] | None = None,
) -> Estimator:
    """The estimator ``method`` names; ``"auto"`` picks an unbiased one.

    ``"auto"`` takes the first of ``rx.registry.auto_candidates()`` (pathwise, exact,
    rloo, score_function, in that order) that supports ``dist``, accepts ``num_samples`` and
    every given option, costs at most ``AUTO_MAX_EVALUATIONS`` f-evaluations per sample
    (exact enumeration of at most 2¹⁰ outcomes), and, when ``f`` is given and its derivative
    is structurally zero (comparisons, integer casts, ``stop_gradient``), does not need a
    differentiable ``f``. Relaxations (biased) are never chosen automatically.
    """
    if not (isinstance(method, str) and method.lower() == "auto"):
        estimator = _registry.lookup(method)
        if estimator.objective != "expectation":
            raise ValueError(
                f"method={estimator.name!r} estimates a multi-sample bound "
                "E[log (1/K) Σ_k p(x, z_k)/q(z_k)], not E[f]: call "
                f"rx.multisample_bound(log_joint, dist, key, method={estimator.name!r}, "
                "num_samples=K) instead."
            )
        return estimator
    check_distribution(dist)
    check_count("num_samples", num_samples)
    options = options or {}
    flat = f is not None and derivative_is_structurally_zero(
        bind_key(f, jax.random.key(0)), jax.eval_shape(lambda: dist.sample(jax.random.key(0)))
    )
    for candidate in _registry.auto_candidates():
        if (
            candidate.supports(dist)
            and candidate.min_samples <= num_samples
            and all(candidate.accepts(option) for option in options)
            and not (flat and candidate.differentiable_f)
            and candidate.count_evaluations(dist) <= AUTO_MAX_EVALUATIONS
        ):
            return candidate
    raise ValueError(
        f"method='auto' found no unbiased method for {type(dist).__name__} with "
        f"num_samples={num_samples} and options {sorted(options)}; name one of "
        f"{', '.join(_registry.supported_methods(dist))} explicitly."
    )


def _resolve_and_validate(
    f: Callable,
    dist: Any,
    key: jax.Array,
    method: str | Estimator,
    num_samples: int,
    options: dict[str, Any],
) -> tuple[Estimator, dict[str, Any]]:
    """The estimator and the common options (``chunk_size``, ``plates``: popped from
    ``options``), after every check."""
    estimator = resolve_method(method, dist, num_samples, f, options)
    common = {"chunk_size": options.pop("chunk_size", None), "plates": options.pop("plates", 0)}
    auto = isinstance(method, str) and method.lower() == "auto"
    estimator.validate(
        f,
        dist,
        key,
        num_samples=num_samples,
        options=options,
        chosen_by="auto" if auto else None,
        **common,
    )
    return estimator, common


def _joint_objective(
    f: Callable,
    joint: Joint,
    key: jax.Array,
    method: Any,
    num_samples: int,
    options: dict[str, Any],
) -> Callable[[Joint], jax.Array]:
    """The program's surrogate as a function of the joint, after every check."""
    chunk_size = options.pop("chunk_size", None)
    site_options = options.pop("site_options", None)
    if options:
        raise TypeError(
            f"For an rx.Joint the options are `chunk_size` and `site_options` (a mapping of "
            f"site names to that site's method options); got {', '.join(sorted(options))}."
        )
    check_count("chunk_size", chunk_size, allow_none=True)
    program = _program.plan(f, joint, key, method, num_samples, site_options)

    def objective(j: Joint) -> jax.Array:
        return _program.surrogate(
            f, j, key, program, num_samples=num_samples, chunk_size=chunk_size
        )

    return objective


def expectation(
    f: Callable,
    dist: Any,
    key: jax.Array,
    *,
    method: str | Estimator = "auto",
    num_samples: int = 1,
    **options: Any,
) -> jax.Array:
    """A differentiable Monte Carlo estimate of E_{z ~ dist}[f(z)].

    The returned scalar's value is the method's estimate of the expectation, and its
    derivative (``jax.grad``, ``jax.vjp``, and ``jax.jvp`` where the method allows) with
    respect to anything ``dist`` or ``f`` depends on is the method's gradient estimator. Use
    it inside any loss, under ``jit``/``vmap``/``grad``.

    Args:
      f: maps ONE sample to a scalar (reparax maps it over samples); it may close over
        parameters, whose gradients flow as usual. With ``plates=k`` it returns one cost per
        element of the leading ``k`` batch axes instead (a minibatch: each element's gradient
        reads its own cost only; the value is the sum over elements). Wrapped in
        ``rx.with_key``, it is called ``f(z, key)`` with a per-sample key of its own.
      dist: a reparax distribution, e.g. ``rx.Normal(loc, scale)``.
      key: a PRNG key (``jax.random.key`` or legacy ``PRNGKey``).
      method: a name from ``rx.methods()`` (case-insensitive), an alias, an
        ``rx.Estimator`` value, or ``"auto"``.
      num_samples: number of Monte Carlo samples (Python int).
      **options: method options, e.g. ``chunk_size``, ``plates``, ``baseline``,
        ``temperature``, ``control_variate``.

    Returns:
      A scalar.

    Example:
      >>> import jax, jax.numpy as jnp, reparax as rx
      >>> def loss(mu, key):
      ...     dist = rx.Normal(mu, 1.0)
      ...     return rx.expectation(lambda z: jnp.sum(z**2), dist, key, num_samples=32)
      >>> jax.grad(loss)(jnp.ones(3), jax.random.key(0)).shape
      (3,)
    """
    if isinstance(dist, Joint):
        return _joint_objective(f, dist, key, method, num_samples, options)(dist)
    estimator, common = _resolve_and_validate(f, dist, key, method, num_samples, options)
    return estimator.surrogate(f, dist, key, num_samples=num_samples, **common, **options)


def gradient_estimate(
    f: Callable,
    dist: Any,
    key: jax.Array,
    *,
    method: str | Estimator = "auto",
    num_samples: int = 1,
    **options: Any,
) -> Estimate:
    """Estimates E[f] and its gradient with respect to ``dist``'s parameters.

    Args:
      f: maps ONE sample to a scalar.
      dist: a reparax distribution.
      key: a PRNG key.
      method: a name from ``rx.methods()``, an alias, an ``rx.Estimator``, or ``"auto"``
        (an unbiased method: see :func:`resolve_method`).
      num_samples: number of Monte Carlo samples.
      **options: method options (``chunk_size``, ``baseline``, ``temperature``, ...).

    Returns:
      ``Estimate(value, grad)`` where ``grad`` has the pytree structure of ``dist``.

    Example:
      >>> import jax, jax.numpy as jnp, reparax as rx
      >>> dist = rx.Normal(loc=jnp.zeros(3), scale=jnp.ones(3))
      >>> est = rx.gradient_estimate(lambda z: jnp.sum((z - 1.0) ** 2), dist,
      ...                            jax.random.key(0), method="pathwise", num_samples=64)
      >>> est.grad.loc.shape
      (3,)
    """
    # Validated once, while the parameters are still concrete (before value_and_grad).
    if isinstance(dist, Joint):
        objective = _joint_objective(f, dist, key, method, num_samples, options)
    else:
        estimator, common = _resolve_and_validate(f, dist, key, method, num_samples, options)

        def objective(d: Any) -> jax.Array:
            return estimator.surrogate(f, d, key, num_samples=num_samples, **common, **options)

    value, grad = jax.value_and_grad(objective)(dist)
    return Estimate(value, grad)
