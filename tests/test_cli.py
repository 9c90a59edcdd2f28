"""``python -m reparax``, run in-process on tiny configurations: the formulas, the z and
verdict columns, the discrete problems, --json, --plot, progress and the error messages.

Each run compiles one function per (problem, method, k); the configurations are chosen so
that the whole file compiles about twenty small ones.
"""

import io
import json
import sys

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from reparax import problems
from reparax.__main__ import main


def _fails(argv, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    assert exit_info.value.code == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("python -m reparax: error:") and "\n" not in err
    return err


# -- the problems' closed forms (what the tables print) -------------------------------------


@pytest.mark.parametrize("name", ["square", "exp_square", "cosine"])
@pytest.mark.parametrize(("k", "loc", "scale"), [(1.0, 1.0, 1.0), (0.7, -0.4, 1.8)])
def test_gaussian_closed_form_gradient_is_the_derivative_of_the_expectation(name, k, loc, scale):
    problem = problems.gaussian(name, k=k, loc=loc, scale=scale)
    exact = problems.GAUSSIAN_PROBLEMS[name](k).exact
    d_mu, d_sigma = jax.grad(exact, argnums=(0, 1))(jnp.float32(loc), jnp.float32(scale))
    np.testing.assert_allclose(problem.exact_grad["loc"], d_mu, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(problem.exact_grad["scale"], d_sigma, rtol=1e-5, atol=1e-6)


def test_bernoulli_closed_forms_match_enumeration():
    """E[f] = Σ_b p(b) f(b) over b ∈ {0, 1} per bit, differentiated by jax.grad."""

    def enumerated(logits, target):
        p = jax.nn.sigmoid(logits)
        return jnp.sum(p * (1 - target) ** 2 + (1 - p) * (0 - target) ** 2)

    bit = problems.one_bit(logit=1.3, target=0.3)
    many = problems.many_bits(num_bits=200, target=0.45)
    for problem, target in ((bit, 0.3), (many, 0.45)):
        logits = problem.dist.logits
        np.testing.assert_allclose(problem.exact_value, enumerated(logits, target), rtol=1e-6)
        np.testing.assert_allclose(
            problem.exact_grad["logits"], jax.grad(enumerated)(logits, target), atol=1e-7
        )
    # f is the one in the formula: at b = 1 every term is (1 − t)².
    np.testing.assert_allclose(many.f(jnp.ones(200)), 200 * 0.55**2, rtol=1e-6)


# -- the table -------------------------------------------------------------------------------


def test_table_states_formulas_and_unbiased_methods_agree(capsys):
    main(
        [
            "--problems",
            "square,bit",
            "--methods",
            "score_function,rloo",
            "--estimates",
            "400",
            "--num-samples",
            "4",
            "--quiet",
        ]
    )
    out = capsys.readouterr().out
    for formula in (
        "f(x) = (x − k)², k = 1",
        "x ~ N(μ, σ²), μ = 1, σ = 1",
        "∂/∂μ = 2(μ − k),  ∂/∂σ = 2σ",
        "f(b) = (b − t)², t = 0.45",
        "b ~ Bernoulli(σ(θ)), θ = 1",
        "∂/∂θ = σ(θ)(1 − σ(θ))(1 − 2t)",
    ):
        assert formula in out
    header = next(line for line in out.splitlines() if line.startswith("method"))
    assert header.split() == (
        "method param estimate ± stderr exact z verdict var/sample f-evals µs/est".split()
    )
    rows = [line for line in out.splitlines() if line.startswith(("score_function", "rloo"))]
    assert len(rows) == 2 * 2 + 2  # (μ, σ) on square, θ on bit, for two methods
    for row in rows:
        z = float(row.split()[6])
        assert abs(z) <= 5 and row.split()[7] == "agrees", row
    assert "Every unbiased method agrees" in out


def test_a_method_that_refuses_is_a_skipped_row(capsys):
    main(["--problems", "bits200", "--methods", "exact", "--quiet"])
    out = capsys.readouterr().out
    assert "exact                   skipped: method='exact' would enumerate" in out
    assert "0 rows run, 1 skipped" in out


# -- --json and --plot -----------------------------------------------------------------------


def test_json_document_and_plot(capsys, tmp_path):
    figure = tmp_path / "variance.png"
    argv = ["--problems", "bit", "--methods", "disarm,gumbel_softmax", "--estimates", "300"]
    main([*argv, "--num-samples", "4", "--json", "--quick", "--plot", str(figure)])
    document = json.loads(capsys.readouterr().out)  # stdout is the document and nothing else
    assert set(document) >= {"config", "problems", "z_threshold", "seconds", "plot"}
    (problem,) = document["problems"]
    assert problem["name"] == "bit"
    assert problem["formula"]["exact"].endswith("∂/∂θ = σ(θ)(1 − σ(θ))(1 − 2t)")
    exact = problems.one_bit().exact_grad["logits"]
    np.testing.assert_allclose(problem["exact_gradient"]["logits"], exact, rtol=1e-6)
    disarm, relaxed = problem["methods"]
    assert (disarm["method"], disarm["unbiased"], disarm["agrees"]) == ("disarm", True, True)
    (theta,) = disarm["parameters"]
    assert abs(theta["z"]) <= 5 and theta["verdict"] == "agrees"
    assert theta["z"] == pytest.approx(
        (theta["estimate"] - theta["exact"]) / theta["stderr"], rel=1e-3
    )  # the float32-rounding floor under the stderr is negligible here
    assert disarm["f_evaluations"] == 8 and disarm["seconds"]["compile"] > 0
    # Gumbel-softmax is biased on this toy (z ≈ 20 at 300 estimates): labelled, not hidden.
    assert relaxed["unbiased"] is False and relaxed["parameters"][0]["verdict"] == (
        "disagrees (biased)"
    )
    variance = document["plot"]["per_sample_variance"]
    assert set(variance["disarm"]) == {"1", "4", "16"}
    assert all(v > 0 for v in variance["disarm"].values())
    assert figure.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_plot_without_matplotlib_names_the_extra(capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # `import matplotlib` raises
    err = _fails(["--problems", "bit", "--plot", "out.png"], capsys)
    assert 'pip install "reparax[plot]"' in err


# -- progress --------------------------------------------------------------------------------


class _Terminal(io.StringIO):
    def isatty(self):
        return True


@pytest.mark.parametrize("quiet", [False, True])
def test_progress_bar_on_a_terminal_only(capsys, monkeypatch, quiet):
    terminal = _Terminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    main(["--problems", "bit", "--methods", "exact", "--estimates", "2", *(["--quiet"] * quiet)])
    assert ("bit: exact" in terminal.getvalue()) is not quiet
    assert "exact" in capsys.readouterr().out
    main(["--problems", "bit", "--methods", "exact", "--estimates", "2"])  # stderr not a TTY
    assert capsys.readouterr().err == ""


# -- bad options -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("argv", "says"),
    [
        (["--problems", "square,nope"], "unknown problem 'nope' in --problems; choose from"),
        (["--methods", "disarn"], "disarm"),  # the registry's did-you-mean
        (["--methods", "disarm"], "does not apply to problem(s) square, exp_square, cosine"),
        (["--methods", "vimco"], "multi-sample bound"),
        (["--methods", "rloo", "--num-samples", "1"], "rloo needs --num-samples >= 2"),
        (["--estimates", "1"], "--estimates must be >= 2"),
        (["--target", "2"], "--target must be in [0, 1]"),
        (["--plot-problem", "bit"], "--plot-problem needs --plot FILE"),
        (["--problems", "bit", "--plot", "x.png", "--plot-problem", "square"], "not among"),
    ],
)
def test_bad_options_are_one_line_errors(capsys, argv, says):
    assert says in _fails(argv, capsys)
