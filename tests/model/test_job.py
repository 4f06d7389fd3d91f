"""Job records: the changed mark a snapshot relies on to write only what changed; history rows."""

from dataclasses import replace

from awe.events import make
from awe.model.history import expand, row
from awe.model.job import WorkState, Workunit


def test_a_workunit_is_marked_changed_by_any_assignment_and_cleared_by_the_writer() -> None:
    unit = Workunit.from_doc({"rank": 2, "state": "queued"})
    assert unit.changed  # new to whoever holds it: not yet written
    unit.changed = False
    unit.failed = unit.failed  # even the same value: a cheap, safe over-approximation
    assert unit.changed
    unit.changed = False
    unit.state = WorkState.CHECKOUT
    assert unit.changed and unit.state == "checkout"
    assert "changed" not in unit.to_doc()


def test_history_rows_expand_back_to_the_events_they_were() -> None:
    job_id = "0b6c1f1e-5d7a-4c52-9a43-1f2e3d4c5b6a"
    events = [
        replace(
            make(kind, subject, "a", "b", "req-1", job_id=job_id, owner="ana", detail="d"), id=n
        )  # fmt: skip
        for n, (kind, subject) in enumerate(
            [("job", job_id), ("task", f"{job_id}_0"), ("workunit", f"{job_id}_0_3")]
        )  # fmt: skip
    ]
    rows = [row(e) for e in events]
    assert [r[3] for r in rows] == ["", "_0", "_0_3"]  # the job id is not stored again
    assert expand(rows, job_id, "ana") == [e.to_json() for e in events]
