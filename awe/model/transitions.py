"""The state machines as tables: (state, event) → new state. Anything not listed is refused.

Lifecycle code asks `job_next(state, event)` instead of assigning states, so every allowed
move is visible here in one place, and a refused move carries a message a user can act on.
"""

from __future__ import annotations

from awe.errors import AweError
from awe.model.job import JobState as J
from awe.model.job import TaskState as T
from awe.model.job import WorkState as W


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

WORK_TRANSITIONS: dict[tuple[W, str], W] = {
    (W.QUEUED, "checkout"): W.CHECKOUT,
    (W.CHECKOUT, "done"): W.DONE,
    (W.SUSPEND, "done"): W.DONE,  # finished work that raced a suspension is kept
    (W.CHECKOUT, "retry"): W.QUEUED,
    (W.CHECKOUT, "fail_limit"): W.SUSPEND,
    (W.CHECKOUT, "release"): W.QUEUED,  # client lost, suspended, or handed it back
    (W.QUEUED, "suspend"): W.SUSPEND,
    (W.CHECKOUT, "suspend"): W.SUSPEND,
    (W.SUSPEND, "resume"): W.QUEUED,
    (W.QUEUED, "reattach"): W.CHECKOUT,
}

_JOB_VERBS = {
    "suspend": "suspend it",
    "resume_started": "resume it",
    "resume_fresh": "resume it",
    "recompute_started": "recompute it",
    "recompute_fresh": "recompute it",
    "delete": "delete it",
}


def job_next(state: J, event: str) -> J:
    try:
        return JOB_TRANSITIONS[(state, event)]
    except KeyError:
        verb = _JOB_VERBS.get(event, event)
        raise StateError(f"job is {state}, cannot {verb}") from None


def task_next(state: T, event: str) -> T:
    try:
        return TASK_TRANSITIONS[(state, event)]
    except KeyError:
        raise StateError(f"task is {state}, cannot {event}") from None


def work_next(state: W, event: str) -> W:
    try:
        return WORK_TRANSITIONS[(state, event)]
    except KeyError:
        raise StateError(f"workunit is {state}, cannot {event}") from None
