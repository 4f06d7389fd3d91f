"""The line index: built in pieces, it finds every line start the whole file would show."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from awe.model.lineindex import LineIndex, LineIndexer, line_start_finder, share_bounds
from awe.model.shares import bytes_line_start, line_share

lines = st.lists(st.binary(max_size=12).map(lambda b: b.replace(b"\n", b"x")), max_size=40)


@st.composite
def files(draw: st.DrawFn) -> bytes:
    """Text of random lines, sometimes without a final newline."""
    body = b"\n".join(draw(lines))
    return body + (b"\n" if body and draw(st.booleans()) else b"")


def build(data: bytes, chunk: int, cuts: list[int]) -> LineIndex:
    indexer = LineIndexer(chunk)
    at = 0
    for cut in sorted(set(c % (len(data) + 1) for c in cuts)) + [len(data)]:
        indexer.feed(data[at:cut])
        at = max(at, cut)
    return indexer.finish()


def brute_starts(data: bytes, chunk: int) -> list[int]:
    find = bytes_line_start(data)
    return [find(k * chunk) for k in range(-(-len(data) // chunk))]


def split_lines(data: bytes) -> list[bytes]:
    """Lines as the index counts them: ended by \\n only (bytes.splitlines also splits at \\r)."""
    parts = data.split(b"\n")
    if parts[-1] == b"":
        parts.pop()
    return parts


def reader(data: bytes):
    return lambda offset, length: data[offset : offset + length]


@given(files(), st.integers(1, 50), st.lists(st.integers(0, 10_000), max_size=6))
def test_starts_match_the_first_line_start_of_each_chunk(data, chunk, cuts) -> None:
    index = build(data, chunk, cuts)
    assert index.size == len(data)
    assert index.starts == brute_starts(data, chunk)
    assert index.lines == len(split_lines(data))


@given(files(), st.integers(1, 50))
def test_the_finder_agrees_with_the_bytes_for_every_position(data, chunk) -> None:
    index = build(data, chunk, [])
    find = line_start_finder(index, reader(data))
    expected = bytes_line_start(data)
    assert [find(p) for p in range(len(data) + 2)] == [expected(p) for p in range(len(data) + 2)]


@settings(max_examples=200)
@given(files(), st.integers(1, 40), st.integers(1, 9))
def test_every_line_lands_in_exactly_one_rank_in_order(data, chunk, totalwork) -> None:
    index = build(data, chunk, [])
    bounds = [share_bounds(index, r, totalwork, reader(data)) for r in range(1, totalwork + 1)]
    assert bounds[0][0] == 0 and bounds[-1][1] == len(data)
    assert all(a[1] == b[0] for a, b in zip(bounds, bounds[1:], strict=False))  # contiguous
    shares = [data[s:e] for s, e in bounds]
    assert b"".join(shares) == data
    assert [line for share in shares for line in split_lines(share)] == split_lines(data)
    for start, _ in bounds:  # every share begins at a line start
        assert start == 0 or data[start - 1 : start] == b"\n" or start == len(data)
    assert shares == [line_share(data, r, totalwork) for r in range(1, totalwork + 1)]


def test_the_finder_reads_at_most_one_chunk() -> None:
    data = b"".join(f"line {i}\n".encode() for i in range(10_000))
    index = build(data, 4096, [])
    reads: list[int] = []

    def counting(offset: int, length: int) -> bytes:
        reads.append(length)
        return data[offset : offset + length]

    find = line_start_finder(index, counting)
    for p in range(0, len(data), 997):
        find(p)
    assert max(reads) <= 4096


def test_a_long_line_spanning_chunks_gives_them_all_its_end() -> None:
    index = build(b"a" * 10 + b"\nb\n", 3, [])
    assert index.starts == [0, 11, 11, 11, 13]
    assert index.lines == 2


def test_index_round_trips_through_its_document() -> None:
    index = build(b"x\ny\n", 2, [])
    assert LineIndex.from_doc(index.to_doc()) == index


def test_empty_file_has_no_chunks() -> None:
    assert build(b"", 8, []) == LineIndex(8, 0, 0, [])


def test_chunk_must_be_positive() -> None:
    with pytest.raises(ValueError):
        LineIndexer(0)
