"""How long the datastore keeps a finished job's files (`datastore.retention`)."""

from __future__ import annotations

import re

from awe.model.job import FINISHED_JOB_STATES

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhdw]?)\s*$")


def parse_duration(text: str) -> float | None:
    """Seconds in "30d", "12h", "90m", "45s", "2w" (a bare number is seconds); "" keeps forever."""
    if text is None or str(text).strip() in ("", "0", "never", "forever"):
        return None
    match = _DURATION.match(str(text))
    if match is None:
        raise ValueError(f"not a duration: {text!r} (use e.g. 30d, 12h, 90m, 45s)")
    seconds = float(match.group(1)) * _UNITS[match.group(2) or "s"]
    return seconds if seconds > 0 else None


def data_expired(state: str | None, finished_at: float | None, now: float, keep_s: float) -> bool:
    """A job's files may go: it is finished (or unknown) and has been for `keep_s` seconds."""
    if state is not None and state not in FINISHED_JOB_STATES:
        return False
    if finished_at is None:
        return False
    return now - finished_at >= keep_s
