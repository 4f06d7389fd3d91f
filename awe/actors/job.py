"""JobActor: one per live job; the only owner of that job's document, workunits and leases.

Each handler applies one rule of `awe.model` (which checks before it changes anything), then
`_commit` performs the effects: ready workunits to the QueueActor, lease changes to the
ClientRegistryActor, events to the bus and the job's history. Every answer waits until the job's
latest state is durable (`on_turn_end` hands one snapshot per burst of messages to the
SnapshotActor, with the replies waiting on it). A finished job, once durable, hands its commands
back to the queue and stops: the store serves it from then on.
"""

from __future__ import annotations

import concurrent.futures
import functools
import logging
import time
from typing import Any

from awe.actors.base import (
    PooledActor,
    Supervised,
    handles,
    refuse_envelope,
    reject,
    tell_quietly,
)
from awe.actors.jobparts import (
    ChangeTracker,
    JobContext,
    data_effects,
    delivered_outputs,
    delivery,
    stored_history,
)
from awe.actors.messages import (
    Admit,
    ApplyReport,
    DataRights,
    Durable,
    GetJob,
    GetWorkunit,
    JobChanged,
    JobCommand,
    JobCrashed,
    JobOverview,
    Lease,
    LeaseChanged,
    NodesCreated,
    OperateJob,
    PartsJoined,
    Reattach,
    Recover,
    Release,
    Reroute,
    Retiring,
    Save,
    Secret,
    Sync,
    Tick,
    Undelivered,
    Waiter,
    WakeAt,
)
from awe.actors.operate import apply_operation
from awe.errors import AweError, Internal, Unavailable
from awe.events import make
from awe.model import compat, data_access, history, lifecycle, operations, rights, split
from awe.model.effects import Effects
from awe.model.history import HISTORY_SIZE
from awe.model.job import FINISHED_JOB_STATES, Job, JobState, public_job
from awe.model.offers import ready_entries
from awe.model.times import now, parse_time
from awe.model.transitions import can_move_unit
from awe.store.base import Report

log = logging.getLogger(__name__)
JOB_RIGHTS = {"write": "job.operate", "delete": "job.delete"}  # OperateJob.right -> rights key

__all__ = ["JobActor", "JobContext"]


class JobActor(Supervised, PooledActor):
    """One live job: applies commands to it through the model and performs their effects."""

    def __init__(
        self, job: Job, context: JobContext, from_store: bool = False, revived: bool = False
    ) -> None:
        super().__init__()
        self.job = job
        self.ctx = context
        self._changes = ChangeTracker(job, saved=from_store)  # a new job is written whole
        # loaded from the store only to run one operation: leaves again unless it runs again
        self.revived = revived
        # None until first used, and again once handed on: an empty dict costs 64 bytes, a
        # list 56, times 100,000 live jobs that mostly wait for nothing (dicts as ordered sets)
        self._preparing: dict[str, None] | None = None  # tasks whose Shock nodes are being made
        self._joining: dict[str, None] | None = None  # split tasks whose parts are being joined
        self._dirty = False  # changed since the last snapshot handed to the SnapshotActor
        self._reports: list[Report] | None = None
        self._new_history: list[dict[str, Any]] | None = None  # rows not yet handed to the store
        self._waiters: list[Waiter] | None = None  # answers waiting for the next durable snapshot
        self._told_state = ""  # the job state the queue last heard
        self._orphans: dict[str, tuple[str, float]] | None = None  # wuid -> (client, deadline)
        self._retire_asked = False  # a finished snapshot's durability is awaited
        self._retiring = False  # told the queue it leaves: every command goes back to it
        self._crashed = False  # a message raised a BaseException: nothing more is saved

    # ---- supervision ----------------------------------------------------------------------

    def on_receive(self, message: Any) -> None:
        if self._retiring and isinstance(message, JobCommand):
            self.ctx.queue.tell(Reroute(command=message, ref=self.actor_ref))
            return
        self.dispatch(message)

    def on_refused(self, message: Any) -> None:
        """A command that reached this actor after it stopped goes back to the queue."""
        if isinstance(message, JobCommand):
            tell_quietly(self.ctx.queue, Reroute(command=message, ref=self.actor_ref))
        else:
            reject(getattr(message, "reply", None), Unavailable("server is shutting down"))

    def late_refusal(self) -> Any:
        """Once this actor is gone, its job's commands still reach the queue (which serves the
        job from the store); nothing here holds the actor, so it is freed at once."""
        return functools.partial(refuse_envelope, message_refused=functools.partial(
            _reroute_late, self.ctx.queue))  # fmt: skip

    def on_crash(self, reason: str, message: Any) -> None:
        """Nothing of this turn is saved (it may be half done), the answers it owed are refused,
        and the queue restarts the job from the store."""
        super().on_crash(reason, message)
        self._crashed = True
        waiters, self._waiters = self._waiters or [], None
        for reply, _ in waiters:
            reject(reply, Internal("internal error: the job's actor stopped; try again"))
        tell_quietly(self.ctx.queue, JobCrashed(job_id=self.job.id, ref=self.actor_ref,
                                                reason=reason))  # fmt: skip

    # ---- admission and recovery ------------------------------------------------------------

    @handles(Admit)
    def _admit(self, cmd: Admit) -> None:
        """A new job: durable first, then its ready workunits go to the queue.

        The answer is the job as it was before it was queued (`init`), as AWE answers it.
        """
        before = self._public()
        self._commit(lifecycle.admit(self.job, now(), self.ctx.settings), cmd.stimulus)
        self._answer(cmd, before)
        log.info("job %s (jid %s) submitted: %d task(s)", self.job.id, self.job.jid,
                 len(self.job.tasks))  # fmt: skip

    @handles(Recover)
    def _recover(self, cmd: Recover) -> None:
        """After a restart: leases found in the store wait a client timeout for their worker."""
        effects, leases = operations.recover(self.job, now(), self.ctx.settings)
        deadline = time.time() + self.ctx.client_timeout_s
        for wuid, client in leases.items():
            self._orphans = self._orphans or {}
            self._orphans[wuid] = (client, deadline)
            self.ctx.registry.tell(LeaseChanged(wuid=wuid, client=client, granted=True,
                                                stimulus=cmd.stimulus))  # fmt: skip
        if leases:
            self.ctx.queue.tell(WakeAt(job_id=self.job.id, at=deadline))
        # a job that comes back as it was is not written again (a restart rewrote them all)
        self._commit(effects, cmd.stimulus, save=bool(effects.changes))
        self._answer(cmd, self.job.id)

    @handles(Tick)
    def _tick(self, cmd: Tick) -> None:
        """Release leases whose worker did not re-attach in time; retry leaving if it failed."""
        moment = parse_time(cmd.at).timestamp()
        effects = Effects()
        for wuid, (client, deadline) in list((self._orphans or {}).items()):
            if deadline <= moment:
                self._forget_orphan(wuid)
                if lifecycle.release(self.job, wuid, client, effects, "its client did not return"):
                    log.info("workunit %s: client %s did not re-attach, requeued", wuid, client)
        if self._orphans:
            soonest = min(deadline for _, deadline in self._orphans.values())
            self.ctx.queue.tell(WakeAt(job_id=self.job.id, at=soonest))
        if effects.changes:
            self._commit(effects, cmd.stimulus, outcome="released")
        self._retire_asked = False  # a failed retirement is tried again
        self._answer(cmd, None)

    def _forget_orphan(self, wuid: str) -> None:
        """A lease found at start was reported, released, re-attached or timed out."""
        if self._orphans is not None:
            self._orphans.pop(wuid, None)
            if not self._orphans:
                self._orphans = None

    # ---- workunits ------------------------------------------------------------------------

    @handles(Lease)
    def _lease(self, cmd: Lease) -> None:
        """The queue picked `wuid` for a checkout: lease it, or let the queue pick again."""
        pick = cmd.pick
        if pick.reply is not None and pick.reply.done():  # the checkout gave up meanwhile
            _, unit = lifecycle.find_unit(self.job, cmd.wuid)
            if can_move_unit(self.job, unit, "checkout"):
                self._commit(Effects(offer=[cmd.wuid]), cmd.stimulus)
            return
        effects = Effects()
        if not lifecycle.checkout(self.job, cmd.wuid, cmd.client, cmd.at, effects):
            self.ctx.queue.tell(pick)  # raced a suspension: the queue picks again
            return
        self._commit(effects, cmd.stimulus)
        task, unit = lifecycle.find_unit(self.job, cmd.wuid)
        view = lifecycle.workunit_view(self.job, task, unit)
        self._wait(delivery(self.actor_ref, cmd), view)
        log.debug("checkout %s -> client %s", cmd.wuid, cmd.client)

    @handles(ApplyReport)
    def _report(self, cmd: ApplyReport) -> None:
        applied, effects = lifecycle.report(
            self.job, cmd.wuid, cmd.client, cmd.status, computetime=cmd.computetime,
            notes=cmd.notes, now=now(), settings=self.ctx.settings,
            delivered=delivered_outputs(cmd.reports),
        )  # fmt: skip
        if applied:
            self._forget_orphan(cmd.wuid)
            log.debug("workunit %s %s (client %s)", cmd.wuid, cmd.status, cmd.client)
            self._commit(effects, cmd.stimulus, reports=cmd.reports, outcome=cmd.status)
        else:
            log.info("report %s for %s from %s ignored (not the lease holder or stale)",
                     cmd.status, cmd.wuid, cmd.client)  # fmt: skip
        self._answer(cmd, "ok")

    @handles(Release)
    def _release(self, cmd: Release) -> None:
        effects = Effects()
        released = lifecycle.release(self.job, cmd.wuid, cmd.client, effects, cmd.why)
        if released:
            self._forget_orphan(cmd.wuid)
            log.info("workunit %s released from client %s (%s)", cmd.wuid, cmd.client, cmd.why)
            self._commit(effects, cmd.stimulus, outcome="released")
        self._answer(cmd, released)

    @handles(Undelivered)
    def _undelivered(self, cmd: Undelivered) -> None:
        effects = Effects()
        if lifecycle.release(self.job, cmd.wuid, cmd.client, effects, "checkout not delivered"):
            self._commit(effects, cmd.stimulus, outcome="released")
        if cmd.error is not None:  # after the offer went to the queue: a retry finds it
            reject(cmd.checkout, cmd.error)

    @handles(Reattach)
    def _reattach(self, cmd: Reattach) -> None:
        effects = Effects()
        held = lifecycle.reattach(self.job, cmd.wuid, cmd.client, cmd.at, effects)
        if held:
            self._forget_orphan(cmd.wuid)
            self._commit(effects, cmd.stimulus, counted=False)
        self._answer(cmd, held)

    @handles(Secret)
    def _secret(self, cmd: Secret) -> None:
        """The data token or private env, only for the client holding `wuid` (D10)."""
        task, unit = lifecycle.find_unit(self.job, cmd.wuid)
        rights.authorize_holder(cmd.client, unit.client if unit.state == "checkout" else "")
        if cmd.kind == "datatoken":
            token = self.job.info.get("datatoken")
            if not token:
                raise AweError(f"error in getting token for job {cmd.wuid}")
            self._answer(cmd, token)
        else:
            self._answer(cmd, dict((task.cmd.get("environ") or {}).get("private") or {}))

    @handles(JobOverview)
    def _overview(self, cmd: JobOverview) -> None:
        """This job's counts for `GET /queue`, and its workunits in the queue for `GET /work`."""
        self._answer(cmd, compat.job_overview(self.job, cmd.workunits))

    @handles(GetWorkunit)
    def _workunit(self, cmd: GetWorkunit) -> None:
        task, unit = lifecycle.find_unit(self.job, cmd.wuid)
        self._answer(cmd, (lifecycle.workunit_view(self.job, task, unit), dict(self.job.acl)))

    # ---- datastore ------------------------------------------------------------------------

    @handles(DataRights)
    def _data_rights(self, cmd: DataRights) -> None:
        """May this request read or write the job's files? The rule: `model.data_access`."""
        self._answer(cmd, data_access.decide(self.job, cmd.ask))

    @handles(PartsJoined)
    def _parts_joined(self, msg: PartsJoined) -> None:
        """The parts are joined: the task completes; a join that failed suspends the job."""
        if self._joining is not None:
            self._joining.pop(msg.task_id, None)
        try:
            sizes = msg.result.result()
        except Exception as err:  # noqa: BLE001 - a missing or unreadable part, a full disk
            if self.job.state in FINISHED_JOB_STATES or self.job.state == JobState.SUSPEND:
                return
            effects = self._suspended_by(
                msg.task_id, f"failed joining the parts of task {msg.task_id}, err={err}"
            )
        else:
            effects = lifecycle.parts_joined(self.job, msg.task_id, sizes, now(),
                                             self.ctx.settings)  # fmt: skip
        self._commit(effects, msg.stimulus)

    def _suspended_by(self, task_id: str, reason: str) -> Effects:
        """A task's I/O failed (joining parts, creating Shock nodes): the job is suspended."""
        effects = Effects()
        lifecycle.suspend(self.job, reason, now(), effects, lastfailed=task_id)
        log.warning("job %s suspended: %s", self.job.id, reason)
        return effects

    # ---- Shock output nodes ---------------------------------------------------------------

    def _create_nodes(self, task_ids: list[str]) -> None:
        if self.ctx.create_nodes is None or self.ctx.io_pool is None:
            return
        ref = self.actor_ref
        for task_id in task_ids:
            task = self.job.task(task_id)
            if task is None or task_id in (self._preparing or ()):
                continue
            self._preparing = self._preparing or {}
            self._preparing[task_id] = None
            wanted = [(out["host"], out["filename"]) for out in lifecycle.missing_nodes(task)]
            parts = split.workunit_count(task, self.ctx.settings.max_split)
            token = self.job.info.get("datatoken")
            future = self.ctx.io_pool.submit(self.ctx.create_nodes, wanted, parts, token)
            future.add_done_callback(lambda f, t=task_id: tell_quietly(
                ref, NodesCreated(job_id=self.job.id, task_id=t, result=f,
                                  stimulus=f"nodes-{t}")))  # fmt: skip

    @handles(NodesCreated)
    def _nodes_created(self, msg: NodesCreated) -> None:
        """Shock answered for a task's output nodes: enqueue it, or suspend the job (spec 4.6)."""
        if self._preparing is not None:
            self._preparing.pop(msg.task_id, None)
        if self.job.state in FINISHED_JOB_STATES or self.job.state == JobState.SUSPEND:
            return  # suspended or deleted meanwhile; resuming asks for the nodes again
        try:
            nodes = msg.result.result()
        except Exception as err:  # noqa: BLE001 - any failure to create is an enqueue failure
            effects = self._suspended_by(
                msg.task_id, f"failed enqueuing task {msg.task_id}, err={err}"
            )
        else:
            effects = lifecycle.nodes_created(self.job, msg.task_id, nodes, now(),
                                              self.ctx.settings)  # fmt: skip
        self._commit(effects, msg.stimulus)

    # ---- job operations -------------------------------------------------------------------

    @handles(GetJob)
    def _get(self, cmd: GetJob) -> None:
        """The job as users see it (or its history), and its ACL for the handler to check."""
        if cmd.history:  # the store has it: read there once the events so far are durable
            self._wait(stored_history(self.ctx, cmd, dict(self.job.acl)), None)
            return
        self._answer(cmd, (self._public(), dict(self.job.acl)))

    @handles(OperateJob)
    def _operate(self, cmd: OperateJob) -> None:
        rights.authorize_job(JOB_RIGHTS[cmd.right], cmd.caller, self.job.acl)
        if cmd.op == "resubmit" and not self.revived:
            raise AweError(f"job {self.job.id} is already in the queue")
        effects, answer = apply_operation(self.job, cmd.op, cmd.arg, self.ctx.settings)
        log.info("job %s: %s -> %s", self.job.id, cmd.op, self.job.state)
        if cmd.op in ("resume", "resubmit", "recompute"):
            self.revived = False  # it runs again: it stays in the queue
        self._commit(effects, cmd.stimulus)
        self._answer(cmd, answer)

    # ---- effects --------------------------------------------------------------------------

    def _public(self) -> dict[str, Any]:
        return public_job(self.job.to_doc(), registered=True)

    def _answer(self, cmd: Any, value: Any) -> None:
        """Answer `cmd` once the job's latest state is durable (D4): with the next snapshot."""
        if cmd.reply is not None:
            self._wait(cmd.reply, value)

    def _wait(self, reply: concurrent.futures.Future, value: Any) -> None:
        """`reply` is answered `value` once the next snapshot is durable."""
        if self._waiters is None:
            self._waiters = []
        self._waiters.append((reply, value))

    def _commit(
        self,
        effects: Effects,
        stimulus: str,
        reports: tuple[Report, ...] | list[Report] = (),
        outcome: str = "",
        counted: bool = True,
        save: bool = True,
    ) -> None:
        job = self.job
        self._joining = data_effects(self.ctx, self.actor_ref, job, effects, self._joining)
        if effects.create_nodes:
            self._create_nodes(effects.create_nodes)
        if save:
            job.updatetime = now()
            self._dirty = True
        self._changes.add(effects)
        if reports:
            self._reports = self._reports or []
            self._reports.extend(reports)
        self._publish(effects, stimulus)
        self._announce_leases(effects, stimulus, outcome, counted)
        finished = job.state in FINISHED_JOB_STATES
        offers = () if finished else ready_entries(job, effects)
        withdraw, withdraw_tasks = tuple(effects.withdraw), tuple(effects.withdraw_tasks)
        changed = withdraw or withdraw_tasks or offers or finished
        if changed or job.state.value != self._told_state:
            self._told_state = job.state.value
            self.ctx.queue.tell(JobChanged(
                job_id=job.id, ref=self.actor_ref, state=job.state.value, withdraw=withdraw,
                withdraw_tasks=withdraw_tasks, offers=offers, finished=finished,
                stimulus=stimulus))  # fmt: skip
        if finished:
            log.info("job %s %s", job.id, job.state)

    def _publish(self, effects: Effects, stimulus: str) -> None:
        """Each state change becomes an event on the bus and in the job's history."""
        if not effects.changes:
            return
        job, at = self.job, now()
        owner = str(job.acl.get("owner", ""))
        events = [
            make(c.kind, c.subject, c.old, c.new, stimulus, job_id=job.id, owner=owner,
                 detail=c.detail, time=at)
            for c in effects.changes
        ]  # fmt: skip
        rows = [history.row(event) for event in self.ctx.events.publish(events)[-HISTORY_SIZE:]]
        first = job.history_count
        job.history_count += len(rows)
        kept = self._new_history or []
        kept.extend({"job_id": job.id, "seq": first + n, "row": row}
                    for n, row in enumerate(rows))  # fmt: skip
        del kept[:-HISTORY_SIZE]
        self._new_history = kept

    def _announce_leases(self, effects: Effects, stimulus: str, outcome: str,
                         counted: bool) -> None:  # fmt: skip
        """The one stream of lease changes the registry follows."""
        registry = self.ctx.registry
        for client, wuid in effects.granted:
            registry.tell(LeaseChanged(wuid=wuid, client=client, granted=True, counted=counted,
                                       stimulus=stimulus))  # fmt: skip
        for client, wuid in effects.lease_ended:
            registry.tell(LeaseChanged(wuid=wuid, client=client, granted=False,
                                       outcome=outcome, stimulus=stimulus))  # fmt: skip
        for client, wuid in effects.discard:
            if client:
                registry.tell(LeaseChanged(wuid=wuid, client=client, granted=False,
                                           outcome="discard", discard=True,
                                           stimulus=stimulus))  # fmt: skip

    def on_turn_end(self) -> None:
        """Hand one snapshot of the job, with every answer waiting on it, to the SnapshotActor.

        A large job (thousands of workunits) is serialised once per burst of reports, not once
        per report; each answer is still sent only when the snapshot is durable (D4).
        """
        if self._leaving() and not self._retire_asked and not self._retiring:
            self._retire_asked = True
            done: concurrent.futures.Future = concurrent.futures.Future()
            ref, job_id = self.actor_ref, self.job.id
            done.add_done_callback(lambda f: tell_quietly(
                ref, Durable(job_id=job_id, ok=f.exception() is None)))  # fmt: skip
            # first: a caller who heard back finds the job gone from the queue, in the store
            self._waiters = [(done, None), *(self._waiters or ())]
        if not (self._dirty or self._waiters):
            return
        waiters, self._waiters = self._waiters or [], None
        if self._dirty:
            reports, self._reports = self._reports or [], None
            rows, self._new_history = self._new_history or [], None
            part, changed, removed = self._changes.collect()
            self._dirty = False
            job = self.job
            self.ctx.snapshots.tell(Save(
                job_id=job.id, part=part, workunits=changed, removed=removed, reports=reports,
                history=rows, history_from=job.history_kept_from(), waiters=waiters))  # fmt: skip
        else:
            self.ctx.snapshots.tell(Sync(job_id=self.job.id, waiters=waiters))

    def _leaving(self) -> bool:
        """Finished, or loaded from the store for one operation that did not make it run."""
        return self.job.state in FINISHED_JOB_STATES or self.revived

    @handles(Durable)
    def _durable(self, msg: Durable) -> None:
        """The finished state is in the store: the queue lets this job go (if nothing changed)."""
        if not msg.ok:
            self.ctx.queue.tell(WakeAt(job_id=self.job.id, at=time.time() + 1))
            return
        if self._leaving() and not (self._dirty or self._waiters) and not self._retiring:
            self._retiring = True
            self.ctx.queue.tell(Retiring(job_id=self.job.id, ref=self.actor_ref))
        else:
            self._retire_asked = False

    def on_stop(self) -> None:
        """Stopped at shutdown: what changed still goes to the store, its answers with it."""
        if not self._crashed:
            self.on_turn_end()
        log.debug("job actor for %s stopped (%s)", self.job.id, self.job.state)


def _reroute_late(queue: Any, message: Any) -> None:
    """A command that came after its job's actor was gone goes back to the queue; anything
    else is answered 503."""
    if isinstance(message, JobCommand):
        tell_quietly(queue, Reroute(command=message, ref=None))
    else:
        reject(getattr(message, "reply", None), Unavailable("server is shutting down"))
