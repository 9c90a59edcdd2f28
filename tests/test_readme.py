"""The README's method table is what ``rx.methods_table()`` generates, and .ci/run runs the
README's test command verbatim."""

import pathlib
import re

import reparax as rx
from reparax import _registry

ROOT = pathlib.Path(__file__).parent.parent


def test_methods_table_in_sync():
    readme = (ROOT / "README.md").read_text()
    table = re.search(
        r"<!-- methods-table:start -->\n(.*?)\n<!-- methods-table:end -->", readme, re.S
    )
    assert table is not None
    # The built-in estimators (the suite also registers a toy one: tests/conftest.py).
    assert table.group(1).strip() == rx.methods_table(_registry.BUILTIN)


def test_ci_runs_the_readme_test_command():
    readme = (ROOT / "README.md").read_text()
    commands = re.findall(r"```bash\n(.*?)\n```", readme, re.S)
    test_command = next(c for c in commands if "pytest" in c)
    assert test_command.replace("-q ", "") in (ROOT / ".ci/run").read_text().replace("-q ", "")


def test_cli_bad_options_are_one_line(capsys):
    import pytest

    from reparax.__main__ import main

    for argv in (["--k", "abc"], ["--problem", "nope"], ["--scale", "-1"], ["--methods", "arm"]):
        with pytest.raises(SystemExit) as exit_info:
            main(argv)
        assert exit_info.value.code == 2
        err = capsys.readouterr().err.strip()
        assert err.startswith("python -m reparax: error:") and "\n" not in err


def test_cli_runs(capsys):
    from reparax.__main__ import main

    main(
        [
            "--problem",
            "square",
            "--trials",
            "50",
            "--num-samples",
            "4",
            "--methods",
            "pathwise,score_function",
        ]
    )
    out = capsys.readouterr().out
    assert "pathwise" in out and "score_function" in out and "±" in out


def test_readme_python_examples_run():
    """Every ```python block of the README runs as written."""
    readme = (ROOT / "README.md").read_text()
    for block in re.findall(r"```python\n(.*?)\n```", readme, re.S):
        exec(compile(block, "README.md", "exec"), {})
