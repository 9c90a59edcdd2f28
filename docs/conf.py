"""Sphinx configuration: MyST Markdown pages, autodoc (Google docstrings) for the API, the
notebooks rendered as stored (never executed here: the test suite runs them).

Build: ``.venv/bin/python -m sphinx -W --keep-going -b html docs docs/_build/html``.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path
from typing import Any

DOCS = Path(__file__).resolve().parent
sys.path.insert(0, str(DOCS))

import _generate  # noqa: E402  (needs the docs folder on sys.path)

import reparax  # noqa: E402

_generate.write_all()

project = "reparax"
author = "The reparax developers"
copyright = "the reparax developers, Apache-2.0"  # noqa: A001
release = reparax.__version__

extensions = [
    "myst_nb",
    "sphinx.ext.autodoc",
    "sphinx.ext.napoleon",
    "sphinx.ext.mathjax",
    # A bundled MathJax, so the maths renders offline too (the default loads it from a CDN).
    "sphinx-mathjax-offline",
]

# Notebooks: shown with whatever outputs they store; running them is the test suite's job.
nb_execution_mode = "off"
myst_enable_extensions = ["dollarmath", "colon_fence"]
myst_heading_anchors = 3

napoleon_google_docstring = True
napoleon_numpy_docstring = False
# NamedTuple fields are documented by autodoc's :members:; as :ivar: they are not twice.
napoleon_use_ivar = True
autodoc_member_order = "bysource"
autodoc_typehints = "signature"
autodoc_preserve_defaults = True

exclude_patterns = ["_build", "Thumbs.db", ".DS_Store", "**.ipynb_checkpoints"]
html_theme = "furo"
html_title = f"reparax {release}"


# reparax's docstrings write absolute values and norms as |x| in prose; RST would read those
# as substitution references (reparax defines none) and fail the build. Escape the bars in
# prose lines; maths (``.. math::`` blocks, :math: roles) and literals are left as written.
_BARS = re.compile(r"(?<![`\\|\w])\|(?=[^\s|`])([^|`]*?[^\s\\|`])\|(?![`|\w])")


def _escape_bars(app: Any, what: str, name: str, obj: Any, options: Any, lines: list) -> None:
    del app, what, name, obj, options
    math_indent: int | None = None
    for i, line in enumerate(lines):
        indent = len(line) - len(line.lstrip())
        if math_indent is not None and (not line.strip() or indent > math_indent):
            continue
        math_indent = indent if ".. math::" in line else None
        if math_indent is None and ":math:" not in line:
            lines[i] = _BARS.sub(r"\\|\1\\|", line)


def setup(app: Any) -> None:
    app.connect("autodoc-process-docstring", _escape_bars)
