"""Paths built from job input cannot leave their root."""

from __future__ import annotations

from pathlib import Path

import pytest

from awe.paths import PathEscape, inside, within


def test_inside_joins_and_resolves(tmp_path: Path) -> None:
    assert inside(tmp_path, "job", "0", "out.txt") == tmp_path.resolve() / "job/0/out.txt"
    assert inside(tmp_path) == tmp_path.resolve()


@pytest.mark.parametrize(
    "parts",
    [("..",), ("job", "..", ".."), ("/etc/passwd",), ("a/../../b",), ("x\x00y",)],
)
def test_inside_refuses_escapes(tmp_path: Path, parts: tuple[str, ...]) -> None:
    with pytest.raises(PathEscape):
        inside(tmp_path / "root", *parts)


def test_inside_refuses_a_symlink_out_of_the_root(tmp_path: Path) -> None:
    root = tmp_path / "root"
    root.mkdir()
    (root / "link").symlink_to(tmp_path)
    with pytest.raises(PathEscape):
        inside(root, "link", "secret")


def test_within_accepts_any_listed_root(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    assert within(tmp_path / "b" / "f", [tmp_path / "a", tmp_path / "b"]).name == "f"
    with pytest.raises(PathEscape, match="outside the allowed roots"):
        within(tmp_path / "c" / "f", [tmp_path / "a", tmp_path / "b"])
    with pytest.raises(PathEscape):
        within(tmp_path / "a" / ".." / "c", [tmp_path / "a"])
