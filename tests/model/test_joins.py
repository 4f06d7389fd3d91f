"""A split task's datastore outputs: the task completes only once the server joined the parts."""

from __future__ import annotations

from awe.model import lifecycle as lc
from awe.model import operations as ops
from awe.model.job import JobState, TaskState
from awe.model.lifecycle import Effects, Settings
from tests.model.scripts import JOB_ID, parse, script, task, tid, wid

DS = "http://awe.test:8001/data"
SETTINGS = Settings(max_work_failure=3, datastore_url=DS)
T1, T2, T3 = (f"2024-05-01T10:0{i}:00.000000Z" for i in (1, 2, 3))


def split_done() -> tuple:
    """Task 0 split in 3 (all ranks done), task 1 reads its output."""
    job = parse(script(task("0", totalwork=3), task("1", "0")))
    lc.admit(job, T1, SETTINGS)
    effects = Effects()
    for rank in (1, 2, 3):
        assert lc.checkout(job, wid("0", rank), "w", T2)
        _, effects = lc.report(job, wid("0", rank), "w", "done", computetime=1, notes="",
                               now=T2, settings=SETTINGS)  # fmt: skip
    return job, effects


def test_the_last_rank_asks_for_a_join_and_nothing_downstream_runs_yet() -> None:
    job, effects = split_done()
    assert effects.join_parts == [tid("0")]
    assert effects.offer == [] and job.tasks[1].state == TaskState.PENDING


def test_the_consumer_reads_the_joined_file_from_the_datastore() -> None:
    job, _ = split_done()
    effects = lc.parts_joined(job, tid("0"), {"out0": 7}, T3, SETTINGS)
    assert effects.offer == [wid("1")]
    assert job.tasks[1].inputs[0] == {
        "filename": "out0", "origin": "0", "node": "-", "url": f"{DS}/{JOB_ID}/0/out0",
        "datastore": True, "size": 7,
    }  # fmt: skip


def test_a_join_that_lands_after_a_suspension_is_redone_at_resume() -> None:
    job, _ = split_done()
    lc.suspend(job, "manually suspended", T3, Effects())
    assert lc.parts_joined(job, tid("0"), {"out0": 7}, T3, SETTINGS) == Effects()
    assert job.tasks[0].state == TaskState.SUSPEND
    effects = ops.resume(job, T3, SETTINGS)
    assert effects.join_parts == [tid("0")]


def test_a_restart_between_the_last_report_and_the_join_joins_again() -> None:
    job, _ = split_done()
    effects, _ = ops.recover(job, T3, SETTINGS)
    assert effects.join_parts == [tid("0")]
    lc.parts_joined(job, tid("0"), {"out0": 7}, T3, SETTINGS)
    assert ops.recover(job, T3, SETTINGS)[0].join_parts == []


def test_a_join_for_a_deleted_job_changes_nothing() -> None:
    job, _ = split_done()
    ops.delete(job, T3)
    assert lc.parts_joined(job, tid("0"), {"out0": 7}, T3, SETTINGS) == Effects()
    assert job.state == JobState.DELETED


def test_unsplit_tasks_and_outputs_elsewhere_need_no_join() -> None:
    job = parse(script(task("0", totalwork=3, outputs=[{"filename": "x", "url": "http://e/x"}])))
    lc.admit(job, T1, SETTINGS)
    assert not lc.needs_join(job.tasks[0])
    single = parse(script(task("0")))
    lc.admit(single, T1, SETTINGS)
    assert not lc.needs_join(single.tasks[0])


def test_names_are_quoted_in_datastore_urls() -> None:
    job = parse(script(task("0", outputs=[{"filename": "a b#c.txt"}])))
    lc.admit(job, T1, SETTINGS)
    assert job.tasks[0].outputs[0]["url"] == f"{DS}/{JOB_ID}/0/a%20b%23c.txt"
