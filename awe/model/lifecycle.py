"""What happens to a job's work: admit, enqueue, checkout, report, release, reattach, suspend.

Pure functions on a `Job`. Each checks what it needs first, then changes the job in place,
only through the transition tables (`awe.model.transitions`), and records in an `Effects`
what the rest of the server must do (offer workunits to the queue, withdraw them, announce
lease changes) and every state change it made; the JobActor performs those effects. No threads,
no I/O here.
"""

from __future__ import annotations

import copy
import heapq
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from awe.errors import AweError, NotFound
from awe.model import expiration, split, updates
from awe.model.effects import Change, Effects
from awe.model.ids import task_and_rank, task_id
from awe.model.job import (
    ACTIVE_JOB_STATES,
    DONE_TASK_STATES,
    Job,
    JobState,
    Task,
    TaskState,
    WorkState,
    Workunit,
    public_cmd,
    public_info,
    sized,
)
from awe.model.times import ZERO_TIME
from awe.model.transitions import can_move_unit, move_job, move_task, move_unit, move_units

__all__ = ["Change", "Effects", "Settings"]

REPORT_STATUSES = ("done", "fail", "discarded")


@dataclass
class Settings:
    max_work_failure: int = 3
    # "http://<server>/data": outputs with no location go to the server's datastore (D11), at
    # <datastore_url>/<job>/<task>/<file>; "" leaves them where the script put them
    datastore_url: str = ""
    # AWE pre-creates each Shock output's node before enqueueing a task (spec 5.1 step 4), so
    # workers (v0.9 ones too) upload into it, and the ranks of a split task into its parts
    create_shock_nodes: bool = False
    # v0.9.30: the expiration a job gets when it completes without one (`<N><M|H|D>`, "" never)
    global_expire: str = ""
    pipeline_expire: dict[str, str] = field(default_factory=dict)
    max_split: int | None = None  # limits.totalwork_per_task: the most maxworksize may split into


# ---- lookups -----------------------------------------------------------------------------


def find_unit(job: Job, wuid: str) -> tuple[Task, Workunit]:
    """The task and workunit of `wuid`; a rank never handed out comes as a new object that the
    task does not keep (`Task.keep` it before changing it)."""
    parts = task_and_rank(wuid)
    task = job.task(parts[0]) if parts else None
    unit = task.unit(parts[1]) if task and parts else None
    if task is None or unit is None:
        raise NotFound(f"no workunit found with id {wuid}")
    return task, unit


def effective_clientgroups(job: Job, task: Task) -> str:
    """A task's own clientgroups win over the job's, for that task only (fixes spec 12.7)."""
    return task.clientgroups or job.info.get("clientgroups", "")


def workunit_view(job: Job, task: Task, unit: Workunit) -> dict[str, Any]:
    """The workunit as a worker receives it at checkout (spec 3.3, 14)."""
    outputs = copy.deepcopy(task.outputs)  # a split rank uploads its part: `?rank=` of the url
    split_name = split.split_input(task)
    part = None
    if split_name is not None:
        part = {"input": split_name, "index": "line", "rank": unit.rank,
                "totalwork": task.split}  # fmt: skip
    return {
        "wuid": task.wuid(unit),
        "info": {**public_info(job.info), "clientgroups": effective_clientgroups(job, task)},
        "inputs": sized(copy.deepcopy(task.inputs)),
        "outputs": sized(outputs),
        "predata": sized(copy.deepcopy(task.predata)),
        "cmd": public_cmd(task.cmd),
        "app": None,
        "rank": unit.rank,
        "totalwork": task.split,
        "part": part,
        "state": str(unit.state),
        "failed": unit.failed,
        "checkout_time": unit.checkout_time,
        "client": unit.client,
        "computetime": unit.computetime,
        "notes": unit.notes,
        "userattr": copy.deepcopy(task.userattr),
    }


def recount(job: Job) -> None:
    job.remaintasks = sum(1 for t in job.tasks if t.state not in DONE_TASK_STATES)


def _skippable(task: Task) -> bool:
    return len(task.inputs) == 1 and len(task.outputs) == 1 and len(task.depends_on) <= 1


# ---- admission and enqueueing ----------------------------------------------------------------


def admit(job: Job, now: str, settings: Settings) -> Effects:
    """A newly submitted job: every task is handed to the queue, the ready ones enqueued."""
    effects = Effects()
    effects.record("job", job.id, "", job.state, "submitted")
    for task in job.tasks:
        if task.state == TaskState.INIT:
            move_task(task, "admit", effects)
    enqueue_ready_tasks(job, now, settings, effects)
    return effects


def enqueue_ready_tasks(
    job: Job, now: str, settings: Settings, effects: Effects, after: Task | None = None
) -> None:
    """Enqueue every pending task whose dependencies are done, until nothing more is ready.

    With `after` (a task that just finished) only its dependents, and theirs in turn, are
    looked at: nothing else can have become ready, so a report costs the same in a job of
    10,000 tasks as in a job of one. The order is that of a pass over every task.
    """
    if job.state not in (JobState.INIT, *ACTIVE_JOB_STATES):
        return
    if after is None:
        places = list(range(len(job.tasks)))
    else:
        places = list(job.dependents(after.id))
    while places:
        heapq.heapify(places)
        later: list[int] = []  # found in this pass before the place it was found at: next pass
        while places:
            place = heapq.heappop(places)
            if places and places[0] == place:
                continue
            task = job.tasks[place]
            if task.state != TaskState.PENDING or not _deps_done(job, task):
                continue
            outcome = _make_ready(job, task, now, settings, effects)
            if outcome is None:  # the job was suspended
                return
            if outcome:
                for child in job.dependents(task.id):
                    (heapq.heappush(places, child) if child > place else later.append(child))
                if after is None:  # a full pass looks at every task again, as it always did
                    later = list(range(len(job.tasks)))
        places = later
    if job.remaintasks == 0 and job.state != JobState.COMPLETED:
        _complete_job(job, now, settings, effects)


def _make_ready(job: Job, task: Task, now: str, settings: Settings,
                effects: Effects) -> bool | None:  # fmt: skip
    """Skip or enqueue one ready task: True if it progressed, None if the job got suspended."""
    if task.skip == 1 and _skippable(task):
        move_task(task, "skip", effects)
        _one_less(job)
        return True
    effects.touch(task.id)  # updates.locate may fill in its update outputs
    if (problem := updates.locate(job, task)) is not None:
        reason = f"failed enqueuing task {task.id}, err={problem}"
        suspend(job, reason, now, effects, lastfailed=task.id)
        return None
    if settings.create_shock_nodes and missing_nodes(task):
        if task.id not in effects.create_nodes:
            effects.create_nodes.append(task.id)
        return False
    _enqueue_task(job, task, now, settings, effects)
    return True


def _one_less(job: Job) -> None:
    """A task just reached a done state from one that was not: one task fewer remains."""
    job.remaintasks = max(0, job.remaintasks - 1)


def missing_nodes(task: Task) -> list[dict[str, Any]]:
    """Shock outputs that still need a node before the task's workunits can be handed out."""
    return [
        out
        for out in task.outputs
        if out.get("host") and out.get("node", "-") == "-" and not out.get("nofile")
        and out.get("type") != "update"
    ]  # fmt: skip


def nodes_created(
    job: Job, full_task_id: str, nodes: dict[str, str], now: str, settings: Settings
) -> Effects:
    """The Shock nodes of a task's outputs exist now (filename → node id): enqueue it."""
    effects = Effects()
    task = job.task(full_task_id)
    if task is None:
        return effects
    effects.touch(task.id)
    for out in task.outputs:
        node = nodes.get(out["filename"])
        if node and out.get("node", "-") == "-":
            out["node"], out["node_created"] = node, True
            out["url"] = f"{out['host'].rstrip('/')}/node/{node}?download"
    enqueue_ready_tasks(job, now, settings, effects)
    return effects


def _deps_done(job: Job, task: Task) -> bool:
    for parent_id in task.depends_on:
        parent = job.task(parent_id)
        if parent is None or parent.state not in DONE_TASK_STATES:
            return False
    return True


def _enqueue_task(job: Job, task: Task, now: str, settings: Settings, effects: Effects) -> None:
    effects.touch(task.id)  # its inputs and outputs get their locations
    _resolve_origins(job, task)
    _place_outputs(job, task, settings)
    if not task.split:  # N ranks, none of them an object until it is handed out
        task.split = split.workunit_count(task, settings.max_split)
        task.workstatus = [""] * task.split
    move_units(job, task, "enqueue", effects, (WorkState.QUEUED, WorkState.SUSPEND,
                                               WorkState.CHECKOUT))  # fmt: skip
    effects.offer_tasks.append(task.id)
    done = sum(1 for unit in task.units.values() if unit.state == WorkState.DONE)
    task.remainwork = len(task.ranks()) - done
    move_task(task, "enqueue", effects)
    if task.createddate == ZERO_TIME:
        task.createddate = now
    task.starteddate = now
    move_job(job, "task_enqueued", effects)
    if task.remainwork == 0:
        _finish_work(job, task, now, settings, effects)


def _resolve_origins(job: Job, task: Task) -> None:
    """Inputs with `origin` take the location of the producing task's output (D11)."""
    for entry in task.inputs:
        origin = entry.get("origin")
        if not origin:
            continue
        producer = job.task(task_id(job.id, origin))
        if producer is None:
            continue
        for out in producer.outputs:
            if out["filename"] != entry["filename"]:
                continue
            if out.get("node", "-") != "-":
                entry["node"] = out["node"]
                host = entry.get("host") or out.get("host", "")
                entry["host"] = host
                entry["url"] = f"{host.rstrip('/')}/node/{out['node']}?download"
            elif out.get("url"):
                entry["url"] = out["url"]
                if out.get("datastore"):
                    entry["datastore"] = True
            if "size" in out:
                entry["size"] = out["size"]


def _place_outputs(job: Job, task: Task, settings: Settings) -> None:
    if not settings.datastore_url:
        return
    for out in task.outputs:
        if out.get("nofile") or out.get("host") or (out.get("url") and not out.get("datastore")):
            continue
        names = (job.id, task.user_taskid, out["filename"])
        out["url"] = settings.datastore_url + "".join(f"/{quote(n, safe='')}" for n in names)
        out["datastore"] = True


# ---- checkout and reports ----------------------------------------------------------------------


def checkout(job: Job, wuid: str, client: str, now: str, effects: Effects | None = None) -> bool:
    """Lease a queued workunit to `client`; False when it is no longer queued (a lost race)."""
    task, unit = find_unit(job, wuid)
    if not can_move_unit(job, unit, "checkout"):
        return False
    _lease(job, task, unit, "checkout", client, now, effects if effects is not None else Effects())
    return True


def _lease(job: Job, task: Task, unit: Workunit, event: str, client: str, now: str,
           effects: Effects) -> None:  # fmt: skip
    task.keep(unit)  # handed out: from now on the rank is an object of its own
    move_unit(job, task, unit, event, effects, client=client)
    unit.checkout_time = now
    if task.state == TaskState.QUEUED:
        move_task(task, "checkout", effects)
        task.starteddate = now
    move_job(job, "checkout", effects)
    if job.info.get("startedtime", ZERO_TIME) == ZERO_TIME:
        job.info["startedtime"] = now


def report(
    job: Job,
    wuid: str,
    client: str,
    status: str,
    *,
    computetime: int,
    notes: str,
    now: str,
    settings: Settings,
    delivered: list[dict[str, Any]] | None = None,
) -> tuple[bool, Effects]:
    """Apply a worker's status report; only the lease holder's report counts (D5).

    Returns (applied, effects). A duplicate or stale report is not applied and changes nothing;
    a report for a workunit the job does not have is a NotFound (404).
    """
    if status not in REPORT_STATUSES:
        raise AweError(f"invalid status: {status}")
    effects = Effects()
    task, unit = find_unit(job, wuid)
    if unit.client != client or unit.state not in (WorkState.CHECKOUT, WorkState.SUSPEND):
        return False, effects
    if _closed(job, task):
        return False, effects
    if status == "fail" and unit.state != WorkState.CHECKOUT:
        return False, effects
    effects.touch(task.id, task.wuid(unit))
    slot = max(unit.rank - 1, 0)
    if slot < len(task.workstatus):
        task.workstatus[slot] = status
    if status == "done":
        _record_delivered(task, unit, delivered or [])
        _work_done(job, task, unit, computetime, now, settings, effects)
    elif status == "fail":
        _work_failed(job, task, unit, notes, now, settings, effects)
    else:  # discarded: the holder hands it back; it runs again unless the job is suspended
        event = "release" if unit.state == WorkState.CHECKOUT else "drop"
        move_unit(job, task, unit, event, effects, detail="discarded by its client")
    return True, effects


def _work_done(job: Job, task: Task, unit: Workunit, computetime: int, now: str,
               settings: Settings, effects: Effects) -> None:  # fmt: skip
    move_unit(job, task, unit, "done", effects)
    unit.computetime = computetime
    task.computetime += computetime
    task.remainwork = max(0, task.remainwork - 1)  # a workunit becomes done exactly once
    if task.remainwork == 0 and task.state != TaskState.COMPLETED:
        _finish_work(job, task, now, settings, effects)


def needs_join(task: Task) -> bool:
    """A split task's datastore outputs are its ranks' parts until the server joins them."""
    return task.split > 1 and bool(joined_outputs(task))


def joined_outputs(task: Task) -> list[str]:
    """File names of a task's outputs that the server keeps (and joins, for a split task)."""
    return [o["filename"] for o in task.outputs if o.get("datastore") and not o.get("nofile")]


def _finish_work(job: Job, task: Task, now: str, settings: Settings, effects: Effects) -> None:
    """Every workunit is done: the task completes, once its parts are joined (if any)."""
    if needs_join(task):
        if task.id not in effects.join_parts:
            effects.join_parts.append(task.id)
    else:
        _complete_task(job, task, now, settings, effects)


def parts_joined(
    job: Job, full_task_id: str, sizes: dict[str, int], now: str, settings: Settings
) -> Effects:
    """The server joined a split task's parts (file name -> size): the task completes."""
    effects = Effects()
    task = job.task(full_task_id)
    if task is None or task.remainwork != 0 or task.state not in _JOINABLE:
        return effects  # suspended, recomputed or deleted meanwhile: a later join decides
    if job.state not in (JobState.INIT, *ACTIVE_JOB_STATES):
        return effects
    effects.touch(task.id)
    for out in task.outputs:
        if out.get("filename") in sizes:
            out["size"] = sizes[out["filename"]]
    _complete_task(job, task, now, settings, effects)
    return effects


def rejoin(job: Job, effects: Effects) -> None:
    """After a restart: split tasks whose ranks all finished but whose join was not recorded."""
    for task in job.tasks:
        if task.state in _JOINABLE and task.split and task.remainwork == 0 and needs_join(task):
            if task.id not in effects.join_parts:
                effects.join_parts.append(task.id)


_JOINABLE = (TaskState.QUEUED, TaskState.IN_PROGRESS)


def _record_delivered(task: Task, unit: Workunit, delivered: list[dict[str, Any]]) -> None:
    """Where the worker put its outputs (a Shock node it created, the size it wrote).

    Only an unsplit task's single workunit names the task's output; parts of split tasks are
    joined by the server (datastore) or assembled by Shock into the pre-set node.
    """
    if unit.rank != 0:
        return
    by_name = {out["filename"]: out for out in task.outputs}
    for record in delivered:
        out = by_name.get(record.get("filename", "")) if isinstance(record, dict) else None
        if out is None:
            continue
        node = record.get("node")
        if isinstance(node, str) and node not in ("", "-") and out.get("host"):
            out["node"], out["node_created"] = node, True
            out["url"] = f"{out['host'].rstrip('/')}/node/{node}?download"
        if isinstance(record.get("size"), int):
            out["size"] = record["size"]


def _work_failed(job: Job, task: Task, unit: Workunit, notes: str, now: str,
                 settings: Settings, effects: Effects) -> None:  # fmt: skip
    unit.failed += 1
    unit.notes = notes
    limit = 1 if job.info.get("noretry") else settings.max_work_failure
    wuid = task.wuid(unit)
    why = f"failed: {notes}" if notes else "failed"
    if task.skip == 2 and _skippable(task):
        move_unit(job, task, unit, "fail_skip", effects, detail=why)
        move_task(task, "fail_skip", effects)
        withdraw_task(task, effects)
        _one_less(job)
        enqueue_ready_tasks(job, now, settings, effects, after=task)
    elif unit.failed < limit:
        move_unit(job, task, unit, "retry", effects, detail=why)
    else:
        move_unit(job, task, unit, "fail_limit", effects, detail=why)
        reason = f"workunit {wuid} failed {limit} time(s)."
        if notes:
            reason += f" msg from client:{notes}"
        suspend(job, reason, now, effects, lastfailed=wuid)


def _complete_task(job: Job, task: Task, now: str, settings: Settings, effects: Effects) -> None:
    move_task(task, "complete", effects)
    task.completeddate = now
    effects.completed_tasks.append(task.id)
    _one_less(job)
    enqueue_ready_tasks(job, now, settings, effects, after=task)
    if job.remaintasks == 0 and job.state != JobState.COMPLETED:
        _complete_job(job, now, settings, effects)


def _complete_job(job: Job, now: str, settings: Settings, effects: Effects) -> None:
    move_job(job, "complete", effects)
    job.info["completedtime"] = now
    expiration.on_completion(job, now, settings.global_expire, settings.pipeline_expire)


def _closed(job: Job, task: Task) -> bool:
    """A deleted job or a skipped task takes no more reports and hands out no more work."""
    return job.state == JobState.DELETED or task.state == TaskState.SKIPPED


def withdraw_task(task: Task, effects: Effects) -> None:
    """None of the task's ranks is ready any more; holders are told to drop theirs."""
    effects.withdraw_tasks.append(task.id)
    for unit in task.started():
        if unit.state == WorkState.CHECKOUT:
            effects.discard.append((unit.client, task.wuid(unit)))


def release(job: Job, wuid: str, client: str, effects: Effects, detail: str = "") -> bool:
    """The holder is lost or suspended: its workunit goes back to the queue, no failure counted."""
    try:
        task, unit = find_unit(job, wuid)
    except AweError:
        return False
    if unit.client != client or _closed(job, task):
        return False
    if unit.state == WorkState.CHECKOUT:
        move_unit(job, task, unit, "release", effects, detail=detail)
        return True
    if unit.state == WorkState.SUSPEND:
        move_unit(job, task, unit, "drop", effects, detail=detail)
        return True
    return False


def reattach(job: Job, wuid: str, client: str, now: str, effects: Effects) -> bool:
    """A re-registering worker says it still holds `wuid`: give it back the lease (spec 6.1)."""
    try:
        task, unit = find_unit(job, wuid)
    except AweError:
        return False
    if _closed(job, task):
        return False
    if unit.state == WorkState.CHECKOUT:
        return unit.client == client
    if can_move_unit(job, unit, "reattach"):
        _lease(job, task, unit, "reattach", client, now, effects)
        return True
    return False


# ---- job operations ----------------------------------------------------------------------------


def suspend(job: Job, reason: str, now: str, effects: Effects, lastfailed: str = "") -> None:
    """Withhold queued work and tell holders to discard theirs (spec 4.6)."""
    move_job(job, "suspend", effects, reason)
    job.notes = reason
    if lastfailed:
        job.lastfailed = lastfailed
    for task in job.tasks:
        if task.state in _SUSPENDABLE:
            move_task(task, "suspend", effects)
        move_units(job, task, "suspend", effects, (WorkState.QUEUED, WorkState.CHECKOUT))


_SUSPENDABLE = frozenset({TaskState.INIT, TaskState.QUEUED, TaskState.IN_PROGRESS})
