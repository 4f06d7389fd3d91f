"""Expiration of finished jobs (AWE v0.9.30): formats, defaults at completion, the reaper's test."""

from __future__ import annotations

import pytest

from awe.errors import AweError
from awe.model import expiration
from awe.model.job import Job
from awe.model.times import ZERO_TIME

NOW = "2024-05-01T10:00:00.000000Z"


def job(pipeline: str = "mgrast-prod") -> Job:
    return Job(id="j", jid="1", info={"pipeline": pipeline}, tasks=[])


@pytest.mark.parametrize(
    ("spec", "when"),
    [
        ("30M", "2024-05-01T10:30:00.000000Z"),
        ("12H", "2024-05-01T22:00:00.000000Z"),
        ("7D", "2024-05-08T10:00:00.000000Z"),
        ("0D", NOW),
    ],
)
def test_minutes_hours_and_days_from_now(spec: str, when: str) -> None:
    assert expiration.expiry_after(spec, NOW) == when


@pytest.mark.parametrize("spec", ["", "7", "D", "7d", "1W", "-1D", " 7D", "7D ", "1.5H"])
def test_other_formats_are_refused_in_awes_words(spec: str) -> None:
    assert not expiration.valid(spec)
    with pytest.raises(AweError, match=f"^expiration format '{spec}' is invalid$"):
        expiration.expiry_after(spec, NOW)


def test_an_absurd_number_of_days_is_refused() -> None:
    with pytest.raises(AweError, match="too far in the future"):
        expiration.expiry_after("99999999999D", NOW)


def test_completion_sets_the_pipelines_default_then_the_global_one() -> None:
    per_pipeline = {"mgrast-prod": "7D"}
    mgrast, other, keep = job(), job("inbox"), job()
    keep.expiration = "2030-01-01T00:00:00.000000Z"
    for one in (mgrast, other, keep):
        expiration.on_completion(one, NOW, "30D", per_pipeline)
    assert mgrast.expiration == "2024-05-08T10:00:00.000000Z"
    assert other.expiration == "2024-05-31T10:00:00.000000Z"
    assert keep.expiration == "2030-01-01T00:00:00.000000Z"  # set by the user: kept
    never = job("inbox")
    expiration.on_completion(never, NOW, "", per_pipeline)
    assert never.expiration == ZERO_TIME


@pytest.mark.parametrize(
    ("doc", "expired"),
    [
        ({"state": "completed", "expiration": "2024-04-30T00:00:00.000000Z"}, True),
        ({"state": "deleted", "expiration": "2024-04-30T00:00:00.000000Z"}, True),
        ({"state": "completed", "expiration": "2024-05-02T00:00:00.000000Z"}, False),
        ({"state": "completed", "expiration": ZERO_TIME}, False),
        ({"state": "completed"}, False),
        ({"state": "in-progress", "expiration": "2024-04-30T00:00:00.000000Z"}, False),
        (None, False),
    ],
)
def test_the_reaper_takes_only_finished_jobs_past_their_expiration(doc, expired: bool) -> None:
    assert expiration.still_expired(doc, NOW) is expired


def test_times_are_said_the_way_go_prints_them() -> None:
    assert (
        expiration.go_time("2024-05-08T10:00:00.000000Z") == "2024-05-08 10:00:00.000000 +0000 UTC"
    )
