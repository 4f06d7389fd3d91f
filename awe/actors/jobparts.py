"""What a JobActor needs besides its handlers: its context, ready entries, the workunit rows a
snapshot writes, a lease's delivery, the datastore work it hands to the I/O pool."""

from __future__ import annotations

import concurrent.futures
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from awe.actors.base import tell_quietly
from awe.actors.messages import Lease, PartsJoined, Undelivered
from awe.events import EventBus
from awe.model import lifecycle
from awe.model.effects import Effects
from awe.model.job import Job, Workunit
from awe.model.lifecycle import Settings
from awe.model.matching import ReadyEntry
from awe.store.base import Report

log = logging.getLogger("awe.actors.job")


@dataclass
class JobContext:
    """The refs a JobActor talks to (pykka ActorRefs) and the settings it applies."""

    queue: Any
    registry: Any
    snapshots: Any
    settings: Settings
    events: EventBus
    client_timeout_s: float = 40.0
    # creates Shock nodes: (outputs as [(host, filename)], parts, token) -> {filename: node id};
    # run on `io_pool` so that a slow Shock never holds a job actor's turn
    create_nodes: Callable[[list[tuple[str, str]], int, str | None], dict[str, str]] | None = None
    io_pool: concurrent.futures.Executor | None = None
    # reads a job from the store (id -> document or None), run on `read_pool` by the queue
    read_job: Callable[[str], dict[str, Any] | None] | None = None
    read_pool: concurrent.futures.Executor | None = None
    # the datastore, run on `io_pool`: (job, task, file names, ranks) -> {file name: size}
    join_parts: Callable[[str, str, list[str], list[int]], dict[str, int]] | None = None
    delete_data: Callable[[str], Any] | None = None  # (job id): remove the job's files


def ready_entry(job: Job, wuid: str) -> ReadyEntry:
    """What the ready index needs to order and match a workunit, and the view it lists."""
    task, unit = lifecycle.find_unit(job, wuid)
    size = sum(int(i.get("size") or 0) for i in task.inputs)
    return ReadyEntry(
        wuid=wuid,
        job_id=job.id,
        priority=job.priority,
        submittime=job.info.get("submittime", ""),
        clientgroups=lifecycle.effective_clientgroups(job, task),
        cmd_name=task.cmd.get("name", ""),
        size=size,
        view=lifecycle.workunit_view(job, task, unit),
    )


class UnitTracker:
    """Which workunit rows a job's next snapshot writes: those changed, and those gone.

    Per task it remembers the workunit list last handed to the store and its wuids; a snapshot
    writes only workunits marked changed, and forgets those of a replaced list (a recompute).
    """

    def __init__(self, job: Job) -> None:
        self.job = job
        self._saved: dict[str, tuple[list[Workunit], set[str]]] = {}

    def collect(self) -> tuple[list[dict[str, Any]], list[str]]:
        """Rows of workunits changed since the last call, and wuids that are gone."""
        rows: list[dict[str, Any]] = []
        removed: list[str] = []
        for task in self.job.tasks:
            units = task.workunits
            saved = self._saved.get(task.id)
            if saved is None or saved[0] is not units:  # a new list: new split or recompute
                wuids = {task.wuid(unit) for unit in units}
                removed.extend(w for w in (saved[1] if saved else ()) if w not in wuids)
                self._saved[task.id] = (units, wuids)
            for unit in units:
                if unit.changed:
                    rows.append({"wuid": task.wuid(unit), "job_id": self.job.id,
                                 "taskid": task.id, **unit.to_doc()})  # fmt: skip
                    unit.changed = False
        return rows, removed


def delivery(ref: Any, cmd: Lease) -> concurrent.futures.Future:
    """The reply target of a lease: once durable it answers the checkout, if that still waits.

    A lease whose write failed (503), or whose checkout gave up meanwhile (its deadline, a
    long poll cancelled), reaches no worker: the JobActor releases it again, never left held.
    """
    durable: concurrent.futures.Future = concurrent.futures.Future()

    def done(future: concurrent.futures.Future) -> None:
        error = future.exception()
        if error is None:
            try:
                cmd.pick.reply.set_result(future.result())
                return
            except concurrent.futures.InvalidStateError:
                pass  # the checkout was given up meanwhile
        tell_quietly(ref, Undelivered(job_id=cmd.job_id, wuid=cmd.wuid, client=cmd.client,
                                      checkout=cmd.pick.reply, error=error,
                                      stimulus=cmd.stimulus))  # fmt: skip

    durable.add_done_callback(done)
    return durable


def delivered_outputs(reports: tuple[Report, ...]) -> list[dict[str, Any]]:
    """The `outputs` part of a report (awe's worker): JSON list of {filename, node, url, size}."""
    for report in reports:
        if report.name == "outputs":
            try:
                records = json.loads(report.content)
            except ValueError:
                return []
            return records if isinstance(records, list) else []
    return []


def data_effects(ctx: JobContext, ref: Any, job: Job, effects: Effects, joining: set[str]) -> None:
    """Hand the datastore work of `effects` to the I/O pool, never the actor's turn: joining a
    split task's parts (its outcome comes back as `PartsJoined`), removing a deleted job's files."""
    if ctx.io_pool is None:
        return
    if effects.delete_data and ctx.delete_data is not None:
        ctx.io_pool.submit(ctx.delete_data, job.id)
    if ctx.join_parts is None:
        return
    for task_id in effects.join_parts:
        task = job.task(task_id)
        if task is None or task_id in joining:
            continue
        joining.add(task_id)
        names, ranks = lifecycle.joined_outputs(task), [u.rank for u in task.workunits]
        future = ctx.io_pool.submit(ctx.join_parts, job.id, task.user_taskid, names, ranks)
        future.add_done_callback(lambda f, t=task_id, j=job.id: tell_quietly(
            ref, PartsJoined(job_id=j, task_id=t, result=f, stimulus=f"join-{t}")))  # fmt: skip
