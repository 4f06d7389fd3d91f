"""JobActor: one per live job; the only owner of that job's document.

Every method applies one rule from `awe.model.lifecycle`, then `_commit` performs the effects:
ready workunits to the QueueActor, discards to the ClientRegistryActor, the snapshot to the
SnapshotActor (which answers the request once durable). A finished job stops its actor.
"""

from __future__ import annotations

import concurrent.futures
import json
import logging
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

from awe.actors.base import PooledActor, Reply, reject, resolve, tell_quietly
from awe.errors import AweError
from awe.model import compat, expiration, lifecycle, operations, split
from awe.model.job import (
    ACTIVE_JOB_STATES,
    FINISHED_JOB_STATES,
    Job,
    JobState,
    Workunit,
    public_job,
)
from awe.model.lifecycle import Effects, Settings
from awe.model.matching import ReadyEntry
from awe.model.times import now
from awe.store.base import Report

log = logging.getLogger(__name__)


# On a job that is not in the queue these change its document only: it is not run again
DOCUMENT_ONLY_OPS = frozenset({"suspend", "clientgroup", "priority", "pipeline", "expiration"})


@dataclass
class JobContext:
    """The refs a JobActor talks to (pykka proxies) and the settings it applies."""

    queue: Any
    registry: Any
    snapshots: Any
    settings: Settings
    # creates Shock nodes: (outputs as [(host, filename)], parts, token) -> {filename: node id};
    # run on `io_pool` so that a slow Shock never holds a job actor's turn
    create_nodes: Callable[[list[tuple[str, str]], int, str | None], dict[str, str]] | None = None
    io_pool: concurrent.futures.Executor | None = None


class JobActor(PooledActor):
    def __init__(
        self, job: Job, context: JobContext, revived: bool = False, from_store: bool = False
    ) -> None:
        super().__init__()
        self.job = job
        self.ctx = context
        # per task: the workunit list last handed to the store, and its wuids; a snapshot
        # writes only workunits marked changed, and forgets those of a replaced list
        self._saved_lists: dict[str, tuple[list[Workunit], set[str]]] = {}
        if revived or from_store:
            self._collect_unit_changes()  # what came from the store is saved already
        # started from the store only to run one operation: leaves again if that is refused
        self.revived = revived
        self._preparing: set[str] = set()  # tasks whose Shock output nodes are being created
        # changes not yet handed to the SnapshotActor: one snapshot per burst of messages
        self._unsaved: list[tuple[Reply | None, Any, list[Report]]] = []

    # ---- admission ------------------------------------------------------------------------

    def admit(self, reply: Reply | None = None) -> None:
        """A new job: durable first, then its ready workunits go to the queue.

        The answer is the job as it was before it was queued (`init`), as AWE answers it.
        """
        before = self._public()
        effects = lifecycle.admit(self.job, now(), self.ctx.settings)
        self._commit(effects, reply, answer=before)
        log.info("job %s (jid %s) submitted: %d task(s)", self.job.id, self.job.jid,
                 len(self.job.tasks))  # fmt: skip

    def recover(self, reply: Reply | None = None) -> None:
        effects, leases = operations.recover(self.job, now(), self.ctx.settings)
        self.ctx.queue.await_reattach.defer(leases)
        self._commit(effects, reply, answer=self.job.id)

    # ---- workunits ------------------------------------------------------------------------

    def checkout(self, wuid: str, client: str, checkout_time: str) -> None:
        if lifecycle.checkout(self.job, wuid, client, checkout_time):
            self._commit(Effects())
        else:  # the queue raced a suspension or deletion: the worker must drop it
            self.ctx.registry.discard.defer(client, wuid)
            self.ctx.queue.lease_ended.defer(wuid)

    def report(
        self,
        wuid: str,
        client: str,
        status: str,
        computetime: int,
        notes: str,
        reports: list[Report],
        reply: Reply | None = None,
    ) -> None:
        try:
            applied, effects = lifecycle.report(
                self.job, wuid, client, status, computetime=computetime, notes=notes,
                now=now(), settings=self.ctx.settings, delivered=_delivered(reports),
            )  # fmt: skip
        except AweError as err:
            reject(reply, err)
            return
        self.ctx.registry.work_reported.defer(client, wuid, status, applied)
        if not applied:
            log.info("report %s for %s from %s ignored (not the lease holder or stale)",
                     status, wuid, client)  # fmt: skip
            resolve(reply, "ok")
            return
        self.ctx.queue.lease_ended.defer(wuid)
        log.info("workunit %s %s (client %s)", wuid, status, client)
        self._commit(effects, reply, answer="ok", reports=reports)

    def release(self, wuid: str, client: str) -> None:
        effects = Effects()
        if lifecycle.release(self.job, wuid, client, effects):
            log.info("workunit %s released from client %s, back in the queue", wuid, client)
            self.ctx.queue.lease_ended.defer(wuid)
            self._commit(effects)

    def reattach(self, wuid: str, client: str, checkout_time: str) -> None:
        effects = Effects()
        if lifecycle.reattach(self.job, wuid, client, checkout_time, effects):
            self.ctx.queue.leased.defer(wuid, client)
            self._commit(effects)
        else:
            self.ctx.registry.discard.defer(client, wuid)

    def secret(self, wuid: str, client: str, kind: str, reply: Reply | None = None) -> None:
        """The data token or private env, only for the client holding `wuid` (D10)."""
        try:
            task, unit = lifecycle.find_unit(self.job, wuid)
        except AweError as err:
            reject(reply, err)
            return
        if unit.client != client or unit.state != "checkout":
            reject(reply, AweError(f"error in getting {kind} for job {wuid}: not the holder"))
            return
        if kind == "datatoken":
            token = self.job.info.get("datatoken")
            if not token:
                reject(reply, AweError(f"error in getting token for job {wuid}"))
            else:
                resolve(reply, token)
        else:
            resolve(reply, dict((task.cmd.get("environ") or {}).get("private") or {}))

    def workunit(self, wuid: str, reply: Reply | None = None) -> None:
        try:
            task, unit = lifecycle.find_unit(self.job, wuid)
        except AweError as err:
            reject(reply, err)
            return
        resolve(reply, lifecycle.workunit_view(self.job, task, unit))

    def overview(self, workunits: bool = False, reply: Reply | None = None) -> None:
        """This job's counts for `GET /queue`, and its workunits in the queue for `GET /work`."""
        resolve(reply, compat.job_overview(self.job, workunits))

    # ---- Shock output nodes ---------------------------------------------------------------

    def _create_nodes(self, task_ids: list[str]) -> None:
        if self.ctx.create_nodes is None or self.ctx.io_pool is None:
            return
        me = self.actor_ref.proxy()
        for task_id in task_ids:
            task = self.job.task(task_id)
            if task is None or task_id in self._preparing:
                continue
            self._preparing.add(task_id)
            wanted = [(out["host"], out["filename"]) for out in lifecycle.missing_nodes(task)]
            parts = split.workunit_count(task, self.ctx.settings.max_split)
            token = self.job.info.get("datatoken")
            future = self.ctx.io_pool.submit(self.ctx.create_nodes, wanted, parts, token)
            future.add_done_callback(lambda f, t=task_id: tell_quietly(me.nodes_created, t, f))

    def nodes_created(self, task_id: str, future: concurrent.futures.Future) -> None:
        """Shock answered for a task's output nodes: enqueue it, or suspend the job (spec 4.6)."""
        self._preparing.discard(task_id)
        if self.job.state not in (JobState.INIT, *ACTIVE_JOB_STATES):
            return  # suspended or deleted meanwhile; resuming asks for the nodes again
        try:
            nodes = future.result()
        except Exception as err:  # noqa: BLE001 - any failure to create is an enqueue failure
            effects = Effects()
            reason = f"failed enqueuing task {task_id}, err={err}"
            lifecycle.suspend(self.job, reason, now(), effects, lastfailed=task_id)
            log.warning("job %s suspended: %s", self.job.id, reason)
        else:
            effects = lifecycle.nodes_created(self.job, task_id, nodes, now(), self.ctx.settings)
        self._commit(effects)

    # ---- job operations -------------------------------------------------------------------

    def get(self, reply: Reply | None = None) -> None:
        """The job as users see it, and its ACL for the handler to check."""
        resolve(reply, (self._public(), dict(self.job.acl)))

    def operate(self, op: str, arg: Any, reply: Reply | None = None) -> None:
        """suspend, resume, resubmit, recompute, clientgroup, priority, pipeline, expiration,
        delete (spec 4.7, v0.9.30)."""
        job, settings, at = self.job, self.ctx.settings, now()
        try:
            if op == "suspend":
                effects = Effects()
                lifecycle.suspend(job, "manually suspended", at, effects)
                answer = f"job suspended: {job.id}"
            elif op == "resume":
                effects = operations.resume(job, at, settings)
                answer = f"job resumed: {job.id}"
            elif op == "resubmit":
                effects = operations.resubmit(job, at, settings)
                answer = f"job resubmitted: {job.id}"
            elif op == "recompute":
                effects = operations.recompute(job, arg, at, settings)
                answer = f"job recompute started: {job.id}"
            elif op == "clientgroup":
                effects = operations.set_clientgroups(job, arg)
                answer = f"job group updated: {job.id} to {arg}"
            elif op == "priority":
                effects = operations.set_priority(job, arg)
                answer = f"job priority updated: {job.id} to {job.priority}"
            elif op == "pipeline":
                effects = operations.set_pipeline(job, arg)
                answer = f"job pipeline updated: {job.id} to {arg}"
            elif op == "expiration":
                effects = Effects()
                when = expiration.go_time(expiration.set_expiration(job, arg, at))
                answer = f"expiration '{when}' set for job: {job.id}"
            elif op == "delete":
                effects = operations.delete(job, at)
                answer = f"job deleted: {job.id}"
            else:
                raise AweError("requested job operation not supported")
        except AweError as err:
            reject(reply, err)
            self._leave_queue_unless_live()
            return
        log.info("job %s: %s -> %s", job.id, op, job.state)
        self._commit(effects, reply, answer=answer)
        if self.revived and op in DOCUMENT_ONLY_OPS:
            self._leave_queue_unless_live()
        self.revived = False

    # ---- effects --------------------------------------------------------------------------

    def _public(self) -> dict[str, Any]:
        return public_job(self.job.to_doc(), registered=True)

    def _commit(
        self,
        effects: Effects,
        reply: Reply | None = None,
        answer: Any = None,
        reports: list[Report] | None = None,
    ) -> None:
        job = self.job
        for full_task_id in effects.completed_tasks:
            self._join_parts(full_task_id)
        if effects.create_nodes:
            self._create_nodes(effects.create_nodes)
        job.updatetime = now()
        finished = job.state in FINISHED_JOB_STATES
        if callable(answer):
            answer = answer()
        self._unsaved.append((reply, answer, reports or []))
        if finished:
            self.on_turn_end()
        for client, wuid in effects.discard:  # before the offers: the lease is over first
            self.ctx.queue.lease_ended.defer(wuid)
            if client:
                self.ctx.registry.discard.defer(client, wuid)
        offers = [self._entry(wuid) for wuid in effects.offer] if not finished else []
        self.ctx.queue.job_changed.defer(job.id, str(job.state), effects.withdraw, offers, finished)
        for client, wuid in effects.lease_ended:
            self.ctx.registry.lease_ended.defer(client, wuid)
        if finished:
            log.info("job %s %s", job.id, job.state)
            self.stop()

    def on_turn_end(self) -> None:
        """Hand one snapshot of the job, with every reply waiting on it, to the SnapshotActor.

        A large job (thousands of workunits) is serialised once per burst of reports, not once
        per report; each reply is still sent only when the snapshot is durable (D4).
        """
        if not self._unsaved:
            return
        unsaved, self._unsaved = self._unsaved, []
        reports = [report for _, _, batch in unsaved for report in batch]
        waiters = [(reply, answer) for reply, answer, _ in unsaved if reply is not None]
        changed, removed = self._collect_unit_changes()
        self.ctx.snapshots.save.defer(
            self.job.to_doc(workunits=False),
            reports,
            waiters=waiters,
            workunits=changed,
            removed_workunits=removed,
        )

    def _collect_unit_changes(self) -> tuple[list[dict[str, Any]], list[str]]:
        """Rows of workunits changed since the last snapshot, and wuids that are gone."""
        rows: list[dict[str, Any]] = []
        removed: list[str] = []
        for task in self.job.tasks:
            units = task.workunits
            saved = self._saved_lists.get(task.id)
            if saved is None or saved[0] is not units:  # a new list: new split or recompute
                wuids = {task.wuid(unit) for unit in units}
                removed.extend(w for w in (saved[1] if saved else ()) if w not in wuids)
                self._saved_lists[task.id] = (units, wuids)
            for unit in units:
                if unit.changed:
                    rows.append({"wuid": task.wuid(unit), "job_id": self.job.id,
                                 "taskid": task.id, **unit.to_doc()})  # fmt: skip
                    unit.changed = False
        return rows, removed

    def _entry(self, wuid: str) -> ReadyEntry:
        task, unit = lifecycle.find_unit(self.job, wuid)
        size = sum(int(i.get("size") or 0) for i in task.inputs)
        return ReadyEntry(
            wuid=wuid,
            job_id=self.job.id,
            priority=self.job.priority,
            submittime=self.job.info.get("submittime", ""),
            clientgroups=lifecycle.effective_clientgroups(self.job, task),
            cmd_name=task.cmd.get("name", ""),
            size=size,
            view=lifecycle.workunit_view(self.job, task, unit),
        )

    def _join_parts(self, full_task_id: str) -> None:
        """A split task's datastore outputs are its ranks' parts joined in rank order (D18)."""
        task = self.job.task(full_task_id)
        if task is None or len(task.workunits) < 2:
            return
        for out in task.outputs:
            if not out.get("datastore") or not out.get("url"):
                continue
            target = Path(unquote(urlparse(out["url"]).path))
            parts = [Path(f"{target}.part{u.rank}") for u in task.workunits]
            missing = [p.name for p in parts if not p.exists()]
            if missing:
                log.error("task %s output %s: missing parts %s", task.id, out["filename"], missing)
                continue
            partial = target.with_name(target.name + ".joining")
            with partial.open("wb") as sink:
                for part in parts:
                    with part.open("rb") as source:
                        shutil.copyfileobj(source, sink, 1024 * 1024)
            partial.replace(target)
            out["size"] = target.stat().st_size
            for part in parts:
                part.unlink(missing_ok=True)

    def _leave_queue_unless_live(self) -> None:
        """A finished job, or one revived from the store for one operation, is store-only again."""
        if self.revived or self.job.state in FINISHED_JOB_STATES:
            self.ctx.queue.job_changed.defer(self.job.id, str(self.job.state), [], [], True)
            self.stop()

    def on_stop(self) -> None:
        log.debug("job actor for %s stopped (%s)", self.job.id, self.job.state)


def _delivered(reports: list[Report]) -> list[dict[str, Any]]:
    """The `outputs` part of a report (awe's worker): JSON list of {filename, node, url, size}."""
    for report in reports:
        if report.name == "outputs":
            try:
                records = json.loads(report.content)
            except ValueError:
                return []
            return records if isinstance(records, list) else []
    return []
