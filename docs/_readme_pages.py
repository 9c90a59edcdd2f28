"""Pages read from the README: its generated tables and its benchmark sections."""

from __future__ import annotations

import pathlib
import re

ROOT = pathlib.Path(__file__).resolve().parent.parent


def _readme() -> str:
    return (ROOT / "README.md").read_text()


def readme_table(marker: str) -> list[dict[str, str]]:
    """Rows of the first Markdown table between ``<!-- marker:start/end -->`` in the README."""
    match = re.search(rf"<!-- {marker}:start -->\n(.*?)<!-- {marker}:end -->", _readme(), re.S)
    if match is None:
        return []
    lines = [ln for ln in match.group(1).splitlines() if ln.startswith("|")]
    if len(lines) < 2:
        return []
    header = [c.strip() for c in lines[0].strip("|").split("|")]
    rows = []
    for line in lines[2:]:
        cells = [c.strip() for c in line.strip("|").split("|")]
        if len(cells) == len(header) and not set(cells[0]) <= set("-"):
            rows.append(dict(zip(header, cells)))
        elif cells and set("".join(cells)) <= set("-| "):
            break  # a second table starts after this one
    return rows


def readme_sections() -> list[tuple[str, str]]:
    """The README's ``## `` sections as (title, body), fenced code blocks kept whole."""
    sections: list[tuple[str, list[str]]] = []
    fenced = False
    for line in _readme().splitlines():
        if line.startswith("```"):
            fenced = not fenced
        if not fenced and line.startswith("## "):
            sections.append((line[3:].strip(), []))
        elif sections:
            sections[-1][1].append(line)
    return [(title, "\n".join(body).strip() + "\n") for title, body in sections]


def benchmarks_page() -> str:
    """Every README section that holds a generated benchmark table (``<!-- *-table:start``),
    except the estimators' own table, embedded as it is."""
    parts = [
        "# Benchmarks\n",
        "The README's benchmark sections, embedded as they are (each table is written by the "
        "script named above it; rerun the script to refresh it). Timings are on a 2-core CPU "
        "shared with other jobs: compare ratios measured in the same run, not absolute "
        "times across sections.\n",
    ]
    for title, body in readme_sections():
        markers = re.findall(r"<!-- ([\w-]+)-table:start -->", body)
        if markers and markers != ["methods"]:
            # The README links figures from the repository root; this page sits in
            # docs/generated/, so a README path docs/x is ../x from here.
            body = body.replace("](docs/", "](../")
            parts.append(f"## {title}\n\n{body}")
    return "\n".join(parts)
