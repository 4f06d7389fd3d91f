"""Range headers: one range, the whole file for what we do not understand, 416 past the end."""

from __future__ import annotations

import pytest

from awe.model.byteranges import RangeNotSatisfiable, content_range, parse_range


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("bytes=0-9", (0, 10)),
        ("bytes=5-", (5, 100)),
        ("bytes=-10", (90, 100)),
        ("bytes=-500", (0, 100)),
        ("bytes=90-500", (90, 100)),
        ("BYTES = 1 - 2", (1, 3)),
        (None, None),
        ("", None),
        ("items=0-1", None),
        ("bytes=0-1,5-6", None),
        ("bytes=9-3", None),
        ("bytes=-", None),
    ],
)
def test_parse_range(header, expected) -> None:
    assert parse_range(header, 100) == expected


@pytest.mark.parametrize("header", ["bytes=100-", "bytes=150-160", "bytes=-0"])
def test_past_the_end_is_not_satisfiable(header) -> None:
    with pytest.raises(RangeNotSatisfiable):
        parse_range(header, 100)


def test_an_empty_file_has_no_satisfiable_range() -> None:
    with pytest.raises(RangeNotSatisfiable):
        parse_range("bytes=0-", 0)


def test_content_range_names_the_last_byte() -> None:
    assert content_range(10, 20, 100) == "bytes 10-19/100"
