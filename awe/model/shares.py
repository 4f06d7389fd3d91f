"""Line shares of a split input: which bytes of a file rank r of N works on (decision D18).

Ranks 1..N get contiguous, record-aligned (by line) byte ranges of roughly equal size; every line
lands in exactly one rank, in order. A line belongs to the rank whose raw byte range holds the
line's first byte, so the ranges are `[start(r), start(r + 1))` with `start` moved forward to the
next line start. Pure logic: the caller supplies how to find a line start, so the same code works
on bytes in memory and on a file on disk.
"""

from __future__ import annotations

from collections.abc import Callable


def raw_range(size: int, rank: int, totalwork: int) -> tuple[int, int]:
    """Unaligned byte range of `rank` (1-based) out of `totalwork`: equal slices of `size`."""
    _check(size, rank, totalwork)
    if rank == 0:
        return 0, size
    return size * (rank - 1) // totalwork, size * rank // totalwork


def share_range(
    size: int, rank: int, totalwork: int, line_start: Callable[[int], int]
) -> tuple[int, int]:
    """Aligned byte range of `rank`; `line_start(p)` is the first line start at or after `p`.

    A line start is 0 or the offset just after a newline; `line_start(size)` is `size`.
    Rank 0 (an unsplit workunit) gets the whole file.
    """
    lo, hi = raw_range(size, rank, totalwork)
    if rank == 0:
        return 0, size
    start = 0 if lo == 0 else line_start(lo)
    end = size if hi >= size else line_start(hi)
    return start, max(start, end)


def bytes_line_start(data: bytes) -> Callable[[int], int]:
    """`line_start` for data held in memory."""

    def line_start(pos: int) -> int:
        if pos <= 0:
            return 0
        if pos >= len(data):
            return len(data)
        if data[pos - 1 : pos] == b"\n":
            return pos
        newline = data.find(b"\n", pos)
        return len(data) if newline < 0 else newline + 1

    return line_start


def line_share(data: bytes, rank: int, totalwork: int) -> bytes:
    """The bytes of `data` that `rank` of `totalwork` works on."""
    start, end = share_range(len(data), rank, totalwork, bytes_line_start(data))
    return data[start:end]


def _check(size: int, rank: int, totalwork: int) -> None:
    if size < 0:
        raise ValueError(f"size must be >= 0, got {size}")
    if totalwork < 1:
        raise ValueError(f"totalwork must be >= 1, got {totalwork}")
    if not 0 <= rank <= totalwork:
        raise ValueError(f"rank must be in 0..{totalwork}, got {rank}")
