"""What a JobActor keeps between snapshots: nothing but its job, until something changes.

100,000 live jobs mostly wait for nothing, so the containers of what the next snapshot writes
exist only while changes wait; these tests check that they are made when first used, still
collect everything, and go again once handed on.
"""

from __future__ import annotations

import concurrent.futures
import json
from typing import Any

from awe.actors.jobparts import ChangeTracker, JobContext, data_effects
from awe.events import EventBus
from awe.model import lifecycle as lc
from awe.model.effects import Effects
from awe.model.lifecycle import Settings
from tests.model.scripts import parse, script, task

SETTINGS = Settings(max_work_failure=2, datastore_url="http://awe.test:8001/data")
T = "2024-05-01T10:02:00.000000Z"


def waiting(tracker: ChangeTracker) -> tuple[Any, ...]:
    return (tracker._tasks, tracker._units, tracker._dropped)


def test_a_tracker_holds_nothing_until_something_changes() -> None:
    job = parse(script(task("0"), task("1", "0")))
    tracker = ChangeTracker(job, saved=True)
    assert waiting(tracker) == (None, None, None)
    assert not hasattr(tracker, "__dict__")
    part, rows, removed = tracker.collect()  # nothing changed: the job's fields alone
    assert (part.tasks, rows, removed, part.whole) == ({}, [], [], False)


def test_changes_are_collected_once_and_then_let_go_of() -> None:
    job = parse(script(task("0"), task("1", "0")))
    lc.admit(job, T, SETTINGS)
    tracker = ChangeTracker(job, saved=True)
    effects = Effects()
    wuid = f"{job.tasks[0].id}_0"
    assert lc.checkout(job, wuid, "c1", T, effects)
    tracker.add(effects)
    tracker.add(Effects(dropped=["gone_1"]))  # a second change adds to the first
    part, rows, removed = tracker.collect()
    assert list(part.tasks) == [0]
    assert json.loads(part.tasks[0])["state"] == "in-progress"
    assert [(row["wuid"], row["client"]) for row in rows] == [(wuid, "c1")]
    assert removed == ["gone_1"]
    assert waiting(tracker) == (None, None, None)
    assert tracker.collect()[1:] == ([], [])  # written once


def test_a_new_job_is_written_whole() -> None:
    job = parse(script(task("0"), task("1", "0")))
    tracker = ChangeTracker(job, saved=False)
    part, _, _ = tracker.collect()
    assert part.whole and sorted(part.tasks) == [0, 1]
    assert not tracker.collect()[0].whole


def test_joins_in_flight_are_made_on_the_first_and_kept() -> None:
    job = parse(script(task("0", totalwork=2), task("1", totalwork=2)))
    lc.admit(job, T, SETTINGS)
    pool = concurrent.futures.ThreadPoolExecutor(1)
    joined: list[str] = []
    ctx = JobContext(queue=None, registry=None, snapshots=None, settings=SETTINGS,
                     events=EventBus(), io_pool=pool,
                     join_parts=lambda job_id, task_id, names, ranks: joined.append(task_id) or {})  # fmt: skip
    first, second = (t.id for t in job.tasks)
    assert data_effects(ctx, None, job, Effects(), None) is None  # nothing to join: nothing made
    joining = data_effects(ctx, None, job, Effects(join_parts=[first]), None)
    assert joining == {first: None}
    again = data_effects(ctx, None, job, Effects(join_parts=[first, second]), joining)
    assert again is joining and joining == {first: None, second: None}
    pool.shutdown(wait=True)
    assert joined == ["0", "1"]  # the task joining already was not handed out again
