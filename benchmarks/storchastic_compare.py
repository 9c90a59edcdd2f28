"""Side by side: reparax against Storchastic (PyTorch) on the 200-bit Bernoulli (issue #13).

Optional: it needs PyTorch and Storchastic, which reparax does not depend on; keep them in a
virtual environment of their own, outside the repository (``python3 -m venv ~/venv-torch &&
~/venv-torch/bin/pip install torch storchastic && ~/venv-torch/bin/pip install -e .``, from
the repository root). Without them it prints how to install them and exits 0.

Problem: the one of ``benchmarks/discrete_speed.py``: θ of shape (200,), b ~ Bernoulli(σ(θ)),
f(b) = Σ(b − t)² with t = linspace(0.4, 0.6, 200), N = 16 samples per estimate. For every
method both libraries provide under the same definition, one gradient estimate (forward and
backward) is timed: reparax as the jitted ``jax.grad`` of ``rx.expectation`` (compiled and
warmed up), Storchastic as its examples run it (build the distribution, sample through the
method object, ``storch.add_cost``, ``storch.backward``) on the CPU, with PyTorch's intra-op
threads set to the cores JAX uses. The two are timed in alternating rounds of ``--calls``
consecutive estimates each; the table gives the median of the per-round ratios Storchastic /
reparax (the speed-up) with its interquartile range, and the ratio of each library's fastest
round. Before the timing, a 3-bit problem checks that both libraries' gradient
estimates have the same mean (many independent estimates each): that the comparison is of
the same estimator. Storchastic is GPL; it is called here, none of its code is copied.

Which Storchastic class is which reparax method (read from Storchastic 0.3.7's source):

============================  ==================================================================
reparax ``method=``           Storchastic
============================  ==================================================================
``score_function``            ``ScoreFunction(plate, n_samples=N)`` (default: no baseline)
``rloo``                      ``ScoreFunction(..., baseline_factory="batch_average")``: each
                              sample's baseline is the mean of the N − 1 others' costs
``arm``                       ``ARM(plate, n_samples=N)``: N logistic draws ε, f at b = 1[θ + ε >
                              0] and at the antithetic b̃ = 1[θ − ε > 0] (2N evaluations)
``disarm``                    ``DisARM(plate, n_samples=N)``: the same pairs, DisARM's weights
``gumbel_softmax``            ``GumbelSoftmax(..., annealing_rate=0)``: σ((θ + ℓ)/τ), τ = 1
``st_gumbel_softmax``         ``GumbelSoftmax(..., straight_through=True, annealing_rate=0)``:
                              forward 1[θ + ℓ > 0], backward through σ((θ + ℓ)/τ), τ = 1
``rebar`` (temperature=1)     ``REBAR(plate, n_samples=N)``: control variate η f(σ(z/λ)), λ = η =
                              1 at initialisation (both trainable there)
``relax`` (custom surrogate)  ``RELAX(plate, n_samples=N, in_dim=200)``: c_φ(z) = η·MLP(σ(z/λ)),
                              MLP = Linear(200, 50) → ReLU → Linear(50, 1); reparax is given the
                              same surrogate with the same weights
============================  ==================================================================

What the check finds in Storchastic 0.3.7 (its source read to see why; reported, not worked
around, so the rows say so):

- ``DisARM``'s gradient has mean 0. ``estimator`` returns f(b̃) as a plain control variate,
  which ``storch.inference.surrogate_loss`` multiplies by the magic box of the DisARM term:
  the estimate is ½ (f(b) **+** f(b̃)) (−1)^b̃ 1[b ≠ b̃] σ(|θ|) instead of the difference, and
  the weight is antisymmetric under exchanging the pair. (Its ``ARM`` returns
  (1 − magic box)·baseline, which is right.) With that sign flipped (in a scratch copy, not
  here) the mean is half the gradient: ``DisARM`` defines ``plate_weighting`` for its N pairs
  but never registers it (``ARM`` does), so the 2N draws are averaged with weight 1/(2N).
- ``REBAR`` and ``RELAX`` are biased: the Bernoulli branch of
  ``storch.conditional_gumbel_rsample`` forms z̃ = log p + log(1 + p) + log v′ + log(1 + v′)
  where logit(p) + logit(v′) = log p − log(1 − p) + log v′ − log(1 − v′) is needed, so z̃ is
  not drawn from p(z | b) and the control variate no longer cancels. With that line
  corrected (scratch copy again) both agree with reparax (max |z| 1.2 over 10 000 estimates).
  RELAX's bias scales with its freshly initialised network: fewer than ~5000 estimates may
  miss it.

The timing rows of those methods are still of the same work (the same evaluations and
shapes), marked as not the same estimator.

Storchastic's ``GumbelSoftmax`` anneals its temperature after each ``backward`` (rate 1e-5)
unless told not to; ``annealing_rate=0`` keeps τ = 1, reparax's default. ``storch.backward``
is called with ``update_estimator_params=False``: for REBAR/RELAX it otherwise also trains
the control variate (a second backward pass), which is not part of one gradient estimate
(reparax does that in ``rx.variance_gradient``); for the other methods it changes nothing.
Storchastic has no IndeCateR, measure-valued, Gumbel-Rao or ReinMax estimator for these
distributions; its without-replacement estimators are for one categorical, not 200 bits.

    python benchmarks/storchastic_compare.py [--repeats 100] [--calls 10] [--only arm,disarm]
        [--check-estimates 10000] [--no-check] [--torch-threads 2]
"""

from __future__ import annotations

import argparse
import importlib.metadata
import os
import sys
import time
import warnings
from collections.abc import Callable

import jax
import jax.numpy as jnp
import numpy as np

import reparax as rx

# PyTorch's OpenMP threads spin-wait after every parallel op by default. Alternating with
# JAX's own threads on a small shared machine, that spinning fought them for the cores:
# measured on 2 loaded cores, one Storchastic score-function step took 13 ms with spinning
# and 1.2 ms without (and the reparax call after it 2.9 ms instead of 0.35 ms). Passive
# waiting is set before torch loads (a value already in the environment is kept), so the
# comparison does not flatter reparax with a slowdown that is an artefact of the setting.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

try:  # optional: neither is a dependency of reparax, and CI never installs them
    import storch
    import torch
    from storch.method import ARM, REBAR, RELAX, DisARM, GumbelSoftmax, ScoreFunction
except ImportError as error:  # pragma: no cover - depends on the environment
    storch = torch = None
    MISSING = f"{error}"

INSTALL = (
    "storchastic_compare.py needs PyTorch and Storchastic ({missing}); install them in a "
    "separate environment: python3 -m venv ~/venv-torch && ~/venv-torch/bin/pip install torch "
    "storchastic && ~/venv-torch/bin/pip install -e . && ~/venv-torch/bin/python "
    "benchmarks/storchastic_compare.py"
)

N = 16
BITS = 200
METHODS = (
    "score_function",
    "rloo",
    "arm",
    "disarm",
    "gumbel_softmax",
    "st_gumbel_softmax",
    "rebar",
    "relax",
)
# Unbiased estimators are checked against the exact gradient too; the relaxations only
# against each other (their bias is part of the definition).
UNBIASED = {"score_function", "rloo", "arm", "disarm", "rebar", "relax"}


# -- Storchastic ------------------------------------------------------------------------------
def storch_method(method: str, bits: int) -> torch.nn.Module:
    """The Storchastic estimator that computes reparax's ``method`` (see the module table)."""
    plate = "b"
    if method == "score_function":
        return ScoreFunction(plate, n_samples=N)
    if method == "rloo":
        return ScoreFunction(plate, n_samples=N, baseline_factory="batch_average")
    if method == "arm":
        return ARM(plate, n_samples=N)
    if method == "disarm":
        return DisARM(plate, n_samples=N)
    if method == "gumbel_softmax":
        return GumbelSoftmax(plate, n_samples=N, annealing_rate=0.0)
    if method == "st_gumbel_softmax":
        return GumbelSoftmax(plate, n_samples=N, straight_through=True, annealing_rate=0.0)
    if method == "rebar":
        return REBAR(plate, n_samples=N)
    if method == "relax":
        return RELAX(plate, n_samples=N, in_dim=bits)
    raise ValueError(f"no Storchastic counterpart for method={method!r}")


def storch_step(
    estimator: torch.nn.Module, theta: torch.Tensor, targets: torch.Tensor
) -> torch.Tensor:
    """One gradient estimate, written as Storchastic's examples write a training step."""
    theta.grad = None
    b = estimator(torch.distributions.Bernoulli(logits=theta))
    # DisARM's samples are bool tensors (a float cast is a no-op for the others).
    storch.add_cost(torch.sum((b.float() - targets) ** 2, -1), "cost")
    storch.backward(update_estimator_params=False)
    return theta.grad.detach()  # REBAR/RELAX's gradient keeps a graph (create_graph=True)


# -- reparax ----------------------------------------------------------------------------------
def relax_surrogate(params: dict, z: jax.Array) -> jax.Array:
    """Storchastic's RELAX control variate on perturbed logits z: η·MLP(σ(z/λ))."""
    relaxed = jax.nn.sigmoid(z / params["temperature"])
    hidden = jax.nn.relu(params["w1"] @ relaxed + params["b1"])
    return params["eta"] * (params["w2"] @ hidden + params["b2"])


def relax_params(estimator: torch.nn.Module) -> dict:
    """Storchastic's RELAX parameters (network, λ, η) as JAX arrays, so both use one c_φ."""
    net = estimator.c_phi
    as_jax = lambda t: jnp.asarray(t.detach().numpy())
    return {
        "w1": as_jax(net.fc1.weight),
        "b1": as_jax(net.fc1.bias),
        "w2": as_jax(net.fc2.weight[0]),
        "b2": as_jax(net.fc2.bias[0]),
        "temperature": as_jax(estimator.temperature),
        "eta": as_jax(estimator.eta),
    }


def reparax_grad(method: str, targets: jax.Array, options: dict) -> Callable:
    """The jitted gradient estimate ``(θ, key) -> ∇θ``."""

    def cost(b: jax.Array) -> jax.Array:
        return jnp.sum((b - targets) ** 2)

    def loss(theta: jax.Array, key: jax.Array) -> jax.Array:
        dist = rx.Bernoulli(theta)
        return rx.expectation(cost, dist, key, method=method, num_samples=N, **options)

    return jax.jit(jax.grad(loss))


def reparax_options(method: str, estimator: torch.nn.Module) -> dict:
    if method == "rebar":  # Storchastic's REBAR starts at λ = 1 (reparax's default is 0.5)
        return {"temperature": 1.0, "eta": 1.0}
    if method == "relax":
        return {"surrogate": relax_surrogate, "cv_params": relax_params(estimator)}
    return {}


# -- the agreement check ----------------------------------------------------------------------
def mean_and_error(values: np.ndarray) -> tuple[float, float]:
    return float(values.mean()), float(values.std(ddof=1) / np.sqrt(len(values)))


def agreement(method: str, estimates: int) -> tuple[list[str], float]:
    """Mean of independent N-sample gradient estimates on 3 bits (``estimates`` from
    Storchastic, 4× as many from reparax, which vmaps them): Markdown rows with the z-scores
    of the two libraries' difference and (unbiased methods) of each against the exact
    gradient, z = difference / combined standard error; and the largest |z| of the
    difference."""
    theta = np.array([-1.0, 0.5, 1.5], np.float32)
    targets = np.array([0.1, 0.35, 0.8], np.float32)
    p = 1.0 / (1.0 + np.exp(-theta))
    exact = p * (1.0 - p) * (1.0 - 2.0 * targets)  # ∂/∂θ Σ p(1 − t)² + (1 − p)t²

    estimator = storch_method(method, 3)
    theta_t = torch.tensor(theta, requires_grad=True)
    targets_t = torch.tensor(targets)
    steps = range(estimates)
    storch_grads = np.stack([storch_step(estimator, theta_t, targets_t).numpy() for _ in steps])

    grad = reparax_grad(method, jnp.asarray(targets), reparax_options(method, estimator))
    keys = jax.random.split(jax.random.key(0), 4 * estimates)
    reparax_grads = np.asarray(jax.vmap(grad, (None, 0))(jnp.asarray(theta), keys))

    rows, worst = [], 0.0
    for d in range(3):
        s_mean, s_se = mean_and_error(storch_grads[:, d])
        r_mean, r_se = mean_and_error(reparax_grads[:, d])
        z_diff = (s_mean - r_mean) / np.hypot(s_se, r_se)
        worst = max(worst, abs(float(z_diff)))
        if method in UNBIASED:
            z_s, z_r = f"{(s_mean - exact[d]) / s_se:+.1f}", f"{(r_mean - exact[d]) / r_se:+.1f}"
        else:
            z_s = z_r = "(biased by definition)"
        rows.append(
            f"| {method} | {d} | {exact[d]:+.4f} | {r_mean:+.4f} ± {r_se:.4f} | "
            f"{s_mean:+.4f} ± {s_se:.4f} | {z_diff:+.1f} | {z_r} | {z_s} |"
        )
    return rows, worst


# -- the timing -------------------------------------------------------------------------------
def paired_times(method: str, repeats: int, calls: int) -> np.ndarray:
    """Seconds per call, shape (repeats, 2): reparax, Storchastic, in alternating rounds.

    A round times ``calls`` consecutive estimates of each library, as a training loop makes
    them: one call of each in turn made every reparax call pay for the caches and sleeping
    threads PyTorch left (measured under load: 256 µs a call against 120 µs in a loop), a
    cost no user of one library has. The first call after the switch is still in the
    round's time."""
    theta = jax.random.normal(jax.random.key(1), (BITS,))  # discrete_speed.py's logits
    targets = jnp.linspace(0.4, 0.6, BITS)
    estimator = storch_method(method, BITS)
    theta_t = torch.tensor(np.asarray(theta), requires_grad=True)
    targets_t = torch.tensor(np.asarray(targets))
    grad = reparax_grad(method, targets, reparax_options(method, estimator))
    key = jax.random.key(0)

    steps = [
        lambda: jax.block_until_ready(grad(theta, key)),
        lambda: storch_step(estimator, theta_t, targets_t),
    ]
    for step in steps:  # compile, and warm both up
        for _ in range(3):
            step()
    times = np.zeros((repeats, 2))
    for r in range(repeats):
        for i in (0, 1) if r % 2 == 0 else (1, 0):
            start = time.perf_counter()
            for _ in range(calls):
                steps[i]()
            times[r, i] = (time.perf_counter() - start) / calls
    return times


def cores() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=100, help="alternating rounds")
    parser.add_argument("--calls", type=int, default=10, help="estimates per library per round")
    parser.add_argument("--torch-threads", type=int, default=0, help="default: JAX's cores")
    parser.add_argument("--only", default="", help="comma-separated methods")
    parser.add_argument("--check-estimates", type=int, default=10000)
    parser.add_argument("--no-check", action="store_true", help="skip the agreement check")
    args = parser.parse_args()
    if torch is None:
        print(INSTALL.format(missing=MISSING))
        return
    only = set(filter(None, args.only.split(",")))
    methods = [m for m in METHODS if not only or m in only]
    if unknown := only - set(METHODS):
        sys.exit(f"--only: no side-by-side for {sorted(unknown)}; choose from {METHODS}")

    threads = args.torch_threads or cores()
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    # REBAR/RELAX's backward runs with create_graph=True (Storchastic's choice); PyTorch warns
    # about the reference cycle, which storch_step breaks by resetting θ.grad.
    warnings.filterwarnings("ignore", message="Using backward\\(\\) with create_graph=True")
    versions = ", ".join(
        f"{name} {importlib.metadata.version(name)}"
        for name in ("reparax", "jax", "jaxlib", "torch", "storchastic")
    )
    print(
        f"{jax.devices()[0].platform} | {cores()} cores (torch threads = {threads}, "
        f"OMP_WAIT_POLICY={os.environ['OMP_WAIT_POLICY']}) | {versions}"
    )
    command = "python benchmarks/storchastic_compare.py " + " ".join(sys.argv[1:])

    worst: dict[str, float] = {}
    if not args.no_check:
        print(
            f"\nAgreement on 3 bits (θ = (−1, 0.5, 1.5), t = (0.1, 0.35, 0.8), N = {N}): mean "
            f"± standard error of {4 * args.check_estimates} reparax and "
            f"{args.check_estimates} Storchastic estimates; z = difference / standard error.\n"
        )
        print(
            "| method | bit | exact | reparax | Storchastic | z (Storchastic − reparax) "
            "| z (reparax − exact) | z (Storchastic − exact) |"
        )
        print("|---|---|---|---|---|---|---|---|")
        for method in methods:
            rows, worst[method] = agreement(method, args.check_estimates)
            print("\n".join(rows), flush=True)

    print(
        f"\nOne gradient estimate, 200-bit Bernoulli, f(b) = Σ(b − t)², N = {N}: "
        f"{args.repeats} alternating rounds of {args.calls} calls each. Same estimator: the "
        "check's largest |z| between the libraries' means (≤ 5: the means agree). Times are "
        "medians over rounds; speed-up = Storchastic / reparax per round (median, IQR), and "
        "the ratio of the two fastest rounds, the least disturbed by other load.\n"
    )
    print(
        "| method | reparax (µs) | Storchastic (µs) | speed-up (median) | speed-up IQR "
        "| fastest / fastest | same estimator |"
    )
    print("|---|---|---|---|---|---|---|")
    for method in methods:
        times = paired_times(method, args.repeats, args.calls)
        ours, theirs = np.median(times, 0) * 1e6
        q1, q2, q3 = np.percentile(times[:, 1] / times[:, 0], [25, 50, 75])
        best = times[:, 1].min() / times[:, 0].min()
        same = "not checked"
        if method in worst:
            verdict = "agree" if worst[method] <= 5.0 else "**differ**"
            same = f"{verdict} (max \\|z\\| {worst[method]:.1f})"
        print(
            f"| {method} | {ours:.0f} | {theirs:.0f} | {q2:.1f}× | {q1:.1f}–{q3:.1f} | "
            f"{best:.1f}× | {same} |",
            flush=True,
        )
    print(
        f"\n(cpu, {cores()} cores, torch threads = {threads}, "
        f"OMP_WAIT_POLICY={os.environ['OMP_WAIT_POLICY']} | {versions} | N={N}, "
        f"{args.repeats} alternating rounds of {args.calls} calls; `{command.strip()}`.)"
    )


if __name__ == "__main__":
    main()
