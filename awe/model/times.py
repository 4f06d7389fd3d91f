"""Times as fixed-width RFC 3339 UTC strings, so that string order is time order in every store."""

from __future__ import annotations

import re
from datetime import UTC, datetime

ZERO_TIME = "0001-01-01T00:00:00Z"
_FORMAT = "-%m-%dT%H:%M:%S.%fZ"  # after the year: strftime's %Y is not padded below 1000
_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def format_time(moment: datetime) -> str:
    utc = moment.astimezone(UTC)
    return f"{utc.year:04d}{utc.strftime(_FORMAT)}"


def now() -> str:
    return format_time(datetime.now(UTC))


def parse_time(text: str) -> datetime:
    """Parse a time this module wrote, or any RFC 3339 time a user gives."""
    if text == ZERO_TIME:
        return datetime(1, 1, 1, tzinfo=UTC)
    value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def normalise_date(text: str) -> str:
    """`YYYY-MM-DD` or RFC 3339 → the stored format; ValueError names the value (spec 8.4)."""
    try:
        if _DAY.match(text):
            return format_time(datetime.strptime(text, "%Y-%m-%d").replace(tzinfo=UTC))
        return format_time(parse_time(text))
    except ValueError as err:
        raise ValueError(f"Invalid datetime format: {text}") from err


def seconds_between(start: str, end: str) -> float:
    return (parse_time(end) - parse_time(start)).total_seconds()
