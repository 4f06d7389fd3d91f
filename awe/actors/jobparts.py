"""What a JobActor needs besides its handlers: its context, ready entries, the workunit rows a
snapshot writes, a lease's delivery, the datastore work it hands to the I/O pool."""

from __future__ import annotations

import concurrent.futures
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from awe.actors.base import reject, resolve, tell_quietly
from awe.actors.messages import GetJob, Lease, PartsJoined, Undelivered
from awe.errors import Unavailable
from awe.events import EventBus
from awe.model import history, lifecycle
from awe.model.effects import Effects
from awe.model.ids import task_and_rank
from awe.model.job import Job, Task, Workunit
from awe.model.lifecycle import Settings
from awe.store.base import JobPart, Report
from awe.store.rules import encode_doc

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
    # reads a job's history rows from the store, run on `read_pool` (live jobs keep none)
    read_history: Callable[[str], list[list[Any]]] | None = None
    read_pool: concurrent.futures.Executor | None = None
    # the datastore, run on `io_pool`: (job, task, file names, ranks) -> {file name: size}
    join_parts: Callable[[str, str, list[str], list[int]], dict[str, int]] | None = None
    delete_data: Callable[[str], Any] | None = None  # (job id): remove the job's files


class ChangeTracker:
    """What a job's next snapshot writes: its fields always, the tasks and workunits the model
    said it changed (`Effects.touched`, `Effects.units`), and the workunit rows it let go of.

    Work per snapshot follows what changed, never the size of the job (nor of a split task:
    ranks never handed out have no row). A job not saved yet (just admitted) is written whole.
    The documents are JSON text at once, so the snapshot stays as it was while the job goes
    on changing (no deep copy).

    Between snapshots it holds nothing: its sets exist only while changes wait (two empty sets
    and a list are ~500 bytes, and most of 100,000 live jobs wait for nothing).
    """

    __slots__ = ("job", "_whole", "_tasks", "_units", "_dropped")

    def __init__(self, job: Job, saved: bool) -> None:
        self.job = job
        self._whole = not saved
        self._tasks: set[str] | None = None
        self._units: set[str] | None = None
        self._dropped: list[str] | None = None

    def add(self, effects: Effects) -> None:
        """Remember what `effects` changed until the next `collect`."""
        if effects.touched:
            self._tasks = self._tasks or set()
            self._tasks |= effects.touched
        if effects.units:
            self._units = self._units or set()
            self._units |= effects.units
        if effects.dropped:
            self._dropped = self._dropped or []
            self._dropped += effects.dropped

    def collect(self) -> tuple[JobPart, list[dict[str, Any]], list[str]]:
        """The job's part to write, rows of the workunits changed, and wuids that are gone."""
        job = self.job
        header = job.to_doc(workunits=False, tasks=False, shared=True)
        if self._whole:
            places: Any = range(len(job.tasks))
            units = [(task, unit) for task in job.tasks for unit in task.started()]
        else:
            places = sorted({job.place(t) for t in self._tasks or () if job.task(t) is not None})
            units = [pair for pair in map(self._kept, self._units or ()) if pair is not None]
        if not job.tasks:
            header["tasks"] = []  # kept inside the document, as the store does with no tasks
        tasks = {n: encode_doc(job.tasks[n].to_doc(workunits=False, shared=True),
                               f"job {job.id} task {n}") for n in places}  # fmt: skip
        part = JobPart(job.id, job.jid, encode_doc(header, f"job {job.id}"), tasks, self._whole)
        rows = [{"wuid": task.wuid(unit), "job_id": job.id, "taskid": task.id, **unit.to_doc()}
                for task, unit in units]  # fmt: skip
        present = {row["wuid"] for row in rows}
        removed = [w for w in dict.fromkeys(self._dropped or ()) if w not in present and not
                   self._kept(w)]  # fmt: skip
        self._whole = False
        self._tasks = self._units = self._dropped = None
        return part, rows, removed

    def _kept(self, wuid: str) -> tuple[Task, Workunit] | None:
        """The workunit of `wuid` if its task keeps it as an object (it has a row)."""
        parts = task_and_rank(wuid)
        task = self.job.task(parts[0]) if parts else None
        unit = task.units.get(parts[1]) if task is not None and parts else None
        return None if unit is None else (task, unit)


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


def stored_history(ctx: JobContext, cmd: GetJob, acl: dict[str, Any]) -> concurrent.futures.Future:
    """The reply target of `GET /job/{id}?history` for a live job: once everything the job did
    so far is durable, its history is read from the store on the read pool, and answered."""
    durable: concurrent.futures.Future = concurrent.futures.Future()

    def read(_: concurrent.futures.Future) -> list[list[Any]]:
        if ctx.read_history is None:
            raise RuntimeError("no history reader configured")
        return ctx.read_history(cmd.job_id)

    def answer(rows: concurrent.futures.Future) -> None:
        try:
            view = history.expand(rows.result(), cmd.job_id, str(acl.get("owner", "")))
        except Exception as err:  # noqa: BLE001 - any store failure: say so
            reject(cmd.reply, Unavailable(f"store unavailable: {err}"))
            return
        resolve(cmd.reply, (view, acl))

    def durable_now(future: concurrent.futures.Future) -> None:
        if (error := future.exception()) is not None:
            reject(cmd.reply, error)
        elif ctx.read_pool is not None:
            ctx.read_pool.submit(read, future).add_done_callback(answer)

    durable.add_done_callback(durable_now)
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


def data_effects(
    ctx: JobContext, ref: Any, job: Job, effects: Effects, joining: dict[str, None] | None
) -> dict[str, None] | None:
    """Hand the datastore work of `effects` to the I/O pool, never the actor's turn: joining a
    split task's parts (its outcome comes back as `PartsJoined`), removing a deleted job's files.

    Returns `joining` (the tasks whose parts are being joined) with the new joins, made on the
    first one."""
    if ctx.io_pool is None:
        return joining
    if effects.delete_data and ctx.delete_data is not None:
        ctx.io_pool.submit(ctx.delete_data, job.id)
    if ctx.join_parts is None:
        return joining
    for task_id in effects.join_parts:
        task = job.task(task_id)
        if task is None or task_id in (joining or ()):
            continue
        joining = joining or {}
        joining[task_id] = None
        names, ranks = lifecycle.joined_outputs(task), list(task.ranks())
        future = ctx.io_pool.submit(ctx.join_parts, job.id, task.user_taskid, names, ranks)
        future.add_done_callback(lambda f, t=task_id, j=job.id: tell_quietly(
            ref, PartsJoined(job_id=j, task_id=t, result=f, stimulus=f"join-{t}")))  # fmt: skip
    return joining
