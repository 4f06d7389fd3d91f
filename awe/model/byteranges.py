"""HTTP `Range: bytes=...` requests (RFC 9110 §14): which bytes of a file to send.

One range per request, which is what resuming a download and fetching a rank's share need.
A header we do not understand (another unit, several ranges, bad syntax) is ignored and the
whole file is sent, as the RFC allows; a range that starts past the end is unsatisfiable (416).
"""

from __future__ import annotations

import re

_RANGE = re.compile(r"^\s*bytes\s*=\s*(\d*)\s*-\s*(\d*)\s*$", re.IGNORECASE)


class RangeNotSatisfiable(ValueError):
    """The range starts at or past the end of the file (answer 416)."""


def parse_range(header: str | None, size: int) -> tuple[int, int] | None:
    """(start, end exclusive) to send, or None for the whole file."""
    if not header:
        return None
    match = _RANGE.match(header)
    if match is None:
        return None
    first, last = match.group(1), match.group(2)
    if first == "" and last == "":
        return None
    if first == "":  # the last N bytes
        suffix = int(last)
        if suffix == 0 or size == 0:
            raise RangeNotSatisfiable(f"bytes=-{suffix} of a {size}-byte file")
        return max(0, size - suffix), size
    start = int(first)
    end = size if last == "" else int(last) + 1
    if last != "" and end <= start:
        return None  # invalid: ignored
    if start >= size:
        raise RangeNotSatisfiable(f"bytes={start}- of a {size}-byte file")
    return start, min(end, size)


def content_range(start: int, end: int, size: int) -> str:
    """The `Content-Range` value of a 206 answer for [start, end)."""
    return f"bytes {start}-{end - 1}/{size}"
