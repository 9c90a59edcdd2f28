"""Toy problems with exact answers, shared by the CLI, the benchmarks, notebooks and tests.

Gaussian moments (Mohamed et al. 2020, §3): for x ~ N(μ, σ²),

* E[(x − k)²] = (μ − k)² + σ²,
* E[exp(−k x²)] = (1 + 2kσ²)^{−1/2} exp(−k μ² / (1 + 2kσ²)),
* E[cos(k x)] = cos(kμ) exp(−k²σ²/2).

Each problem is a pair ``(g, exact)``: ``g(x)`` acts elementwise and ``exact(μ, σ)`` is the
expectation of ``g`` for one Gaussian coordinate, differentiable with ``jax.grad``.

Bernoulli problems (the REBAR/RELAX toy, Tucker et al. 2017): for b ~ Bernoulli(σ(θ)) and
f(b) = (b − t)², E[f] = σ(θ)(1 − t)² + (1 − σ(θ)) t², so ∂E/∂θ = σ'(θ)((1 − t)² − t²) =
σ(θ)(1 − σ(θ))(1 − 2t); a sum of such terms over independent bits is separable, so its
gradient is this formula coordinate by coordinate.

:class:`Problem` bundles a distribution, ``f`` (one sample to a scalar), the exact value and
gradient, and the formulas in words; :func:`gaussian`, :func:`one_bit` and :func:`many_bits`
build the ones ``python -m reparax`` runs.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp

from reparax.distributions import Bernoulli, Normal


class GaussianProblem(NamedTuple):
    g: Callable
    exact: Callable


def square(k: float) -> GaussianProblem:
    """g(x) = (x − k)²."""
    return GaussianProblem(lambda x: (x - k) ** 2, lambda mu, sigma: (mu - k) ** 2 + sigma**2)


def exp_square(k: float) -> GaussianProblem:
    """g(x) = exp(−k x²)."""

    def exact(mu: jax.Array, sigma: jax.Array) -> jax.Array:
        s = 1.0 + 2.0 * k * sigma**2
        return s**-0.5 * jnp.exp(-k * mu**2 / s)

    return GaussianProblem(lambda x: jnp.exp(-k * x**2), exact)


def cosine(k: float) -> GaussianProblem:
    """g(x) = cos(k x)."""

    def exact(mu: jax.Array, sigma: jax.Array) -> jax.Array:
        return jnp.cos(k * mu) * jnp.exp(-(k**2) * sigma**2 / 2)

    return GaussianProblem(lambda x: jnp.cos(k * x), exact)


GAUSSIAN_PROBLEMS: dict[str, Callable[[float], GaussianProblem]] = {
    "square": square,
    "exp_square": exp_square,
    "cosine": cosine,
}


@dataclasses.dataclass(frozen=True)
class Problem:
    """A distribution and an ``f`` whose expectation and gradient are known in closed form.

    Attributes:
      name: a short identifier (the CLI's ``--problems`` names).
      dist: the reparax distribution p_θ.
      f: maps ONE sample of ``dist`` to a scalar.
      exact_value: E_{p_θ}[f] from its closed form.
      exact_grad: ∂E/∂(parameter) from its closed form, by the distribution's field name
        (``"loc"``, ``"scale"``, ``"logits"``), each with the field's shape.
      symbols: the parameters' names in the formulas, by field name (``"loc"`` → ``"μ"``).
      formula: three lines in words: f, the distribution, the exact value and gradient.
    """

    name: str
    dist: Any
    f: Callable[[jax.Array], jax.Array]
    exact_value: jax.Array
    exact_grad: dict[str, jax.Array]
    symbols: dict[str, str]
    formula: tuple[str, str, str]


# The closed-form gradients (∂/∂μ, ∂/∂σ) of the Gaussian problems, written out (not jax.grad
# of the expectation) so that the CLI prints what it computes; tests check them against
# jax.grad of `exact`.
def _square_grad(k: float, mu: jax.Array, sigma: jax.Array) -> tuple[jax.Array, jax.Array]:
    return 2.0 * (mu - k), 2.0 * sigma


def _exp_square_grad(k: float, mu: jax.Array, sigma: jax.Array) -> tuple[jax.Array, jax.Array]:
    s = 1.0 + 2.0 * k * sigma**2
    value = exp_square(k).exact(mu, sigma)
    return -2.0 * k * mu / s * value, 2.0 * k * sigma / s * (2.0 * k * mu**2 / s - 1.0) * value


def _cosine_grad(k: float, mu: jax.Array, sigma: jax.Array) -> tuple[jax.Array, jax.Array]:
    damping = jnp.exp(-(k**2) * sigma**2 / 2)
    return -k * jnp.sin(k * mu) * damping, -(k**2) * sigma * jnp.cos(k * mu) * damping


_GAUSSIAN_FORMULAS: dict[str, tuple[str, str, Callable]] = {
    "square": (
        "f(x) = (x − k)²",
        "E[f] = (μ − k)² + σ²;  ∂/∂μ = 2(μ − k),  ∂/∂σ = 2σ",
        _square_grad,
    ),
    "exp_square": (
        "f(x) = exp(−k x²)",
        "E[f] = s^(−1/2) exp(−kμ²/s), s = 1 + 2kσ²;  ∂/∂μ = −(2kμ/s) E[f],  "
        "∂/∂σ = (2kσ/s)(2kμ²/s − 1) E[f]",
        _exp_square_grad,
    ),
    "cosine": (
        "f(x) = cos(k x)",
        "E[f] = cos(kμ) exp(−k²σ²/2);  ∂/∂μ = −k sin(kμ) exp(−k²σ²/2),  ∂/∂σ = −k²σ E[f]",
        _cosine_grad,
    ),
}


def gaussian(name: str, *, k: float = 1.0, loc: float = 1.0, scale: float = 1.0) -> Problem:
    """One of the Gaussian problems (``"square"``, ``"exp_square"``, ``"cosine"``) at
    x ~ N(μ, σ²) with μ = ``loc`` and σ = ``scale``.

    Example:
      >>> from reparax import problems
      >>> problem = problems.gaussian("square", k=1.0, loc=1.0, scale=1.0)
      >>> problem.formula[0], float(problem.exact_grad["scale"])
      ('f(x) = (x − k)², k = 1', 2.0)
    """
    if name not in GAUSSIAN_PROBLEMS:
        raise ValueError(f"`name` must be one of {sorted(GAUSSIAN_PROBLEMS)}, got {name!r}.")
    if not scale > 0:
        raise ValueError(f"`scale` must be > 0 (it is σ), got {scale}.")
    g, exact = GAUSSIAN_PROBLEMS[name](k)
    f_text, gradient_text, gradient = _GAUSSIAN_FORMULAS[name]
    mu, sigma = jnp.asarray(loc, jnp.float32), jnp.asarray(scale, jnp.float32)
    d_mu, d_sigma = gradient(k, mu, sigma)
    return Problem(
        name=name,
        dist=Normal(mu, sigma),
        f=g,
        exact_value=exact(mu, sigma),
        exact_grad={"loc": d_mu, "scale": d_sigma},
        symbols={"loc": "μ", "scale": "σ"},
        formula=(
            f"{f_text}, k = {k:g}",
            f"x ~ N(μ, σ²), μ = {loc:g}, σ = {scale:g}",
            gradient_text,
        ),
    )


def _bit_terms(logits: jax.Array, target: float) -> tuple[jax.Array, jax.Array]:
    """Per bit: E[(b − t)²] = p(1 − t)² + (1 − p)t² and its θ-derivative σ'(θ)(1 − 2t)."""
    p = jax.nn.sigmoid(logits)
    return p * (1 - target) ** 2 + (1 - p) * target**2, p * (1 - p) * (1 - 2 * target)


def one_bit(*, logit: float = 1.0, target: float = 0.45) -> Problem:
    """The 1-bit toy: b ~ Bernoulli(σ(θ)), f(b) = (b − t)² (Tucker et al. 2017, t = 0.45).

    Its gradient σ'(θ)(1 − 2t) is small against the spread of f, which is what makes it hard
    for score-function estimators. The default θ = 1 keeps p = σ(θ) away from ½, where the
    (biased) straight-through gradient 2σ'(θ)(p − t) would equal the exact one by chance.

    Example:
      >>> from reparax import problems
      >>> problem = problems.one_bit(logit=0.0, target=0.45)
      >>> round(float(problem.exact_grad["logits"]), 6)  # ¼ · (1 − 0.9)
      0.025
    """
    theta = jnp.asarray(logit, jnp.float32)
    value, gradient = _bit_terms(theta, target)
    return Problem(
        name="bit",
        dist=Bernoulli(logits=theta),
        f=lambda b: (b - target) ** 2,
        exact_value=value,
        exact_grad={"logits": gradient},
        symbols={"logits": "θ"},
        formula=(
            f"f(b) = (b − t)², t = {target:g}",
            f"b ~ Bernoulli(σ(θ)), θ = {logit:g}",
            "E[f] = σ(θ)(1 − t)² + (1 − σ(θ))t²;  ∂/∂θ = σ(θ)(1 − σ(θ))(1 − 2t)",
        ),
    )


def many_bits(*, num_bits: int = 200, target: float = 0.45) -> Problem:
    """``num_bits`` independent bits b_i ~ Bernoulli(σ(θ_i)), θ evenly spaced on [−2, 2], and
    f(b) = Σ_i (b_i − t)²: separable, so ∂E/∂θ_i = σ'(θ_i)(1 − 2t) exactly, while every
    estimator sees the noise of all the other bits in f.

    Example:
      >>> from reparax import problems
      >>> problem = problems.many_bits(num_bits=3, target=0.5)
      >>> problem.exact_grad["logits"].tolist()  # t = ½: E[f] = ¼ whatever θ
      [0.0, 0.0, 0.0]
    """
    if num_bits < 2:
        raise ValueError(f"`num_bits` must be >= 2 (use one_bit for one), got {num_bits}.")
    theta = jnp.linspace(-2.0, 2.0, num_bits, dtype=jnp.float32)
    values, gradient = _bit_terms(theta, target)
    last = num_bits - 1
    return Problem(
        name=f"bits{num_bits}",
        dist=Bernoulli(logits=theta),
        f=lambda b: jnp.sum((b - target) ** 2),
        exact_value=jnp.sum(values),
        exact_grad={"logits": gradient},
        symbols={"logits": "θ"},
        formula=(
            f"f(b) = Σ_i (b_i − t)², t = {target:g}",
            f"b_i ~ Bernoulli(σ(θ_i)) independent, θ_i = −2 + 4i/{last}, i = 0…{last}",
            "E[f] = Σ_i σ(θ_i)(1 − t)² + (1 − σ(θ_i))t²;  ∂/∂θ_i = σ(θ_i)(1 − σ(θ_i))(1 − 2t)",
        ),
    )
