"""The README's method table is what ``rx.methods_table()`` generates, and .ci/run runs the
README's test command verbatim."""

import pathlib
import re

import reparax as rx

ROOT = pathlib.Path(__file__).parent.parent


def test_methods_table_in_sync():
    readme = (ROOT / "README.md").read_text()
    table = re.search(
        r"<!-- methods-table:start -->\n(.*?)\n<!-- methods-table:end -->", readme, re.S
    )
    assert table is not None
    assert table.group(1).strip() == rx.methods_table()


def test_ci_runs_the_readme_test_command():
    readme = (ROOT / "README.md").read_text()
    commands = re.findall(r"```bash\n(.*?)\n```", readme, re.S)
    test_command = next(c for c in commands if "pytest" in c)
    assert test_command.replace("-q ", "") in (ROOT / ".ci/run").read_text().replace("-q ", "")
