"""Job records: history rows."""

from dataclasses import replace

from awe.events import make
from awe.model.history import expand, row


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
