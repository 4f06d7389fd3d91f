"""The state machines as tables: (state, event) → rule. Anything not listed is refused.

A rule names the new state, and for workunits also its guard (what else must hold) and its
effects (offer or withdraw it, grant or end a lease, tell the worker to discard it), like Dask's
`(start, finish) → transition`. The `move_*` functions are the only places that change a state:
each checks the table, changes the state, records the change and appends the rule's effects.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from awe.errors import AweError
from awe.model.client import Client, ClientStatus
from awe.model.effects import Effects
from awe.model.job import JobState as J
from awe.model.job import TaskState as T
from awe.model.job import WorkState as W

if TYPE_CHECKING:
    from awe.model.job import Job, Task, Workunit


class StateError(AweError):
    """An operation that does not fit the current state (answered 400, says why)."""


_UNFINISHED = (J.INIT, J.QUEUED, J.IN_PROGRESS)

JOB_TRANSITIONS: dict[tuple[J, str], J] = {
    (J.INIT, "task_enqueued"): J.QUEUED,
    (J.QUEUED, "task_enqueued"): J.QUEUED,
    (J.IN_PROGRESS, "task_enqueued"): J.IN_PROGRESS,
    **{(s, "checkout"): J.IN_PROGRESS for s in _UNFINISHED},
    **{(s, "complete"): J.COMPLETED for s in (*_UNFINISHED, J.SUSPEND)},
    **{(s, "suspend"): J.SUSPEND for s in _UNFINISHED},
    (J.SUSPEND, "resume_started"): J.IN_PROGRESS,
    (J.SUSPEND, "resume_fresh"): J.QUEUED,
    **{(s, "recompute_started"): J.IN_PROGRESS for s in (J.COMPLETED, J.SUSPEND)},
    **{(s, "recompute_fresh"): J.QUEUED for s in (J.COMPLETED, J.SUSPEND)},
    **{(s, "delete"): J.DELETED for s in (*_UNFINISHED, J.SUSPEND, J.COMPLETED)},
}

TASK_TRANSITIONS: dict[tuple[T, str], T] = {
    (T.INIT, "admit"): T.PENDING,
    (T.PENDING, "enqueue"): T.QUEUED,
    (T.PENDING, "skip"): T.USER_SKIPPED,
    (T.QUEUED, "checkout"): T.IN_PROGRESS,
    (T.QUEUED, "complete"): T.COMPLETED,
    (T.IN_PROGRESS, "complete"): T.COMPLETED,
    (T.SUSPEND, "complete"): T.COMPLETED,
    (T.QUEUED, "fail_skip"): T.SKIPPED,
    (T.IN_PROGRESS, "fail_skip"): T.SKIPPED,
    **{(s, "suspend"): T.SUSPEND for s in (T.INIT, T.QUEUED, T.IN_PROGRESS)},
    (T.SUSPEND, "resume"): T.PENDING,
    **{(s, "reset"): T.PENDING for s in T},
}


def job_open(job: Job) -> str | None:
    """Guard: work of a job is handed out only while the job runs (or is being admitted)."""
    return None if job.state in _UNFINISHED else f"job is {job.state}"


@dataclass(frozen=True)
class WorkRule:
    """A workunit transition: the new state, its guard, and its effects."""

    new: W
    guard: Callable[[Job], str | None] | None = None
    offer: bool = False  # it becomes ready: offered to the queue
    withdraw: bool = False  # it is no longer ready
    grant: bool = False  # a lease starts (the client is the new holder)
    end: bool = False  # the holder's lease ends (report, release)
    discard: bool = False  # the lease ends and the worker must drop the work
    clear: bool = False  # the workunit no longer names a client


WORK_RULES: dict[tuple[W, str], WorkRule] = {
    (W.QUEUED, "checkout"): WorkRule(W.CHECKOUT, guard=job_open, grant=True),
    (W.QUEUED, "reattach"): WorkRule(W.CHECKOUT, guard=job_open, withdraw=True, grant=True),
    (W.CHECKOUT, "done"): WorkRule(W.DONE, end=True),
    (W.SUSPEND, "done"): WorkRule(W.DONE, end=True),  # finished work that raced a suspension
    (W.CHECKOUT, "retry"): WorkRule(W.QUEUED, end=True, clear=True, offer=True),
    (W.CHECKOUT, "fail_limit"): WorkRule(W.SUSPEND, end=True),
    (W.CHECKOUT, "fail_skip"): WorkRule(W.DONE, end=True, clear=True),  # its task is skipped
    # client lost, suspended, or handed it back
    (W.CHECKOUT, "release"): WorkRule(W.QUEUED, end=True, clear=True, offer=True),
    (W.SUSPEND, "drop"): WorkRule(W.SUSPEND, end=True, clear=True),  # same, job suspended
    (W.QUEUED, "suspend"): WorkRule(W.SUSPEND, withdraw=True),
    (W.CHECKOUT, "suspend"): WorkRule(W.SUSPEND, discard=True),  # keeps its client: see "done"
    (W.SUSPEND, "resume"): WorkRule(W.QUEUED, clear=True),
    (W.QUEUED, "enqueue"): WorkRule(W.QUEUED, clear=True, offer=True),
    (W.SUSPEND, "enqueue"): WorkRule(W.QUEUED, clear=True, offer=True),
    (W.CHECKOUT, "enqueue"): WorkRule(W.QUEUED, end=True, clear=True, offer=True),
}
WORK_TRANSITIONS: dict[tuple[W, str], W] = {key: rule.new for key, rule in WORK_RULES.items()}


_C = ClientStatus
CLIENT_TRANSITIONS: dict[tuple[ClientStatus, str], ClientStatus] = {
    (_C.IDLE, "lease"): _C.BUSY,
    (_C.BUSY, "idle"): _C.IDLE,
    (_C.IDLE, "suspend"): _C.SUSPEND,
    (_C.BUSY, "suspend"): _C.SUSPEND,
    (_C.SUSPEND, "resume"): _C.IDLE,
    **{(s, "delete"): _C.DELETED for s in (_C.IDLE, _C.BUSY, _C.SUSPEND, _C.DELETED)},
}
# AWE's words when an operator's request does not fit the client's state (spec 8.5)
_CLIENT_REFUSALS = {"suspend": "Client not active", "resume": "Client not suspended"}

_JOB_VERBS = {
    "suspend": "suspend it",
    "resume_started": "resume it",
    "resume_fresh": "resume it",
    "recompute_started": "recompute it",
    "recompute_fresh": "recompute it",
    "delete": "delete it",
}


def job_next(state: J, event: str) -> J:
    """The job state `event` leads to; a StateError that says why when the table refuses."""
    try:
        return JOB_TRANSITIONS[(state, event)]
    except KeyError:
        verb = _JOB_VERBS.get(event, event)
        raise StateError(f"job is {state}, cannot {verb}") from None


def task_next(state: T, event: str) -> T:
    """The task state `event` leads to, or a StateError."""
    try:
        return TASK_TRANSITIONS[(state, event)]
    except KeyError:
        raise StateError(f"task is {state}, cannot {event}") from None


def work_next(state: W, event: str) -> W:
    """The workunit state `event` leads to, or a StateError."""
    return work_rule(state, event).new


def work_rule(state: W, event: str) -> WorkRule:
    """The workunit rule of (state, event), or a StateError."""
    try:
        return WORK_RULES[(state, event)]
    except KeyError:
        raise StateError(f"workunit is {state}, cannot {event}") from None


def client_next(status: ClientStatus, event: str) -> ClientStatus:
    """The client status `event` leads to, or a StateError in AWE's words."""
    try:
        return CLIENT_TRANSITIONS[(status, event)]
    except KeyError:
        message = _CLIENT_REFUSALS.get(event, f"client is {status}, cannot {event}")
        raise StateError(message) from None


# ---- applying the tables -------------------------------------------------------------------


def move_job(job: Job, event: str, fx: Effects, detail: str = "") -> None:
    """Change a job's state by the table and record the change."""
    old = job.state
    job.state = job_next(old, event)
    fx.record("job", job.id, old, job.state, detail)


def move_task(task: Task, event: str, fx: Effects, detail: str = "") -> None:
    """Change a task's state by the table and record the change."""
    old = task.state
    task.state = task_next(old, event)
    fx.touch(task.id)
    fx.record("task", task.id, old, task.state, detail)


def can_move_unit(job: Job, unit: Workunit, event: str) -> bool:
    """Whether the table allows `event` for this workunit now, guard included."""
    rule = WORK_RULES.get((unit.state, event))
    return rule is not None and (rule.guard is None or rule.guard(job) is None)


def move_unit(
    job: Job, task: Task, unit: Workunit, event: str, fx: Effects, client: str = "",
    detail: str = "",
) -> None:  # fmt: skip
    """Apply a workunit rule: guard, new state, the client it names, and the rule's effects."""
    rule = work_rule(unit.state, event)
    if rule.guard is not None and (why := rule.guard(job)) is not None:
        raise StateError(f"{why}, cannot {event} its workunit")
    wuid = task.wuid(unit)
    old, holder = unit.state, unit.client
    unit.state = rule.new
    fx.units.add(wuid)  # its row only: the task's own document did not change
    if rule.offer:
        fx.offer.append(wuid)
    if rule.withdraw:
        fx.withdraw.append(wuid)
    if rule.end and holder:
        fx.lease_ended.append((holder, wuid))
    if rule.discard:
        fx.discard.append((holder, wuid))
    if rule.clear:
        unit.client = ""
    if rule.grant:
        unit.client = client
        fx.granted.append((client, wuid))
    fx.record("workunit", wuid, old, unit.state, detail or (client if rule.grant else ""))


def move_units(
    job: Job, task: Task, event: str, fx: Effects, states: tuple[W, ...]
) -> list[Workunit]:
    """Apply `event` to every workunit of `task` in one of `states`, in rank order.

    Ranks never handed out move together: the task's `unstarted` state changes once, each of
    them is still recorded as a change of its own, and the rule's offer or withdrawal is one for
    the whole task. Linear in the split only when those ranks move (suspend, resume); returns
    the workunit objects that moved.
    """
    moving = task.unstarted in states and task.unstarted_count() > 0
    rule = work_rule(task.unstarted, event) if moving else None
    if rule is not None and rule.guard is not None and (why := rule.guard(job)) is not None:
        raise StateError(f"{why}, cannot {event} its workunit")
    moved = []
    if rule is None or rule.new == task.unstarted:  # no rank never handed out changes state
        for unit in task.started():
            if unit.state in states:
                move_unit(job, task, unit, event, fx)
                moved.append(unit)
    else:
        _move_unstarted(job, task, event, fx, states, rule.new, moved)
    if rule is not None:
        if rule.offer:
            fx.offer_tasks.append(task.id)
        if rule.withdraw:
            fx.withdraw_tasks.append(task.id)
    return moved


def _move_unstarted(job: Job, task: Task, event: str, fx: Effects, states: tuple[W, ...],
                    new: W, moved: list[Workunit]) -> None:  # fmt: skip
    """Every rank in rank order: objects by their rule, the others recorded as they move."""
    old = task.unstarted
    for rank in task.ranks():
        unit = task.units.get(rank)
        if unit is None:
            fx.record("workunit", f"{task.id}_{rank}", old, new)
        elif unit.state in states:
            move_unit(job, task, unit, event, fx)
            moved.append(unit)
    task.unstarted = new
    fx.touch(task.id)


def move_client(client: Client, event: str, fx: Effects, detail: str = "") -> None:
    """Change a client's status by the table and record the change."""
    old = client.status
    client.status = client_next(old, event)
    fx.record("client", client.id, old, client.status, detail)
