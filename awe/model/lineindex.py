"""Where a stored file's lines start, so that a split rank can fetch only its byte range (D18).

Shock kept a "chunkrecord" index for AWE: record-aligned chunks of about 1 MiB. We keep the same
idea: `starts[k]` is the first line start at or after byte `k * chunk`. It is built while the
file streams in (`LineIndexer.feed`), costs 8 bytes per MiB, and answers "first line start at
or after p" for any p with a read of at most one chunk (`line_start_finder`), so that the shares
of `awe.model.shares` are computed on the server without reading the whole file.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from awe.model.shares import share_range

DEFAULT_CHUNK = 1 << 20
SCAN_BLOCK = 64 * 1024

ReadAt = Callable[[int, int], bytes]  # (offset, length) -> the bytes there (may be shorter)


@dataclass
class LineIndex:
    """A file's size, line count and chunk-record starts."""

    chunk: int
    size: int = 0
    lines: int = 0
    starts: list[int] = field(default_factory=list)  # one per chunk: ceil(size / chunk)

    def to_doc(self) -> dict[str, Any]:
        return {"chunk": self.chunk, "size": self.size, "lines": self.lines, "starts": self.starts}

    @classmethod
    def from_doc(cls, doc: dict[str, Any]) -> LineIndex:
        return cls(int(doc["chunk"]), int(doc["size"]), int(doc["lines"]), list(doc["starts"]))


class LineIndexer:
    """Builds a `LineIndex` from a file fed in pieces of any size, in order."""

    def __init__(self, chunk: int = DEFAULT_CHUNK) -> None:
        if chunk < 1:
            raise ValueError(f"chunk must be >= 1, got {chunk}")
        self.chunk = chunk
        self._offset = 0
        self._newlines = 0
        self._last = b""
        self._starts: list[int] = []

    def feed(self, data: bytes) -> None:
        """Take the next `len(data)` bytes of the file."""
        if not data:
            return
        off, end = self._offset, self._offset + len(data)
        self._newlines += data.count(b"\n")
        starts, chunk = self._starts, self.chunk
        while True:
            target = len(starts) * chunk
            if target == 0:
                starts.append(0)
                continue
            if target - 1 >= end:  # the byte before the target is not here yet
                break
            newline = data.find(b"\n", max(target - 1 - off, 0))
            if newline < 0:
                break
            line_start = off + newline + 1
            while len(starts) * chunk <= line_start:  # every chunk this line spans starts here
                starts.append(line_start)
        self._offset = end
        self._last = data[-1:]

    def finish(self) -> LineIndex:
        """The index of everything fed so far."""
        size = self._offset
        count = -(-size // self.chunk)
        starts = self._starts[:count] + [size] * max(0, count - len(self._starts))
        lines = self._newlines + (1 if size and self._last != b"\n" else 0)
        return LineIndex(self.chunk, size, lines, starts)


def line_start_finder(index: LineIndex, read_at: ReadAt) -> Callable[[int], int]:
    """`line_start(p)`: the first line start at or after `p`, reading at most one chunk."""
    size, chunk, starts = index.size, index.chunk, index.starts

    def line_start(pos: int) -> int:
        if pos <= 0:
            return 0
        if pos >= size:
            return size
        k = pos // chunk
        if starts[k] >= pos:  # no line starts between the chunk's start and its first record
            return starts[k]
        return scan_line_start(read_at, pos, starts[k + 1] if k + 1 < len(starts) else size)

    return line_start


def scan_line_start(read_at: ReadAt, pos: int, limit: int) -> int:
    """The first line start at or after `pos` (> 0), reading forward from `pos - 1`; `limit`
    when no newline comes before it."""
    at = pos - 1
    while at < limit:
        block = read_at(at, min(SCAN_BLOCK, limit - at))
        if not block:
            break
        newline = block.find(b"\n")
        if newline >= 0:
            return at + newline + 1
        at += len(block)
    return limit


def share_bounds(index: LineIndex, rank: int, totalwork: int, read_at: ReadAt) -> tuple[int, int]:
    """Byte range [start, end) of `rank`'s line share, the same as `shares.share_range` gives."""
    return share_range(index.size, rank, totalwork, line_start_finder(index, read_at))
