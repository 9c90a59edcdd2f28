"""Writes the documentation pages that are derived from the library, never kept by hand.

Everything here reads ``reparax.__all__``, the registry (``reparax._registry.BUILTIN`` and
the :class:`~reparax.Estimator` values' metadata) and the README's generated benchmark
tables, so a name or an estimator added to the library appears on the site without an
edit here. ``docs/conf.py`` calls :func:`write_all` before Sphinx reads the sources;
``tests/test_docs.py`` calls :func:`api_pages` and :func:`public_names` to check that every
public name has a docstring and a page, without building the site.

Generated pages go to ``docs/generated/`` (git-ignored).
"""

from __future__ import annotations

import pathlib
import shutil

from _api_pages import api_pages, group_names, public_names
from _readme_pages import benchmarks_page, readme_table
from _which_estimator import which_estimator_page

DOCS = pathlib.Path(__file__).resolve().parent
ROOT = DOCS.parent
GENERATED = DOCS / "generated"

__all__ = [
    "all_pages",
    "api_pages",
    "benchmarks_page",
    "group_names",
    "public_names",
    "readme_table",
    "which_estimator_page",
    "write_all",
]


def all_pages() -> dict[str, str]:
    pages = api_pages()
    pages["which_estimator.md"] = which_estimator_page()
    pages["benchmarks.md"] = benchmarks_page()
    return pages


def write_all() -> None:
    """(Re)writes ``docs/generated/``: the pages above and the notebooks (the gallery)."""
    shutil.rmtree(GENERATED, ignore_errors=True)
    for path, text in all_pages().items():
        target = GENERATED / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text)
    gallery = GENERATED / "gallery"
    gallery.mkdir(parents=True, exist_ok=True)
    notebooks = sorted((ROOT / "notebooks").glob("*.ipynb"))
    for notebook in notebooks:
        shutil.copy(notebook, gallery / notebook.name)
    entries = "\n".join(n.stem for n in notebooks)
    (gallery / "index.md").write_text(
        "# Example gallery\n\nThe notebooks in `notebooks/` (Colab-ready; the test suite runs "
        "each top to bottom). Shown as stored, without running them here.\n\n"
        f"```{{toctree}}\n:maxdepth: 1\n\n{entries}\n```\n"
    )
