"""Every change the model makes is named in its Effects, so a snapshot can write only that.

A JobActor writes the tasks in `Effects.touched` and the workunits in `Effects.units` (and
forgets those in `Effects.dropped`; a rank never handed out has no row), never the whole job: a change the model makes without
naming it would be lost at the next restart. These tests run random sequences of commands
and compare the whole job before and after each one.
"""

from __future__ import annotations

import copy
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from awe.errors import AweError
from awe.model import lifecycle as lc
from awe.model import operations as ops
from awe.model.job import ACTIVE_JOB_STATES, DONE_TASK_STATES, Job, JobState, TaskState
from awe.model.lifecycle import Effects, Settings
from tests.model.scripts import chain, diamond, parse, script, task

SETTINGS = Settings(max_work_failure=2, datastore_url="http://awe.test:8001/data")
T = "2024-05-01T10:02:00.000000Z"
CLIENTS = ("c1", "c2")

SHAPES = {
    "diamond": diamond(),
    "chain": chain(4),
    "split": script(task("0"), task("1", "0", totalwork=3), task("2", "1")),
    "skips": script(task("0"), task("1", "0", skip=1), task("2", "1", skip=2), task("3", "2")),
    "groups": script(task("0", clientgroups="small"), task("1", "0", clientgroups="big")),
}


def snapshot(job: Job) -> tuple[dict[str, Any], list[dict[str, Any]], dict[str, dict[str, Any]]]:
    """(job fields, each task's document, each workunit's document by wuid)."""
    header = job.to_doc(workunits=False, tasks=False)
    tasks = [t.to_doc(workunits=False) for t in job.tasks]
    units = {t.wuid(u): u.to_doc() for t in job.tasks for u in t.started()}  # rows of their own
    return copy.deepcopy(header), copy.deepcopy(tasks), units


def units_in(job: Job, *states: str) -> list[tuple[str, str]]:
    """(wuid, holder) of the workunits in these states (ranks never handed out too)."""
    return [(t.wuid(u), u.client) for t in job.tasks for u in t.all_units() if u.state in states]


def command(job: Job, data: st.DataObject) -> Effects:
    """One command a server could apply now, drawn at random; its Effects."""
    kinds = ["checkout", "report", "release", "reattach", "suspend", "resume", "recompute",
             "clientgroup", "priority", "join", "delete"]  # fmt: skip
    kind = data.draw(st.sampled_from(kinds), label="command")
    effects = Effects()
    if kind == "checkout" and (queued := units_in(job, "queued")):
        wuid, _ = data.draw(st.sampled_from(queued))
        lc.checkout(job, wuid, data.draw(st.sampled_from(CLIENTS)), T, effects)
    elif kind in ("report", "release", "reattach") and (
        held := units_in(job, "checkout", "suspend")
    ):
        wuid, holder = data.draw(st.sampled_from(held))
        client = holder if data.draw(st.booleans()) else data.draw(st.sampled_from(CLIENTS))
        if kind == "report":
            status = data.draw(st.sampled_from(["done", "fail", "discarded"]))
            _, effects = lc.report(job, wuid, client, status, computetime=3, notes="n", now=T,
                                   settings=SETTINGS)  # fmt: skip
        elif kind == "release":
            lc.release(job, wuid, client, effects, "lost")
        else:
            lc.reattach(job, wuid, client, T, effects)
    elif kind == "suspend" and job.state in ACTIVE_JOB_STATES:
        lc.suspend(job, "manually suspended", T, effects)
    elif kind == "resume" and job.state == JobState.SUSPEND:
        effects = ops.resume(job, T, SETTINGS)
    elif kind == "recompute" and job.state in (JobState.COMPLETED, JobState.SUSPEND):
        effects = ops.recompute(job, data.draw(st.sampled_from(job.tasks)).user_taskid, T, SETTINGS)
    elif kind == "clientgroup":
        effects = ops.set_clientgroups(job, data.draw(st.sampled_from(["", "big", "big,small"])))
    elif kind == "priority":
        effects = ops.set_priority(job, data.draw(st.integers(0, 5)))
    elif kind == "join":
        joinable = [t for t in job.tasks if t.split and t.remainwork == 0 and lc.needs_join(t)]
        if joinable:
            chosen = data.draw(st.sampled_from(joinable))
            effects = lc.parts_joined(job, chosen.id, {f"out{chosen.user_taskid}": 9}, T, SETTINGS)
    elif kind == "delete" and job.state != JobState.DELETED and data.draw(st.integers(0, 9)) == 0:
        effects = ops.delete(job, T)
    return effects


def check_named(before: Any, after: Any, effects: Effects) -> None:
    _, tasks_before, units_before = before
    _, tasks_after, units_after = after
    for old, new in zip(tasks_before, tasks_after, strict=True):
        if old != new:
            assert new["taskid"] in effects.touched, f"task {new['taskid']} changed unnamed"
    for wuid, doc in units_after.items():
        if units_before.get(wuid) != doc:
            assert wuid in effects.units, f"workunit {wuid} changed unnamed"
    for wuid in units_before.keys() - units_after.keys():
        assert wuid in effects.dropped, f"workunit {wuid} gone unnamed"


def check_invariants(job: Job) -> None:
    assert job.remaintasks == sum(1 for t in job.tasks if t.state not in DONE_TASK_STATES)
    if job.state in (JobState.INIT, *ACTIVE_JOB_STATES):
        for t in job.tasks:
            ready = all(job.task(p).state in DONE_TASK_STATES for p in t.depends_on)
            assert not (t.state == TaskState.PENDING and ready), f"task {t.id} left pending"


@settings(max_examples=150, deadline=None)
@given(shape=st.sampled_from(sorted(SHAPES)), data=st.data())
def test_every_change_of_a_command_is_named_in_its_effects(shape: str, data: Any) -> None:
    job = parse(SHAPES[shape])
    before = snapshot(job)
    effects = lc.admit(job, T, SETTINGS)
    check_named(before, snapshot(job), effects)
    for _ in range(data.draw(st.integers(1, 40), label="commands")):
        before = snapshot(job)
        try:
            effects = command(job, data)
        except AweError:
            assert snapshot(job) == before  # refused before anything changed
            continue
        check_named(before, snapshot(job), effects)
        check_invariants(job)


def test_a_report_looks_only_at_the_dependents_of_the_task_it_finished(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Finishing one task of many independent ones enqueues nothing and visits nothing else."""
    job = parse(script(*(task(str(i)) for i in range(50)), task("last", "0")))
    lc.admit(job, T, SETTINGS)
    visited: list[int] = []
    real = Job.dependents

    def dependents(self: Job, full_task_id: str) -> list[int]:
        found = real(self, full_task_id)
        visited.extend(found)
        return found

    monkeypatch.setattr(Job, "dependents", dependents)  # a Job has slots: patched on its class
    assert lc.checkout(job, f"{job.id}_7_0", "c1", T)
    _, effects = lc.report(job, f"{job.id}_7_0", "c1", "done", computetime=1, notes="", now=T,
                           settings=SETTINGS)  # fmt: skip
    assert effects.touched == {f"{job.id}_7"}
    assert visited == []
    assert job.remaintasks == 50
