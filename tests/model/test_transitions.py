"""The state tables: allowed moves give the new state, refused ones say why."""

from __future__ import annotations

import pytest

from awe.model.client import ClientStatus
from awe.model.effects import Effects
from awe.model.job import Job, Task, Workunit
from awe.model.job import JobState as J
from awe.model.job import TaskState as T
from awe.model.job import WorkState as W
from awe.model.transitions import (
    WORK_RULES,
    StateError,
    can_move_unit,
    client_next,
    job_next,
    move_unit,
    task_next,
    work_next,
)


@pytest.mark.parametrize(
    ("state", "event", "expected"),
    [
        (J.INIT, "task_enqueued", J.QUEUED),
        (J.IN_PROGRESS, "task_enqueued", J.IN_PROGRESS),
        (J.INIT, "checkout", J.IN_PROGRESS),
        (J.QUEUED, "checkout", J.IN_PROGRESS),
        (J.IN_PROGRESS, "complete", J.COMPLETED),
        (J.QUEUED, "suspend", J.SUSPEND),
        (J.IN_PROGRESS, "suspend", J.SUSPEND),
        (J.SUSPEND, "resume_started", J.IN_PROGRESS),
        (J.SUSPEND, "resume_fresh", J.QUEUED),
        (J.COMPLETED, "recompute_started", J.IN_PROGRESS),
        (J.SUSPEND, "recompute_fresh", J.QUEUED),
        (J.COMPLETED, "delete", J.DELETED),
        (J.SUSPEND, "delete", J.DELETED),
    ],
)
def test_allowed_job_moves(state: J, event: str, expected: J) -> None:
    assert job_next(state, event) == expected


@pytest.mark.parametrize(
    ("state", "event", "message"),
    [
        (J.COMPLETED, "suspend", "job is completed, cannot suspend it"),
        (J.DELETED, "suspend", "job is deleted, cannot suspend it"),
        (J.SUSPEND, "suspend", "job is suspend, cannot suspend it"),
        (J.QUEUED, "resume_started", "job is queued, cannot resume it"),
        (J.COMPLETED, "resume_fresh", "job is completed, cannot resume it"),
        (J.IN_PROGRESS, "recompute_started", "job is in-progress, cannot recompute it"),
        (J.QUEUED, "recompute_fresh", "job is queued, cannot recompute it"),
        (J.DELETED, "delete", "job is deleted, cannot delete it"),
        (J.COMPLETED, "checkout", "job is completed, cannot checkout"),
        (J.DELETED, "complete", "job is deleted, cannot complete"),
    ],
)
def test_refused_job_moves_say_why(state: J, event: str, message: str) -> None:
    with pytest.raises(StateError) as caught:
        job_next(state, event)
    assert caught.value.message == message
    assert caught.value.status == 400


@pytest.mark.parametrize(
    ("state", "event", "expected"),
    [
        (T.INIT, "admit", T.PENDING),
        (T.PENDING, "enqueue", T.QUEUED),
        (T.PENDING, "skip", T.USER_SKIPPED),
        (T.QUEUED, "checkout", T.IN_PROGRESS),
        (T.IN_PROGRESS, "complete", T.COMPLETED),
        (T.SUSPEND, "complete", T.COMPLETED),
        (T.IN_PROGRESS, "fail_skip", T.SKIPPED),
        (T.QUEUED, "suspend", T.SUSPEND),
        (T.SUSPEND, "resume", T.PENDING),
        (T.COMPLETED, "reset", T.PENDING),
        (T.USER_SKIPPED, "reset", T.PENDING),
    ],
)
def test_allowed_task_moves(state: T, event: str, expected: T) -> None:
    assert task_next(state, event) == expected


@pytest.mark.parametrize(
    ("state", "event"),
    [
        (T.COMPLETED, "suspend"),
        (T.PENDING, "suspend"),  # pending tasks stay pending when their job is suspended
        (T.PENDING, "checkout"),
        (T.PENDING, "complete"),
        (T.QUEUED, "resume"),
        (T.COMPLETED, "enqueue"),
    ],
)
def test_refused_task_moves_say_why(state: T, event: str) -> None:
    with pytest.raises(StateError) as caught:
        task_next(state, event)
    assert caught.value.message == f"task is {state}, cannot {event}"


@pytest.mark.parametrize(
    ("state", "event", "expected"),
    [
        (W.QUEUED, "checkout", W.CHECKOUT),
        (W.CHECKOUT, "done", W.DONE),
        (W.SUSPEND, "done", W.DONE),
        (W.CHECKOUT, "retry", W.QUEUED),
        (W.CHECKOUT, "fail_limit", W.SUSPEND),
        (W.CHECKOUT, "release", W.QUEUED),
        (W.QUEUED, "suspend", W.SUSPEND),
        (W.CHECKOUT, "suspend", W.SUSPEND),
        (W.SUSPEND, "resume", W.QUEUED),
        (W.QUEUED, "reattach", W.CHECKOUT),
    ],
)
def test_allowed_workunit_moves(state: W, event: str, expected: W) -> None:
    assert work_next(state, event) == expected


@pytest.mark.parametrize(
    ("state", "event"),
    [
        (W.DONE, "done"),
        (W.QUEUED, "done"),
        (W.DONE, "checkout"),
        (W.CHECKOUT, "checkout"),
        (W.SUSPEND, "checkout"),
        (W.QUEUED, "retry"),
        (W.DONE, "suspend"),
    ],
)
def test_refused_workunit_moves_say_why(state: W, event: str) -> None:
    with pytest.raises(StateError) as caught:
        work_next(state, event)
    assert caught.value.message == f"workunit is {state}, cannot {event}"


def test_every_job_state_can_reach_deleted_except_deleted() -> None:
    for state in J:
        if state == J.DELETED:
            continue
        assert job_next(state, "delete") == J.DELETED


# ---- rules with guards and effects; the client table ----------------------------------------


def _job_with_unit(state: W, client: str = "", job_state: J = J.IN_PROGRESS):
    unit = Workunit(rank=0, state=state, client=client)
    task = Task(id="j_0", cmd={"name": "x"}, split=1, units={0: unit})
    return Job(id="j", jid="1", info={}, tasks=[task], state=job_state), task, unit


@pytest.mark.parametrize(
    ("state", "client", "event", "fields"),
    [
        (W.QUEUED, "", "checkout", {"granted": [("c2", "j_0_0")]}),
        (W.QUEUED, "", "reattach", {"withdraw": ["j_0_0"], "granted": [("c2", "j_0_0")]}),
        (W.CHECKOUT, "c1", "done", {"lease_ended": [("c1", "j_0_0")]}),
        (W.CHECKOUT, "c1", "retry", {"lease_ended": [("c1", "j_0_0")], "offer": ["j_0_0"]}),
        (W.CHECKOUT, "c1", "release", {"lease_ended": [("c1", "j_0_0")], "offer": ["j_0_0"]}),
        (W.CHECKOUT, "c1", "suspend", {"discard": [("c1", "j_0_0")]}),
        (W.QUEUED, "", "suspend", {"withdraw": ["j_0_0"]}),
        (W.SUSPEND, "c1", "drop", {"lease_ended": [("c1", "j_0_0")]}),
    ],
)
def test_a_workunit_rule_performs_its_effects_and_records_the_change(
    state: W, client: str, event: str, fields: dict
) -> None:
    job, task, unit = _job_with_unit(state, client)
    effects = Effects()
    move_unit(job, task, unit, event, effects, client="c2")
    rule = WORK_RULES[(state, event)]
    assert unit.state == rule.new
    assert effects == Effects(**fields)
    expected_client = "c2" if rule.grant else ("" if rule.clear else client)
    assert unit.client == expected_client
    recorded = [(c.kind, c.subject, c.old, c.new) for c in effects.changes]
    assert recorded == ([("workunit", "j_0_0", state, rule.new)] if state != rule.new else [])


@pytest.mark.parametrize("job_state", [J.SUSPEND, J.COMPLETED, J.DELETED])
def test_a_workunit_of_a_job_that_does_not_run_is_not_leased(job_state: J) -> None:
    job, task, unit = _job_with_unit(W.QUEUED, job_state=job_state)
    assert not can_move_unit(job, unit, "checkout")
    effects = Effects()
    with pytest.raises(StateError, match=f"job is {job_state}, cannot checkout its workunit"):
        move_unit(job, task, unit, "checkout", effects, client="c1")
    assert (unit.state, unit.client, effects) == (W.QUEUED, "", Effects())


@pytest.mark.parametrize(
    ("status", "event", "expected"),
    [
        ("active-idle", "lease", "active-busy"),
        ("active-busy", "idle", "active-idle"),
        ("active-busy", "suspend", "suspend"),
        ("suspend", "resume", "active-idle"),
        ("suspend", "delete", "deleted"),
        ("deleted", "delete", "deleted"),
    ],
)
def test_allowed_client_moves(status: str, event: str, expected: str) -> None:
    assert client_next(ClientStatus(status), event) == ClientStatus(expected)


@pytest.mark.parametrize(
    ("status", "event", "message"),
    [
        ("suspend", "suspend", "Client not active"),
        ("deleted", "suspend", "Client not active"),
        ("active-idle", "resume", "Client not suspended"),
        ("suspend", "lease", "client is suspend, cannot lease"),
    ],
)
def test_refused_client_moves_say_why_in_awe_words(status: str, event: str, message: str) -> None:
    with pytest.raises(StateError) as caught:
        client_next(ClientStatus(status), event)
    assert caught.value.message == message
