"""Times as fixed-width UTC strings whose string order is time order."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from awe.model.times import (
    ZERO_TIME,
    format_time,
    normalise_date,
    now,
    parse_time,
    seconds_between,
)


def test_format_is_utc_with_microseconds() -> None:
    moment = datetime(2024, 5, 1, 10, 2, 3, 45, tzinfo=UTC)
    assert format_time(moment) == "2024-05-01T10:02:03.000045Z"


def test_other_zones_are_converted_to_utc() -> None:
    moment = datetime(2024, 5, 1, 12, 0, tzinfo=timezone(timedelta(hours=2)))
    assert format_time(moment) == "2024-05-01T10:00:00.000000Z"


def test_now_is_in_the_stored_format() -> None:
    text = now()
    assert len(text) == len("2024-05-01T10:02:03.000045Z")
    assert text.endswith("Z")
    assert abs((datetime.now(UTC) - parse_time(text)).total_seconds()) < 5


def test_the_zero_time_parses_to_year_one() -> None:
    assert parse_time(ZERO_TIME) == datetime(1, 1, 1, tzinfo=UTC)


def test_years_before_1000_keep_four_digits() -> None:
    assert format_time(datetime(1, 1, 1, tzinfo=UTC)) == "0001-01-01T00:00:00.000000Z"
    assert normalise_date("0999-12-31") < normalise_date("2024-01-01")


def test_parse_takes_offsets_and_naive_times_as_utc() -> None:
    assert parse_time("2024-05-01T12:00:00+02:00") == datetime(2024, 5, 1, 10, tzinfo=UTC)
    assert parse_time("2024-05-01T10:00:00") == datetime(2024, 5, 1, 10, tzinfo=UTC)
    assert parse_time("2024-05-01T10:00:00Z") == datetime(2024, 5, 1, 10, tzinfo=UTC)


def test_normalise_date_takes_a_day_or_a_full_time() -> None:
    assert normalise_date("2024-05-01") == "2024-05-01T00:00:00.000000Z"
    assert normalise_date("2024-05-01T12:00:00+02:00") == "2024-05-01T10:00:00.000000Z"


@pytest.mark.parametrize("bad", ["yesterday", "2024-13-01", "2024/05/01", ""])
def test_normalise_date_names_a_bad_value(bad: str) -> None:
    with pytest.raises(ValueError) as caught:
        normalise_date(bad)
    assert str(caught.value) == f"Invalid datetime format: {bad}"


def test_seconds_between() -> None:
    assert seconds_between("2024-05-01T10:00:00.000000Z", "2024-05-01T10:01:30.500000Z") == 90.5
    assert seconds_between("2024-05-01T10:01:00.000000Z", "2024-05-01T10:00:00.000000Z") == -60


moments = st.datetimes(
    min_value=datetime(1, 1, 1), max_value=datetime(9999, 12, 31), timezones=st.just(UTC)
)


@given(moments, moments)
def test_string_order_is_time_order(first: datetime, second: datetime) -> None:
    a, b = format_time(first), format_time(second)
    assert len(a) == len(b) == 27
    assert (a < b) == (first < second)
    assert parse_time(a) == first
