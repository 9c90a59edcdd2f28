"""Every notebook runs top to bottom (the outputs users see are produced by this code)."""

import pathlib

import nbformat
import pytest
from nbclient import NotebookClient

NOTEBOOKS = sorted((pathlib.Path(__file__).parent.parent / "notebooks").glob("*.ipynb"))


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_runs(path, tmp_path):
    notebook = nbformat.read(path, as_version=4)
    client = NotebookClient(
        notebook, timeout=300, kernel_name="python3", resources={"metadata": {"path": tmp_path}}
    )
    client.execute()


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_first_code_cell_installs_from_the_checkout_or_the_index(path, tmp_path):
    """Colab: no URL that exists nowhere else; the checkout the notebook sits in, else the
    package index name. The cell's choice of source is run here with reparax 'missing'."""
    notebook = nbformat.read(path, as_version=4)
    cell = next(c for c in notebook.cells if c.cell_type == "code")
    assert "http" not in cell.source and "git+" not in cell.source
    calls = []
    code = cell.source.replace('importlib.util.find_spec("reparax") is None', "True")
    code = code.replace("subprocess.run(", "record(")
    for cwd, expected in [
        (path.parent, f"{path.parent.parent.resolve()}[notebooks]"),
        (tmp_path / "x", "reparax[notebooks]"),
    ]:
        cwd.mkdir(exist_ok=True)
        calls.clear()
        monkey = pytest.MonkeyPatch()
        monkey.chdir(cwd)
        try:
            exec(code, {"record": lambda args, **kwargs: calls.append(args)})
        finally:
            monkey.undo()
        (args,) = calls
        assert args[-1] == expected
