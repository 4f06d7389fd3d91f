"""What a job's effects offer to the ready index: one entry per offered task, its queued ranks
as runs, and one per workunit offered on its own (a retry, a release)."""

from __future__ import annotations

from awe.model import lifecycle
from awe.model.effects import Effects
from awe.model.job import Job, Task, WorkState
from awe.model.matching import ReadyEntry
from awe.model.ranks import Run


def ready_entries(job: Job, effects: Effects) -> tuple[ReadyEntry, ...]:
    """What the ready index needs to order and match the workunits `effects` offer: one entry
    per offered task (its queued ranks as runs), and one per workunit offered on its own.

    Only workunits still queued now are offered (a later change of the same command may have
    held them back again).
    """
    tasks = dict.fromkeys(effects.offer_tasks)
    out = []
    for task_id in tasks:
        task = job.task(task_id)
        runs = task.ranks_in(WorkState.QUEUED) if task is not None else []
        if task is not None and runs:
            out.append(_entry(job, task, wuid="", runs=tuple(runs)))
    for wuid in dict.fromkeys(effects.offer):
        task, unit = lifecycle.find_unit(job, wuid)
        if task.id not in tasks and unit.state == WorkState.QUEUED:
            out.append(_entry(job, task, wuid=wuid))
    return tuple(out)


def _entry(job: Job, task: Task, wuid: str, runs: tuple[Run, ...] = ()) -> ReadyEntry:
    return ReadyEntry(
        wuid=wuid,
        job_id=job.id,
        priority=job.priority,
        submittime=job.info.get("submittime", ""),
        clientgroups=lifecycle.effective_clientgroups(job, task),
        cmd_name=task.cmd.get("name", ""),
        size=sum(int(i.get("size") or 0) for i in task.inputs),
        runs=runs,
        task_id=task.id,
    )
