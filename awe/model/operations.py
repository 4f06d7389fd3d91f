"""Operations on a whole job: resume, recompute, delete, recover, resubmit, clientgroup, priority,
pipeline.

Pure functions like those of `lifecycle` (which holds the workunit flow and `suspend`, since a
failing workunit suspends its job): they check first, then change the job in place through the
transition tables, and return `Effects`.
"""

from __future__ import annotations

from awe.errors import AweError
from awe.model import dag, updates
from awe.model.ids import task_id
from awe.model.job import (
    ACTIVE_JOB_STATES,
    DONE_TASK_STATES,
    NO_UNITS,
    Job,
    JobState,
    Task,
    TaskState,
    WorkState,
)
from awe.model.lifecycle import (
    Effects,
    Settings,
    enqueue_ready_tasks,
    recount,
    rejoin,
    withdraw_task,
)
from awe.model.times import ZERO_TIME
from awe.model.transitions import (
    StateError,
    job_next,
    move_job,
    move_task,
    move_unit,
    move_units,
)


def _unsuspend_tasks(job: Job, effects: Effects) -> None:
    """Suspended tasks go back to pending; their unfinished workunits get a fresh failure count."""
    for task in job.tasks:
        if task.state == TaskState.SUSPEND:
            move_task(task, "resume", effects)
        for unit in move_units(job, task, "resume", effects, (WorkState.SUSPEND,)):
            unit.failed = 0


def _has_progress(job: Job) -> bool:
    return job.remaintasks < len(job.tasks) or any(
        u.state == WorkState.DONE for t in job.tasks for u in t.units.values()
    )


def resume(job: Job, now: str, settings: Settings) -> Effects:
    """Continue where the job stopped: finished workunits stay finished."""
    effects = Effects()
    event = "resume_started" if _has_progress(job) else "resume_fresh"
    move_job(job, event, effects, "resumed")
    job.resumed += 1
    _unsuspend_tasks(job, effects)
    _offer_queued_units(job, effects)
    enqueue_ready_tasks(job, now, settings, effects)
    return effects


def _offer_queued_units(job: Job, effects: Effects) -> None:
    """Every queued rank of the enqueued tasks goes to the queue (one offer per task)."""
    for task in job.tasks:
        if task.state in (TaskState.QUEUED, TaskState.IN_PROGRESS):
            effects.offer_tasks.append(task.id)


def recompute(job: Job, user_taskid: str, now: str, settings: Settings) -> Effects:
    """Reset a task and every task downstream of it, along every path (D19, fixes 12.6)."""
    start = job.task(task_id(job.id, user_taskid))
    if start is None:
        raise AweError(f"task {user_taskid} not found in job {job.id}")
    if job.state not in (JobState.COMPLETED, JobState.SUSPEND):
        raise StateError(f"job is {job.state}, cannot recompute it (only completed or suspended)")
    parents = {t.id: t.depends_on for t in job.tasks}
    reset_ids = {start.id} | dag.descendants(parents, start.id)
    event = "recompute_started" if len(reset_ids) < len(job.tasks) else "recompute_fresh"
    job_next(job.state, event)  # refused here, before anything changed
    effects = Effects()
    for task in job.tasks:
        if task.id in reset_ids:
            withdraw_task(task, effects)
            _reset_task(task, effects)
    _unsuspend_tasks(job, effects)
    recount(job)
    move_job(job, event, effects, f"recomputed from task {start.id}")
    job.notes = f"recomputed from task {start.id}"
    job.info["completedtime"] = ZERO_TIME
    _offer_queued_units(job, effects)
    enqueue_ready_tasks(job, now, settings, effects)
    return effects


def _reset_task(task: Task, effects: Effects) -> None:
    move_task(task, "reset", effects)
    effects.dropped.extend(task.wuid(unit) for unit in task.units.values())
    task.units, task.split, task.unstarted = NO_UNITS, 0, WorkState.QUEUED
    task.remainwork = task.totalwork
    task.workstatus = [""] * task.totalwork
    task.computetime = 0
    task.createddate = task.starteddate = task.completeddate = ZERO_TIME
    for entry in task.inputs:
        if entry.get("origin"):
            entry["node"], entry["url"] = "-", ""
            entry.pop("size", None)
    updates.reset(task)
    for out in task.outputs:  # a Shock node holds one upload: a recomputed task needs new ones
        if out.pop("node_created", False):
            out["node"], out["url"] = "-", ""
        out.pop("size", None)


def delete(job: Job, now: str) -> Effects:
    """State `deleted`; queued work withdrawn, leased work discarded, files removed.

    The document is kept; the job's datastore folder goes.
    """
    effects = Effects(delete_data=True)
    move_job(job, "delete", effects, "deleted")
    job.notes = "deleted"
    for task in job.tasks:
        withdraw_task(task, effects)
    return effects


def recover(job: Job, now: str, settings: Settings) -> tuple[Effects, dict[str, str]]:
    """After a restart: offer queued work again and return the leases waiting for re-attach (D3)."""
    effects = Effects()
    leases: dict[str, str] = {}
    for task in job.tasks:
        if task.state == TaskState.INIT:
            move_task(task, "admit", effects)
        for unit in task.started():
            if unit.state == WorkState.CHECKOUT:
                leases[task.wuid(unit)] = unit.client
    if job.state != JobState.SUSPEND:
        _offer_queued_units(job, effects)
        rejoin(job, effects)
        enqueue_ready_tasks(job, now, settings, effects)
    return effects, leases


def resubmit(job: Job, now: str, settings: Settings) -> Effects:
    """Put a job that was in the store but not in the queue back to work (D2)."""
    if job.state in (JobState.COMPLETED, JobState.DELETED):
        raise StateError(f"job is {job.state}, cannot resubmit it (use ?recompute=<taskid>)")
    released = Effects()
    for task in job.tasks:
        for unit in task.started():
            if unit.state == WorkState.CHECKOUT:  # those leases died with the old server
                move_unit(job, task, unit, "release", released, detail="resubmitted")
    if job.state == JobState.SUSPEND:
        effects = resume(job, now, settings)
    else:
        effects, _ = recover(job, now, settings)
    effects.lease_ended[:0] = released.lease_ended
    effects.changes[:0] = released.changes
    return effects


def set_clientgroups(job: Job, names: str) -> Effects:
    """Where unfinished work may run from now on; queued workunits are re-indexed."""
    job.info["clientgroups"] = names
    effects = _reindex(job)
    for task in job.tasks:
        if task.state not in DONE_TASK_STATES:
            task.clientgroups = ""
            effects.touch(task.id)
    return effects


def set_pipeline(job: Job, name: str) -> Effects:
    """`info.pipeline` names the job's pipeline: listings, ?distinct and expiration defaults use it."""
    job.info["pipeline"] = name
    return Effects()


def set_priority(job: Job, priority: int) -> Effects:
    job.info["priority"] = max(1, priority)
    return _reindex(job)


def _reindex(job: Job) -> Effects:
    """Queued ranks are offered again, with the job's new priority or clientgroups."""
    effects = Effects()
    if job.state in ACTIVE_JOB_STATES:
        for task in job.tasks:
            if task.ranks_in(WorkState.QUEUED):
                effects.withdraw_tasks.append(task.id)
                effects.offer_tasks.append(task.id)
    return effects
