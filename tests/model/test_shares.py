"""Line shares of a split input: every line exactly once over all ranks, in order."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from awe.model.shares import bytes_line_start, line_share, raw_range, share_range


def test_raw_ranges_cover_the_file_in_equal_slices() -> None:
    assert [raw_range(10, r, 3) for r in (1, 2, 3)] == [(0, 3), (3, 6), (6, 10)]


def test_rank_zero_gets_the_whole_file() -> None:
    assert line_share(b"a\nb\n", 0, 1) == b"a\nb\n"


def test_a_line_belongs_to_the_rank_holding_its_first_byte() -> None:
    data = b"aaaa\nbb\ncccccc\n"  # 15 bytes: raw slices 0-5, 5-10, 10-15
    shares = [line_share(data, r, 3) for r in (1, 2, 3)]
    assert shares == [b"aaaa\n", b"bb\ncccccc\n", b""]


def test_more_ranks_than_lines_leaves_some_ranks_empty() -> None:
    data = b"one\ntwo\n"
    shares = [line_share(data, r, 5) for r in range(1, 6)]
    assert b"".join(shares) == data
    assert shares.count(b"") >= 3


def test_a_last_line_without_newline_is_kept() -> None:
    data = b"x\ny\nzzz"
    assert b"".join(line_share(data, r, 2) for r in (1, 2)) == data
    assert line_share(data, 2, 2).endswith(b"zzz")


def test_line_start_finds_the_next_line() -> None:
    find = bytes_line_start(b"ab\ncd\n")
    assert [find(p) for p in range(7)] == [0, 3, 3, 3, 6, 6, 6]


@pytest.mark.parametrize(("rank", "total"), [(2, 1), (-1, 3), (4, 3), (1, 0)])
def test_bad_rank_or_totalwork_is_refused(rank: int, total: int) -> None:
    with pytest.raises(ValueError):
        raw_range(10, rank, total)


lines = st.lists(st.binary(max_size=12).map(lambda b: b.replace(b"\n", b"")), max_size=40)


@given(lines=lines, last_newline=st.booleans(), totalwork=st.integers(1, 12))
def test_every_line_lands_in_exactly_one_rank_in_order(
    lines: list[bytes], last_newline: bool, totalwork: int
) -> None:
    data = b"\n".join(lines) + (b"\n" if last_newline and lines else b"")
    shares = [line_share(data, r, totalwork) for r in range(1, totalwork + 1)]
    assert b"".join(shares) == data  # contiguous, in order, nothing lost or repeated
    ranges = [
        share_range(len(data), r, totalwork, bytes_line_start(data))
        for r in range(1, totalwork + 1)
    ]
    assert all(a[1] == b[0] for a, b in zip(ranges, ranges[1:], strict=False))
    for _, end in ranges:  # cut only at line ends
        assert end in (0, len(data)) or data[end - 1 : end] == b"\n"


@given(size=st.integers(0, 10_000), totalwork=st.integers(1, 50))
def test_raw_slices_are_roughly_equal(size: int, totalwork: int) -> None:
    lengths = [
        hi - lo for lo, hi in (raw_range(size, r, totalwork) for r in range(1, totalwork + 1))
    ]
    assert sum(lengths) == size
    assert max(lengths) - min(lengths) <= 1
