"""The README's permission table is the rights table: generated from it, and kept equal."""

from __future__ import annotations

from pathlib import Path

from awe.model.rightsgrid import markdown

README = Path(__file__).resolve().parent.parent / "README.md"
BEGIN, END = "<!-- rights table: begin -->\n", "<!-- rights table: end -->"


def test_the_readme_shows_the_rights_table_as_it_is() -> None:
    text = README.read_text()
    shown = text[text.index(BEGIN) + len(BEGIN) : text.index(END)]
    assert shown == markdown(), "README's permission table is stale: python -m awe.model.rightsgrid"
