"""Job records: history rows, the task index."""

from dataclasses import replace

from awe.events import make
from awe.model.history import expand, row
from awe.model.job import NO_UNITS, Task, WorkState, Workunit
from tests.model.scripts import chain, parse, script, task, tid


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


def test_a_small_job_keeps_no_task_index_and_a_large_one_builds_it_on_first_use() -> None:
    small, large = parse(chain(3)), parse(chain(20))
    assert small.task(tid("2")) is small.tasks[2] and small.task(tid("x")) is None
    assert small.place(tid("1")) == 1 and small.dependents(tid("1")) == [2]
    assert small._index is None
    assert large._index is None  # nothing looked up yet
    assert large.task(tid("19")) is large.tasks[19] and large.task(tid("x")) is None
    assert large.place(tid("7")) == 7 and large.dependents(tid("7")) == [8]
    assert large._index is not None and len(large._index.by_id) == 20
    large.tasks = large.tasks[:10]  # a new list is indexed anew
    assert large.task(tid("12")) is None and large.place(tid("9")) == 9
    assert large.dependents(tid("9")) == []


def test_tasks_share_one_read_only_empty_units_until_a_rank_is_kept() -> None:
    job = parse(script(task("0", totalwork=3), task("1", totalwork=3)))
    first, second = job.tasks
    assert first.units is NO_UNITS and second.units is NO_UNITS
    first.split = second.split = 3
    kept = first.keep(Workunit(rank=2, state=WorkState.CHECKOUT, client="c1"))
    assert first.units == {2: kept} and first.unit(2) is kept
    assert second.units is NO_UNITS and len(NO_UNITS) == 0  # the shared one is unchanged
    first.keep(Workunit(rank=1, failed=1))
    assert sorted(first.units) == [1, 2]
    assert Task.from_doc(first.to_doc()).units == first.units
    assert Task.from_doc(second.to_doc()).units is NO_UNITS
