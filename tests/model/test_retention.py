"""Retention: durations, and which jobs' files may go."""

from __future__ import annotations

import pytest

from awe.model.retention import data_expired, parse_duration


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("30d", 30 * 86400), ("12h", 43200), ("90m", 5400), ("45s", 45), ("2w", 1209600),
     ("10", 10), ("1.5h", 5400), ("", None), ("0", None), ("never", None)],
)  # fmt: skip
def test_parse_duration(text, seconds) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["soon", "3y", "-1d", "1 d 2h"])
def test_bad_durations_are_refused(text) -> None:
    with pytest.raises(ValueError, match="not a duration"):
        parse_duration(text)


def test_finished_jobs_expire_after_the_retention() -> None:
    assert data_expired("completed", 1000.0, 1000.0 + 60, 60)
    assert not data_expired("completed", 1000.0, 1000.0 + 59, 60)
    assert data_expired("deleted", 1000.0, 2000.0, 60)
    assert data_expired(None, 1000.0, 2000.0, 60)  # a folder whose job the store does not know


@pytest.mark.parametrize("state", ["init", "queued", "in-progress", "suspend"])
def test_unfinished_jobs_keep_their_data(state) -> None:
    assert not data_expired(state, 0.0, 1e12, 60)
