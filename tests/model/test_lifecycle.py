"""A job's life, pure: admit, checkout, report, fail, release, suspend, resume, recompute, …"""

from __future__ import annotations

import copy
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from awe.errors import AweError
from awe.model import lifecycle as lc
from awe.model import operations as ops
from awe.model.job import DONE_TASK_STATES, Job, JobState, TaskState, WorkState
from awe.model.lifecycle import Effects, Settings
from awe.model.times import ZERO_TIME
from awe.model.transitions import StateError
from tests.model.scripts import (
    HELLO,
    JOB_ID,
    SHOCK,
    chain,
    diamond,
    parse,
    sample_42,
    script,
    task,
    tid,
    wid,
)

DS = "http://awe.test:8001/data"
SETTINGS = Settings(max_work_failure=3, datastore_url=DS)
T1 = "2024-05-01T10:01:00.000000Z"
T2 = "2024-05-01T10:02:00.000000Z"
T3 = "2024-05-01T10:03:00.000000Z"
T4 = "2024-05-01T10:04:00.000000Z"


def admitted(doc: dict[str, Any], **kwargs: Any) -> tuple[Job, Effects]:
    job = parse(doc, **kwargs)
    return job, lc.admit(job, T1, SETTINGS)


def report(job: Job, wuid: str, status: str, client: str = "c1", notes: str = "",
           **kwargs: Any) -> tuple[bool, Effects]:  # fmt: skip
    return lc.report(job, wuid, client, status, computetime=kwargs.pop("computetime", 5),
                     notes=notes, now=kwargs.pop("now", T3), settings=SETTINGS, **kwargs)  # fmt: skip


def run(job: Job, wuid: str, client: str = "c1", **kwargs: Any) -> Effects:
    """Check a workunit out and report it done; both must be accepted."""
    assert lc.checkout(job, wuid, client, T2)
    applied, effects = report(job, wuid, "done", client, **kwargs)
    assert applied
    return effects


def fail(job: Job, wuid: str, client: str = "c1", notes: str = "") -> Effects:
    assert lc.checkout(job, wuid, client, T2)
    applied, effects = report(job, wuid, "fail", client, notes)
    assert applied
    return effects


def states(job: Job) -> dict[str, str]:
    return {t.user_taskid: str(t.state) for t in job.tasks}


def unit_of(job: Job, wuid: str) -> Any:
    return lc.find_unit(job, wuid)[1]


def unchanged_by(job: Job, action: Any) -> Any:
    """Run `action` and assert that the job document did not move."""
    before = copy.deepcopy(job.to_doc())
    result = action()
    assert job.to_doc() == before
    return result


def completed(doc: dict[str, Any]) -> Job:
    """A job run to completion, every workunit done by c1."""
    job, effects = admitted(doc)
    todo = list(effects.offer)
    while todo:
        todo.extend(run(job, todo.pop(0)).offer)
    assert job.state == JobState.COMPLETED
    return job


# ---- admission ---------------------------------------------------------------------------------


def test_admit_enqueues_only_the_root_tasks() -> None:
    job, effects = admitted(chain(3))
    assert effects.offer == [wid("0")]
    assert states(job) == {"0": "queued", "1": "pending", "2": "pending"}
    assert job.state == JobState.QUEUED
    root = job.tasks[0]
    assert [u.rank for u in root.workunits] == [0]
    assert (root.createddate, root.starteddate) == (T1, T1)
    assert job.tasks[1].workunits == []


def test_admit_enqueues_every_root_of_a_diamond() -> None:
    job, effects = admitted(diamond())
    assert effects.offer == [wid("a"), wid("e")]
    assert states(job) == {"a": "queued", "b": "pending", "c": "pending", "d": "pending",
                           "e": "queued"}  # fmt: skip


def test_example_1_has_one_workunit_rank_zero() -> None:
    job, effects = admitted(HELLO)
    assert effects.offer == [f"{JOB_ID}_0_0"]
    assert job.state == JobState.QUEUED
    assert job.remaintasks == 1


def test_admit_places_outputs_without_a_location_in_the_datastore() -> None:
    job, _ = admitted(chain(2))
    assert job.tasks[0].outputs == [{
        "filename": "out0", "node": "-", "url": f"{DS}/{JOB_ID}/0/out0",
        "datastore": True,
    }]  # fmt: skip


def test_shock_outputs_are_not_moved_to_the_datastore() -> None:
    job, _ = admitted(sample_42(totalwork=1))
    assert job.tasks[0].outputs == [
        {"filename": "clean.fq", "host": SHOCK, "nonzero": True, "node": "-"}
    ]


# ---- checkout ----------------------------------------------------------------------------------


def test_checkout_leases_the_workunit_and_starts_task_and_job() -> None:
    job, _ = admitted(chain(2))
    assert lc.checkout(job, wid("0"), "c1", T2) is True
    unit = unit_of(job, wid("0"))
    assert (unit.state, unit.client, unit.checkout_time) == (WorkState.CHECKOUT, "c1", T2)
    assert job.tasks[0].state == TaskState.IN_PROGRESS
    assert job.tasks[0].starteddate == T2
    assert job.state == JobState.IN_PROGRESS
    assert job.info["startedtime"] == T2


def test_a_second_checkout_of_the_same_workunit_is_refused() -> None:
    job, _ = admitted(chain(2))
    lc.checkout(job, wid("0"), "c1", T2)
    assert unchanged_by(job, lambda: lc.checkout(job, wid("0"), "c2", T3)) is False


def test_startedtime_is_set_by_the_first_checkout_only() -> None:
    job, _ = admitted(diamond())
    lc.checkout(job, wid("a"), "c1", T2)
    lc.checkout(job, wid("e"), "c2", T3)
    assert job.info["startedtime"] == T2
    assert job.tasks[4].starteddate == T3


def test_checkout_of_an_unknown_workunit_is_an_error() -> None:
    job, _ = admitted(chain(2))
    with pytest.raises(AweError) as caught:
        lc.checkout(job, wid("9"), "c1", T2)
    assert caught.value.message == f"no workunit found with id {wid('9')}"


# ---- reports: done -----------------------------------------------------------------------------


def test_done_completes_the_task_and_enqueues_its_dependents_with_resolved_inputs() -> None:
    job, _ = admitted(chain(3))
    lc.checkout(job, wid("0"), "c1", T2)
    applied, effects = report(job, wid("0"), "done", computetime=42)
    assert applied is True
    assert effects.lease_ended == [("c1", wid("0"))]
    assert effects.completed_tasks == [tid("0")]
    assert effects.offer == [wid("1")]
    first, second, third = job.tasks
    assert (first.state, first.completeddate, first.remainwork) == (TaskState.COMPLETED, T3, 0)
    assert first.computetime == 42
    assert first.workstatus == ["done"]
    assert unit_of(job, wid("0")).state == WorkState.DONE
    assert second.state == TaskState.QUEUED
    assert second.inputs[0]["url"] == f"{DS}/{JOB_ID}/0/out0"
    assert third.state == TaskState.PENDING
    assert third.inputs[0].get("url", "") == ""
    assert job.remaintasks == 2
    assert job.state == JobState.IN_PROGRESS


def test_the_last_task_completes_the_job() -> None:
    job, _ = admitted(chain(2))
    run(job, wid("0"))
    effects = run(job, wid("1"), now=T4)
    assert effects.completed_tasks == [tid("1")]
    assert effects.offer == []
    assert job.state == JobState.COMPLETED
    assert job.remaintasks == 0
    assert job.info["completedtime"] == T4


def test_a_fan_in_waits_for_both_parents() -> None:
    job, _ = admitted(diamond())
    run(job, wid("a"))
    assert states(job)["b"] == states(job)["c"] == "queued"
    effects = run(job, wid("b"))
    assert effects.offer == []
    assert states(job)["d"] == "pending"
    effects = run(job, wid("c"))
    assert effects.offer == [wid("d")]
    d = job.task(tid("d"))
    assert d is not None
    assert [i["url"] for i in d.inputs] == [
        f"{DS}/{JOB_ID}/b/outb",
        f"{DS}/{JOB_ID}/c/outc",
    ]


def test_example_1_runs_to_completion() -> None:
    job, _ = admitted(HELLO)
    run(job, f"{JOB_ID}_0_0")
    assert job.state == JobState.COMPLETED
    assert job.tasks[0].state == TaskState.COMPLETED


# ---- reports that must change nothing ----------------------------------------------------------


def test_a_report_from_a_client_not_holding_the_lease_is_not_applied() -> None:
    job, _ = admitted(chain(2))
    lc.checkout(job, wid("0"), "c1", T2)
    for status in ("done", "fail", "discarded"):
        applied, effects = unchanged_by(job, lambda s=status: report(job, wid("0"), s, "c2"))
        assert applied is False
        assert effects == Effects()


def test_a_duplicate_done_report_is_not_applied() -> None:
    job, _ = admitted(chain(2))
    run(job, wid("0"))
    for status in ("done", "fail", "discarded"):
        applied, effects = unchanged_by(job, lambda s=status: report(job, wid("0"), s))
        assert (applied, effects) == (False, Effects())


def test_a_stale_report_after_release_is_not_applied() -> None:
    job, _ = admitted(chain(2))
    lc.checkout(job, wid("0"), "c1", T2)
    assert lc.release(job, wid("0"), "c1", Effects()) is True
    applied, _ = unchanged_by(job, lambda: report(job, wid("0"), "done", "c1"))
    assert applied is False
    lc.checkout(job, wid("0"), "c2", T3)
    applied, _ = unchanged_by(job, lambda: report(job, wid("0"), "fail", "c1"))
    assert applied is False
    assert unit_of(job, wid("0")).client == "c2"


def test_a_report_for_a_queued_workunit_is_not_applied() -> None:
    job, _ = admitted(chain(2))
    applied, _ = unchanged_by(job, lambda: report(job, wid("0"), "done", ""))
    assert applied is False


@pytest.mark.parametrize("wuid", [wid("7"), f"{JOB_ID}_0_9"])
def test_a_report_for_an_unknown_workunit_is_not_found_and_changes_nothing(wuid: str) -> None:
    job, _ = admitted(chain(2))
    before = copy.deepcopy(job.to_doc())
    with pytest.raises(AweError) as caught:
        report(job, wuid, "done")
    assert job.to_doc() == before
    assert (caught.value.status, caught.value.message) == (404, f"no workunit found with id {wuid}")


def test_an_unknown_status_is_an_error() -> None:
    job, _ = admitted(chain(2))
    lc.checkout(job, wid("0"), "c1", T2)
    with pytest.raises(AweError) as caught:
        report(job, wid("0"), "finished")
    assert caught.value.message == "invalid status: finished"


# ---- failures ----------------------------------------------------------------------------------


def test_a_failure_below_the_limit_requeues_the_workunit() -> None:
    job, _ = admitted(chain(2))
    effects = fail(job, wid("0"), notes="oops")
    unit = unit_of(job, wid("0"))
    assert (unit.state, unit.client, unit.failed, unit.notes) == (WorkState.QUEUED, "", 1, "oops")
    assert effects.offer == [wid("0")]
    assert effects.lease_ended == [("c1", wid("0"))]
    assert job.tasks[0].workstatus == ["fail"]
    assert job.state == JobState.IN_PROGRESS
    effects = fail(job, wid("0"), "c2")
    assert unit.failed == 2
    assert effects.offer == [wid("0")]


def test_the_third_failure_suspends_workunit_task_and_job() -> None:
    job, _ = admitted(chain(2))
    fail(job, wid("0"))
    fail(job, wid("0"))
    effects = fail(job, wid("0"), notes="disk full")
    unit = unit_of(job, wid("0"))
    assert (unit.state, unit.failed) == (WorkState.SUSPEND, 3)
    assert job.tasks[0].state == TaskState.SUSPEND
    assert job.tasks[1].state == TaskState.PENDING
    assert job.state == JobState.SUSPEND
    assert job.notes == f"workunit {wid('0')} failed 3 time(s). msg from client:disk full"
    assert job.lastfailed == wid("0")
    assert effects.offer == []


def test_the_suspension_note_without_client_notes() -> None:
    job, _ = admitted(chain(1))
    for _ in range(3):
        fail(job, wid("0"))
    assert job.notes == f"workunit {wid('0')} failed 3 time(s)."


def test_noretry_suspends_at_the_first_failure() -> None:
    job, _ = admitted(chain(2, noretry=True))
    fail(job, wid("0"), notes="bad input")
    assert job.state == JobState.SUSPEND
    assert job.notes == f"workunit {wid('0')} failed 1 time(s). msg from client:bad input"
    assert unit_of(job, wid("0")).state == WorkState.SUSPEND


def test_a_failure_limit_in_a_split_task_discards_the_sibling_ranks() -> None:
    job, _ = admitted(script(task("0", totalwork=3), noretry=True))
    lc.checkout(job, wid("0", 1), "c1", T2)
    lc.checkout(job, wid("0", 2), "c2", T2)
    _, effects = report(job, wid("0", 1), "fail", "c1")
    assert effects.discard == [("c2", wid("0", 2))]
    assert effects.withdraw == [wid("0", 3)]
    assert [u.state for u in job.tasks[0].workunits] == [WorkState.SUSPEND] * 3


# ---- discard, release, reattach ----------------------------------------------------------------


def test_discarded_from_the_holder_puts_it_back_in_the_queue() -> None:
    job, _ = admitted(chain(2))
    lc.checkout(job, wid("0"), "c1", T2)
    applied, effects = report(job, wid("0"), "discarded")
    assert applied is True
    unit = unit_of(job, wid("0"))
    assert (unit.state, unit.client, unit.failed) == (WorkState.QUEUED, "", 0)
    assert effects.offer == [wid("0")]
    assert effects.lease_ended == [("c1", wid("0"))]


def test_release_requeues_without_counting_a_failure() -> None:
    job, _ = admitted(chain(2))
    fail(job, wid("0"))
    lc.checkout(job, wid("0"), "c2", T2)
    effects = Effects()
    assert lc.release(job, wid("0"), "c2", effects) is True
    unit = unit_of(job, wid("0"))
    assert (unit.state, unit.client, unit.failed) == (WorkState.QUEUED, "", 1)
    assert effects.offer == [wid("0")]


def test_release_by_another_client_or_of_queued_work_does_nothing() -> None:
    job, _ = admitted(chain(2))
    effects = Effects()
    assert unchanged_by(job, lambda: lc.release(job, wid("0"), "", effects)) is False
    lc.checkout(job, wid("0"), "c1", T2)
    assert unchanged_by(job, lambda: lc.release(job, wid("0"), "c2", effects)) is False
    assert unchanged_by(job, lambda: lc.release(job, wid("9"), "c1", effects)) is False
    assert effects == Effects()


def test_release_of_suspended_work_only_drops_the_holder() -> None:
    job, _ = admitted(chain(2))
    lc.checkout(job, wid("0"), "c1", T2)
    lc.suspend(job, "manually suspended", T3, Effects())
    effects = Effects()
    assert lc.release(job, wid("0"), "c1", effects) is True
    unit = unit_of(job, wid("0"))
    assert (unit.state, unit.client) == (WorkState.SUSPEND, "")
    assert effects.offer == []


def test_reattach_keeps_a_lease_only_for_its_holder() -> None:
    job, _ = admitted(chain(2))
    lc.checkout(job, wid("0"), "c1", T2)
    assert lc.reattach(job, wid("0"), "c1", T3, Effects()) is True
    assert unchanged_by(job, lambda: lc.reattach(job, wid("0"), "c2", T3, Effects())) is False


def test_reattach_takes_back_a_queued_workunit() -> None:
    job, _ = admitted(chain(2))
    effects = Effects()
    assert lc.reattach(job, wid("0"), "c1", T3, effects) is True
    assert effects.withdraw == [wid("0")]
    unit = unit_of(job, wid("0"))
    assert (unit.state, unit.client) == (WorkState.CHECKOUT, "c1")
    assert job.state == JobState.IN_PROGRESS


def test_reattach_to_a_suspended_job_or_finished_work_is_refused() -> None:
    job, _ = admitted(chain(2))
    run(job, wid("0"))
    assert lc.reattach(job, wid("0"), "c1", T3, Effects()) is False
    lc.suspend(job, "manually suspended", T3, Effects())
    assert lc.reattach(job, wid("1"), "c1", T3, Effects()) is False
    assert lc.reattach(job, wid("5"), "c1", T3, Effects()) is False


# ---- suspend and resume ------------------------------------------------------------------------


def test_suspend_withdraws_queued_work_and_discards_checked_out_work() -> None:
    job, _ = admitted(diamond())
    lc.checkout(job, wid("a"), "c7", T2)
    effects = Effects()
    lc.suspend(job, "manually suspended", T3, effects)
    assert effects.withdraw == [wid("e")]
    assert effects.discard == [("c7", wid("a"))]
    assert job.state == JobState.SUSPEND
    assert job.notes == "manually suspended"
    assert job.lastfailed == ""
    assert states(job) == {"a": "suspend", "b": "pending", "c": "pending", "d": "pending",
                           "e": "suspend"}  # fmt: skip
    assert unit_of(job, wid("a")).state == unit_of(job, wid("e")).state == WorkState.SUSPEND


@pytest.mark.parametrize("end", ["completed", "deleted", "suspend"])
def test_a_finished_or_suspended_job_cannot_be_suspended(end: str) -> None:
    job = completed(chain(1))
    if end == "deleted":
        ops.delete(job, T3)
    elif end == "suspend":
        job, _ = admitted(chain(1))
        lc.suspend(job, "manually suspended", T3, Effects())
    with pytest.raises(StateError) as caught:
        unchanged_by(job, lambda: lc.suspend(job, "again", T4, Effects()))
    assert caught.value.message == f"job is {end}, cannot suspend it"


def test_a_done_report_racing_a_suspension_is_kept() -> None:
    job, _ = admitted(diamond())
    lc.checkout(job, wid("a"), "c1", T2)
    lc.suspend(job, "manually suspended", T3, Effects())
    applied, effects = report(job, wid("a"), "done", now=T4)
    assert applied is True
    assert unit_of(job, wid("a")).state == WorkState.DONE
    assert job.tasks[0].state == TaskState.COMPLETED
    assert effects.completed_tasks == [tid("a")]
    assert effects.offer == []  # the job stays suspended: nothing new is offered
    assert job.state == JobState.SUSPEND
    assert states(job)["b"] == "pending"
    resumed = ops.resume(job, T4, SETTINGS)
    assert sorted(resumed.offer) == sorted([wid("b"), wid("c"), wid("e")])


def test_a_fail_report_racing_a_suspension_is_not_applied() -> None:
    job, _ = admitted(chain(2))
    lc.checkout(job, wid("0"), "c1", T2)
    lc.suspend(job, "manually suspended", T3, Effects())
    applied, _ = unchanged_by(job, lambda: report(job, wid("0"), "fail"))
    assert applied is False


def test_discarded_report_for_suspended_work_keeps_it_suspended() -> None:
    job, _ = admitted(chain(2))
    lc.checkout(job, wid("0"), "c1", T2)
    lc.suspend(job, "manually suspended", T3, Effects())
    applied, effects = report(job, wid("0"), "discarded")
    assert applied is True
    unit = unit_of(job, wid("0"))
    assert (unit.state, unit.client) == (WorkState.SUSPEND, "")
    assert effects.offer == []


def test_the_last_done_racing_a_suspension_completes_the_job() -> None:
    job, _ = admitted(chain(1))
    lc.checkout(job, wid("0"), "c1", T2)
    lc.suspend(job, "manually suspended", T3, Effects())
    report(job, wid("0"), "done", now=T4)
    assert job.state == JobState.COMPLETED
    assert job.info["completedtime"] == T4


def test_resume_keeps_finished_workunits_and_reoffers_the_rest_with_fresh_counts() -> None:
    job, _ = admitted(script(task("0", totalwork=3), task("1", "0")))
    run(job, wid("0", 1))
    fail(job, wid("0", 2))
    lc.checkout(job, wid("0", 3), "c3", T2)
    lc.suspend(job, "manually suspended", T3, Effects())
    effects = ops.resume(job, T4, SETTINGS)
    assert effects.offer == [wid("0", 2), wid("0", 3)]
    units = job.tasks[0].workunits
    assert [u.state for u in units] == [WorkState.DONE, WorkState.QUEUED, WorkState.QUEUED]
    assert [u.failed for u in units] == [0, 0, 0]
    assert [u.client for u in units] == ["c1", "", ""]
    assert job.tasks[0].state == TaskState.QUEUED
    assert job.tasks[0].remainwork == 2
    assert job.state == JobState.IN_PROGRESS  # a workunit was finished
    assert job.resumed == 1


def test_resume_of_a_job_without_progress_is_queued() -> None:
    job, _ = admitted(chain(2))
    lc.suspend(job, "manually suspended", T2, Effects())
    effects = ops.resume(job, T3, SETTINGS)
    assert effects.offer == [wid("0")]
    assert job.state == JobState.QUEUED
    assert job.resumed == 1
    assert states(job) == {"0": "queued", "1": "pending"}


def test_resume_after_the_failure_limit_gives_the_workunit_new_tries() -> None:
    job, _ = admitted(chain(2))
    for _ in range(3):
        fail(job, wid("0"))
    ops.resume(job, T4, SETTINGS)
    assert unit_of(job, wid("0")).failed == 0
    fail(job, wid("0"))
    fail(job, wid("0"))
    assert job.state == JobState.IN_PROGRESS
    fail(job, wid("0"))
    assert job.state == JobState.SUSPEND


def test_a_job_that_is_not_suspended_cannot_be_resumed() -> None:
    job, _ = admitted(chain(2))
    with pytest.raises(StateError) as caught:
        unchanged_by(job, lambda: ops.resume(job, T2, SETTINGS))
    assert caught.value.message == "job is queued, cannot resume it"


# ---- recompute ---------------------------------------------------------------------------------


def test_recompute_resets_the_task_and_all_its_descendants_only() -> None:
    job = completed(diamond())
    kept = {t.id: copy.deepcopy(t.to_doc()) for t in job.tasks if t.user_taskid in "abe"}
    effects = ops.recompute(job, "c", T4, SETTINGS)  # d's second parent: d must be reset too
    assert states(job) == {"a": "completed", "b": "completed", "c": "queued", "d": "pending",
                           "e": "completed"}  # fmt: skip
    assert {t.id: t.to_doc() for t in job.tasks if t.id in kept} == kept
    assert effects.offer == [wid("c")]
    d = job.task(tid("d"))
    assert d is not None
    assert d.workunits == [] and d.remainwork == 1 and d.workstatus == [""]
    assert d.completeddate == ZERO_TIME
    assert [(i["node"], i["url"]) for i in d.inputs] == [("-", ""), ("-", "")]
    assert job.remaintasks == 2
    assert job.state == JobState.IN_PROGRESS
    assert job.notes == f"recomputed from task {tid('c')}"
    assert job.info["completedtime"] == ZERO_TIME


def test_recompute_from_the_top_of_a_diamond_spares_the_unrelated_root() -> None:
    job = completed(diamond())
    effects = ops.recompute(job, "a", T4, SETTINGS)
    assert states(job) == {"a": "queued", "b": "pending", "c": "pending", "d": "pending",
                           "e": "completed"}  # fmt: skip
    assert effects.offer == [wid("a")]
    assert job.state == JobState.IN_PROGRESS
    assert job.remaintasks == 4


def test_recompute_of_every_task_is_a_fresh_start() -> None:
    job = completed(chain(3))
    effects = ops.recompute(job, "0", T4, SETTINGS)
    assert effects.offer == [wid("0")]
    assert job.state == JobState.QUEUED
    assert job.remaintasks == 3
    run(job, wid("0"))
    run(job, wid("1"))
    run(job, wid("2"))
    assert job.state == JobState.COMPLETED


def test_recompute_of_a_suspended_job_requeues_its_suspended_work() -> None:
    job, _ = admitted(diamond())
    run(job, wid("a"))
    lc.suspend(job, "manually suspended", T3, Effects())
    effects = ops.recompute(job, "b", T4, SETTINGS)
    assert sorted(effects.offer) == sorted([wid("b"), wid("c"), wid("e")])
    assert job.state == JobState.IN_PROGRESS
    assert states(job)["a"] == "completed"


def test_recompute_refuses_an_unknown_task() -> None:
    job = completed(chain(2))
    with pytest.raises(AweError) as caught:
        unchanged_by(job, lambda: ops.recompute(job, "9", T4, SETTINGS))
    assert caught.value.message == f"task 9 not found in job {JOB_ID}"


@pytest.mark.parametrize("running", [True, False])
def test_recompute_refuses_an_unfinished_job(running: bool) -> None:
    job, _ = admitted(chain(2))
    if running:
        lc.checkout(job, wid("0"), "c1", T2)
    with pytest.raises(StateError) as caught:
        unchanged_by(job, lambda: ops.recompute(job, "0", T4, SETTINGS))
    expected = "in-progress" if running else "queued"
    assert caught.value.message == (
        f"job is {expected}, cannot recompute it (only completed or suspended)"
    )


# ---- delete, recover, resubmit ----------------------------------------------------------------


def test_delete_withdraws_queued_and_discards_leased_work() -> None:
    job, _ = admitted(diamond())
    lc.checkout(job, wid("a"), "c1", T2)
    effects = ops.delete(job, T3)
    assert job.state == JobState.DELETED
    assert job.notes == "deleted"
    assert effects.withdraw == [wid("e")]
    assert effects.discard == [("c1", wid("a"))]


def test_a_deleted_job_cannot_be_deleted_again() -> None:
    job, _ = admitted(chain(1))
    ops.delete(job, T2)
    with pytest.raises(StateError) as caught:
        ops.delete(job, T3)
    assert caught.value.message == "job is deleted, cannot delete it"


@pytest.mark.parametrize("tasks", [1, 2])
@pytest.mark.parametrize("status", ["done", "fail", "discarded"])
def test_a_report_for_a_deleted_job_is_not_applied(tasks: int, status: str) -> None:
    job, _ = admitted(chain(tasks))
    lc.checkout(job, wid("0"), "c1", T2)
    ops.delete(job, T3)
    applied, effects = unchanged_by(job, lambda: report(job, wid("0"), status, now=T4))
    assert (applied, effects) == (False, Effects())


def test_a_deleted_jobs_lease_is_not_released_back_to_the_queue() -> None:
    job, _ = admitted(chain(2))
    lc.checkout(job, wid("0"), "c1", T2)
    ops.delete(job, T3)
    effects = Effects()
    assert unchanged_by(job, lambda: lc.release(job, wid("0"), "c1", effects)) is False
    assert unchanged_by(job, lambda: lc.reattach(job, wid("0"), "c1", T4, effects)) is False
    assert effects == Effects()


def restarted(job: Job) -> Job:
    """The job as a new server reads it back from the store."""
    return Job.from_doc(copy.deepcopy(job.to_doc()))


def test_recover_returns_leases_and_offers_queued_work() -> None:
    job, _ = admitted(diamond())
    lc.checkout(job, wid("a"), "c1", T2)
    job = restarted(job)
    effects, leases = ops.recover(job, T3, SETTINGS)
    assert leases == {wid("a"): "c1"}
    assert effects.offer == [wid("e")]
    assert unit_of(job, wid("a")).state == WorkState.CHECKOUT


def test_recover_continues_where_the_job_stopped() -> None:
    job, _ = admitted(chain(3))
    run(job, wid("0"))
    job = restarted(job)
    effects, leases = ops.recover(job, T3, SETTINGS)
    assert leases == {}
    assert effects.offer == [wid("1")]
    assert states(job) == {"0": "completed", "1": "queued", "2": "pending"}


def test_recover_admits_a_job_stored_before_admission() -> None:
    job = restarted(parse(chain(2)))
    effects, _ = ops.recover(job, T3, SETTINGS)
    assert effects.offer == [wid("0")]
    assert job.state == JobState.QUEUED


def test_recover_offers_nothing_for_a_suspended_job() -> None:
    job, _ = admitted(chain(2))
    lc.suspend(job, "manually suspended", T2, Effects())
    effects, leases = ops.recover(restarted(job), T3, SETTINGS)
    assert (effects.offer, leases) == ([], {})


def test_resubmit_releases_stale_leases_and_offers_the_work() -> None:
    job, _ = admitted(diamond())
    lc.checkout(job, wid("a"), "c1", T2)
    job = restarted(job)
    effects = ops.resubmit(job, T3, SETTINGS)
    assert sorted(effects.offer) == sorted([wid("a"), wid("e")])
    unit = unit_of(job, wid("a"))
    assert (unit.state, unit.client, unit.failed) == (WorkState.QUEUED, "", 0)


def test_resubmit_of_a_suspended_job_resumes_it() -> None:
    job, _ = admitted(chain(2))
    lc.suspend(job, "manually suspended", T2, Effects())
    effects = ops.resubmit(restarted(job), T3, SETTINGS)
    assert effects.offer == [wid("0")]


@pytest.mark.parametrize("end", ["completed", "deleted"])
def test_resubmit_refuses_finished_jobs(end: str) -> None:
    job = completed(chain(1))
    if end == "deleted":
        ops.delete(job, T3)
    with pytest.raises(StateError) as caught:
        unchanged_by(job, lambda: ops.resubmit(job, T4, SETTINGS))
    assert caught.value.message == f"job is {end}, cannot resubmit it (use ?recompute=<taskid>)"


# ---- clientgroups and priority -----------------------------------------------------------------


def test_set_clientgroups_reindexes_queued_work_only() -> None:
    job, _ = admitted(diamond(clientgroups="old"))
    lc.checkout(job, wid("a"), "c1", T2)
    effects = ops.set_clientgroups(job, "new1,new2")
    assert job.info["clientgroups"] == "new1,new2"
    assert effects.withdraw == effects.offer == [wid("e")]
    assert lc.effective_clientgroups(job, job.tasks[4]) == "new1,new2"


def test_set_clientgroups_overrides_task_level_groups_of_unfinished_tasks() -> None:
    job, _ = admitted(script(task("0", clientgroups="gpu"), task("1", "0", clientgroups="gpu")))
    assert lc.effective_clientgroups(job, job.tasks[0]) == "gpu"
    run(job, wid("0"))
    ops.set_clientgroups(job, "cpu")
    assert job.tasks[0].clientgroups == "gpu"  # completed: history kept
    assert job.tasks[1].clientgroups == ""
    assert lc.effective_clientgroups(job, job.tasks[1]) == "cpu"


def test_a_task_level_clientgroup_applies_to_that_task_only() -> None:
    job, _ = admitted(script(task("0", clientgroups="gpu"), task("1"), clientgroups="cpu"))
    assert lc.effective_clientgroups(job, job.tasks[0]) == "gpu"
    assert lc.effective_clientgroups(job, job.tasks[1]) == "cpu"
    assert job.info["clientgroups"] == "cpu"
    view = lc.workunit_view(job, job.tasks[0], job.tasks[0].workunits[0])
    assert view["info"]["clientgroups"] == "gpu"


@pytest.mark.parametrize(("asked", "stored"), [(5, 5), (0, 1), (-2, 1)])
def test_set_priority_clamps_and_reindexes(asked: int, stored: int) -> None:
    job, _ = admitted(chain(2))
    effects = ops.set_priority(job, asked)
    assert job.info["priority"] == stored
    assert effects.withdraw == effects.offer == [wid("0")]


def test_nothing_is_reindexed_for_a_suspended_job() -> None:
    job, _ = admitted(chain(2))
    lc.suspend(job, "manually suspended", T2, Effects())
    assert ops.set_priority(job, 9) == Effects()
    assert ops.set_clientgroups(job, "x") == Effects()
    assert job.info["priority"] == 9


# ---- split tasks and the workunit view ---------------------------------------------------------


def split_job() -> tuple[Job, Effects]:
    return admitted(script(
        task("0", totalwork=3, inputs=[{"filename": "in.txt", "url": "http://data.example.org/in.txt"}]),
        task("1", "0"),
    ))  # fmt: skip


def test_a_split_task_gives_ranks_one_to_n() -> None:
    job, effects = split_job()
    assert effects.offer == [wid("0", 1), wid("0", 2), wid("0", 3)]
    assert [u.rank for u in job.tasks[0].workunits] == [1, 2, 3]
    assert job.tasks[0].remainwork == 3


def test_each_rank_writes_its_own_part_and_reads_its_share() -> None:
    job, _ = split_job()
    first = job.tasks[0]
    for unit in first.workunits:
        view = lc.workunit_view(job, first, unit)
        assert view["wuid"] == wid("0", unit.rank)
        assert (view["rank"], view["totalwork"]) == (unit.rank, 3)
        assert view["outputs"][0]["url"] == f"{DS}/{JOB_ID}/0/out0"  # the part: ?rank=
        assert view["part"] == {"input": "in.txt", "index": "line", "rank": unit.rank,
                                "totalwork": 3}  # fmt: skip
    # the task itself still names the joined output
    assert first.outputs[0]["url"] == f"{DS}/{JOB_ID}/0/out0"


def test_a_split_task_completes_when_every_rank_is_done() -> None:
    job, _ = split_job()
    assert run(job, wid("0", 2)).completed_tasks == []
    assert run(job, wid("0", 1)).completed_tasks == []
    assert job.tasks[0].remainwork == 1
    assert job.tasks[0].workstatus == ["done", "done", ""]
    effects = run(job, wid("0", 3))
    assert (effects.join_parts, effects.completed_tasks, effects.offer) == ([tid("0")], [], [])
    assert job.tasks[0].state == TaskState.IN_PROGRESS  # until the server has joined the parts
    effects = lc.parts_joined(job, tid("0"), {"out0": 42}, T4, SETTINGS)
    assert effects.completed_tasks == [tid("0")]
    assert effects.offer == [wid("1")]
    assert job.tasks[0].outputs[0]["size"] == 42
    assert job.tasks[1].inputs[0]["url"] == f"{DS}/{JOB_ID}/0/out0"


def test_an_unsplit_view_has_no_part() -> None:
    job, _ = admitted(chain(1))
    view = lc.workunit_view(job, job.tasks[0], job.tasks[0].workunits[0])
    assert (view["rank"], view["totalwork"], view["part"]) == (0, 1, None)
    assert view["outputs"][0]["url"] == f"{DS}/{JOB_ID}/0/out0"


def test_the_view_hides_secrets_and_shows_the_lease() -> None:
    job, _ = admitted(sample_42(totalwork=1), datatoken="tok-123")
    run(job, wid("0"))
    classify = job.task(tid("1"))
    assert classify is not None
    unit = classify.workunits[0]
    lc.checkout(job, wid("1"), "c9", T3)
    view = lc.workunit_view(job, classify, unit)
    assert "datatoken" not in view["info"]
    assert "tok-123" not in repr(view)
    assert view["cmd"]["environ"] == {"public": {"THREADS": "8"}}
    assert "xyz" not in repr(view)
    assert (view["state"], view["client"], view["checkout_time"]) == ("checkout", "c9", T3)
    assert view["info"]["clientgroups"] == "bigmem,default"


def test_example_2_splits_into_four_workunits() -> None:
    job, effects = admitted(sample_42())
    assert effects.offer == [wid("0", r) for r in (1, 2, 3, 4)]
    view = lc.workunit_view(job, job.tasks[0], job.tasks[0].workunits[0])
    assert view["part"] == {"input": "raw.fq", "index": "line", "rank": 1, "totalwork": 4}


# ---- skip --------------------------------------------------------------------------------------


def test_skip_1_on_a_skippable_task_lets_its_dependents_proceed() -> None:
    doc = script(
        task("0"),
        task("1", "0", skip=1),  # one input, one output, one dependency: skippable
        task("2", "1", inputs=[]),
    )
    job, _ = admitted(doc)
    effects = run(job, wid("0"))
    assert states(job) == {"0": "completed", "1": "user_skipped", "2": "queued"}
    assert effects.offer == [wid("2")]
    assert job.tasks[1].workunits == []
    assert job.remaintasks == 1
    run(job, wid("2"))
    assert job.state == JobState.COMPLETED


def test_skip_1_on_a_task_that_is_not_skippable_runs_it() -> None:
    doc = script(task("0"), task("x"), task("1", "0", "x", skip=1))  # two dependencies
    job, _ = admitted(doc)
    run(job, wid("0"))
    effects = run(job, wid("x"))
    assert effects.offer == [wid("1")]
    assert states(job)["1"] == "queued"


def test_a_job_of_only_skipped_tasks_completes_at_admission() -> None:
    doc = script(task("0", skip=1, inputs=[{"filename": "a", "url": "http://h/a"}]))
    job, effects = admitted(doc)
    assert effects.offer == []
    assert states(job) == {"0": "user_skipped"}
    assert job.state == JobState.COMPLETED


def test_skip_2_turns_a_failure_into_a_skipped_task() -> None:
    doc = script(task("0"), task("1", "0", skip=2), task("2", "1", inputs=[]))
    job, _ = admitted(doc)
    run(job, wid("0"))
    effects = fail(job, wid("1"))
    assert states(job)["1"] == "skipped"
    assert effects.offer == [wid("2")]
    assert job.state == JobState.IN_PROGRESS


def skipped_split_job() -> Job:
    """Task 1 (skip=2, two ranks held by c1 and c2) was skipped by c1's failure."""
    job, _ = admitted(
        script(task("0"), task("1", "0", skip=2, totalwork=2), task("2", "1", inputs=[]))
    )
    run(job, wid("0"))
    lc.checkout(job, wid("1", 1), "c1", T2)
    lc.checkout(job, wid("1", 2), "c2", T2)
    _, effects = report(job, wid("1", 1), "fail", "c1")
    assert effects.discard == [("c2", wid("1", 2))]
    assert states(job) == {"0": "completed", "1": "skipped", "2": "queued"}
    return job


@pytest.mark.parametrize("status", ["done", "fail", "discarded"])
def test_reports_for_the_other_ranks_of_a_skipped_task_are_ignored(status: str) -> None:
    job = skipped_split_job()
    applied, effects = unchanged_by(job, lambda: report(job, wid("1", 2), status, "c2"))
    assert (applied, effects) == (False, Effects())


def test_the_other_ranks_of_a_skipped_task_are_not_offered_again() -> None:
    job = skipped_split_job()
    effects = Effects()
    assert unchanged_by(job, lambda: lc.release(job, wid("1", 2), "c2", effects)) is False
    assert unchanged_by(job, lambda: lc.reattach(job, wid("1", 2), "c2", T4, effects)) is False
    assert effects == Effects()


# ---- delivered outputs --------------------------------------------------------------------------


def test_delivered_records_name_an_unsplit_tasks_shock_output() -> None:
    job, _ = admitted(sample_42(totalwork=1))
    delivered = [{"filename": "clean.fq", "node": "node-77", "size": 4096},
                 {"filename": "unknown.txt", "node": "zzz"}]  # fmt: skip
    run(job, wid("0"), delivered=delivered)
    out = job.tasks[0].outputs[0]
    assert (out["node"], out["size"]) == ("node-77", 4096)
    assert out["url"] == f"{SHOCK}/node/node-77?download"
    for consumer in ("1", "2"):
        found = job.task(tid(consumer))
        assert found is not None
        entry = found.inputs[0]
        assert (entry["node"], entry["size"]) == ("node-77", 4096)
        assert entry["url"] == f"{SHOCK}/node/node-77?download"


def test_delivered_records_of_split_ranks_are_ignored() -> None:
    job, _ = admitted(sample_42(totalwork=2))
    run(job, wid("0", 1), delivered=[{"filename": "clean.fq", "node": "part-node", "size": 9}])
    assert job.tasks[0].outputs[0]["node"] == "-"
    assert "size" not in job.tasks[0].outputs[0]


def test_delivered_size_of_a_datastore_output_is_kept_but_no_node() -> None:
    job, _ = admitted(chain(2))
    run(job, wid("0"), delivered=[{"filename": "out0", "node": "n1", "size": 12}, "junk"])
    out = job.tasks[0].outputs[0]
    assert (out["node"], out["size"]) == ("-", 12)
    assert out["url"] == f"{DS}/{JOB_ID}/0/out0"
    assert job.tasks[1].inputs[0]["size"] == 12


def test_recompute_gives_a_task_new_shock_outputs() -> None:
    job, _ = admitted(sample_42(totalwork=1))
    run(job, wid("0"), delivered=[{"filename": "clean.fq", "node": "node-77", "size": 4096}])
    lc.suspend(job, "manually suspended", T3, Effects())
    ops.recompute(job, "0", T4, SETTINGS)
    out = job.tasks[0].outputs[0]
    assert (out["node"], out.get("url", ""), "size" in out) == ("-", "", False)
    consumer = job.task(tid("1"))
    assert consumer is not None
    assert (consumer.inputs[0]["node"], consumer.inputs[0]["url"]) == ("-", "")


def test_shock_outputs_get_their_nodes_before_the_task_is_offered() -> None:
    with_nodes = Settings(max_work_failure=3, datastore_url="", create_shock_nodes=True)
    job = parse(sample_42())
    effects = lc.admit(job, T1, with_nodes)
    assert (effects.offer, effects.create_nodes) == ([], [tid("0")])
    assert job.tasks[0].state == TaskState.PENDING
    effects = lc.nodes_created(job, tid("0"), {"clean.fq": "node-1"}, T2, with_nodes)
    assert effects.offer == [wid("0", r) for r in (1, 2, 3, 4)]
    out = job.tasks[0].outputs[0]
    assert (out["node"], out["url"]) == ("node-1", f"{SHOCK}/node/node-1?download")
    assert job.state == JobState.QUEUED


# ---- documents -------------------------------------------------------------------------------


def test_a_job_survives_its_document_form_at_every_step() -> None:
    job, effects = admitted(diamond())
    todo = list(effects.offer)
    while todo:
        assert restarted(job).to_doc() == job.to_doc()
        todo.extend(run(job, todo.pop(0)).offer)
    assert restarted(job).to_doc() == job.to_doc()
    assert job.state == JobState.COMPLETED


# ---- property: random operations never lose work or break the counters -----------------------


CLIENTS = ["c1", "c2", "c3"]


@st.composite
def random_jobs(draw: st.DrawFn) -> dict[str, Any]:
    count = draw(st.integers(1, 5))
    tasks = []
    for i in range(count):
        parents = (
            draw(st.lists(st.sampled_from([str(p) for p in range(i)]), unique=True)) if i else []
        )
        extra = {"totalwork": draw(st.integers(1, 3)), "skip": draw(st.sampled_from([0, 0, 1, 2]))}
        tasks.append(task(str(i), *parents, **extra))
    return script(*tasks, noretry=draw(st.booleans()))


def _check(job: Job, ready: set[str]) -> None:
    live = job.state in (JobState.INIT, JobState.QUEUED, JobState.IN_PROGRESS)
    should_be_ready = set()
    for t in job.tasks:
        for u in t.workunits:
            if u.state == WorkState.CHECKOUT:
                assert u.client, f"{t.wuid(u)} checked out to nobody"
            if u.state == WorkState.QUEUED:
                assert u.client == "", f"{t.wuid(u)} queued but held by {u.client}"
                if live and t.state in (TaskState.QUEUED, TaskState.IN_PROGRESS):
                    should_be_ready.add(t.wuid(u))
        if t.state in (TaskState.QUEUED, TaskState.IN_PROGRESS):
            assert t.remainwork == sum(1 for u in t.workunits if u.state != WorkState.DONE)
    assert ready == should_be_ready  # nothing lost, nothing offered that cannot be taken
    assert job.remaintasks == sum(1 for t in job.tasks if t.state not in DONE_TASK_STATES)
    if job.state != JobState.DELETED:
        assert (job.state == JobState.COMPLETED) == (job.remaintasks == 0)


def _apply(effects: Effects, ready: set[str]) -> None:
    for wuid in effects.withdraw:
        ready.discard(wuid)
    ready.update(effects.offer)


@given(random_jobs(), st.data())
@settings(max_examples=300, deadline=None)
def test_random_operations_keep_the_job_consistent(
    doc: dict[str, Any], data: st.DataObject
) -> None:
    job, effects = admitted(doc)
    ready: set[str] = set()
    _apply(effects, ready)
    _check(job, ready)
    all_wuids = lambda: [t.wuid(u) for t in job.tasks for u in t.workunits]  # noqa: E731
    for _ in range(data.draw(st.integers(0, 40))):
        op = data.draw(st.sampled_from(
            ["checkout"] * 4 + ["done"] * 4 + ["fail", "discarded", "release", "suspend",
             "resume", "recompute", "resubmit", "priority", "delete"]
        ))  # fmt: skip
        before = copy.deepcopy(job.to_doc())
        if op == "checkout":
            if not ready:
                continue
            wuid = data.draw(st.sampled_from(sorted(ready)))
            ready.discard(wuid)
            assert lc.checkout(job, wuid, data.draw(st.sampled_from(CLIENTS)), T2)
        elif op in ("done", "fail", "discarded"):
            if not all_wuids():
                continue
            wuid = data.draw(st.sampled_from(all_wuids()))
            applied, effects = report(job, wuid, op, data.draw(st.sampled_from(CLIENTS)))
            if not applied:
                assert effects == Effects() and job.to_doc() == before
            _apply(effects, ready)
        elif op == "release":
            if not all_wuids():
                continue
            effects = Effects()
            lc.release(job, data.draw(st.sampled_from(all_wuids())),
                       data.draw(st.sampled_from(CLIENTS)), effects)  # fmt: skip
            _apply(effects, ready)
        else:
            try:
                if op == "suspend":
                    effects = Effects()
                    lc.suspend(job, "manually suspended", T3, effects)
                elif op == "resume":
                    effects = ops.resume(job, T3, SETTINGS)
                elif op == "recompute":
                    effects = ops.recompute(job, data.draw(st.sampled_from(
                        [t.user_taskid for t in job.tasks])), T3, SETTINGS)  # fmt: skip
                elif op == "resubmit":
                    effects = ops.resubmit(job, T3, SETTINGS)
                elif op == "priority":
                    effects = ops.set_priority(job, data.draw(st.integers(0, 5)))
                else:
                    effects = ops.delete(job, T3)
            except AweError:
                assert job.to_doc() == before  # a refused operation changes nothing
                continue
            _apply(effects, ready)
        _check(job, ready)


def test_every_state_change_is_recorded_once_in_order() -> None:
    job, effects = admitted(HELLO)
    assert [(c.kind, c.old, c.new) for c in effects.changes] == [
        ("job", "", "init"), ("task", "init", "pending"), ("task", "pending", "queued"),
        ("job", "init", "queued"),
    ]  # fmt: skip
    checkout = Effects()
    assert lc.checkout(job, wid("0"), "c1", T2, checkout)
    assert checkout.granted == [("c1", wid("0"))]
    assert [(c.kind, c.subject, c.new) for c in checkout.changes] == [
        ("workunit", wid("0"), "checkout"), ("task", tid("0"), "in-progress"),
        ("job", JOB_ID, "in-progress"),
    ]  # fmt: skip
    applied, done = report(job, wid("0"), "done")
    assert applied and done.lease_ended == [("c1", wid("0"))]
    assert [c.new for c in done.changes] == ["done", "completed", "completed"]


REFUSED = {
    "resume a running job": lambda job: ops.resume(job, T3, SETTINGS),
    "recompute a running job": lambda job: ops.recompute(job, "0", T3, SETTINGS),
    "recompute an unknown task": lambda job: ops.recompute(job, "nope", T3, SETTINGS),
    "delete a deleted job": lambda job: ops.delete(job, T3),
}


@pytest.mark.parametrize("name", REFUSED)
def test_a_refused_operation_changes_nothing(name: str) -> None:
    job, _ = admitted(chain(2))
    assert lc.checkout(job, wid("0"), "c1", T2)
    if "deleted" in name:
        ops.delete(job, T2)
    before = copy.deepcopy(job.to_doc())
    with pytest.raises(AweError):
        REFUSED[name](job)
    assert job.to_doc() == before
