"""QueueActor: which jobs are live (one JobActor each) and the ready-workunit index.

It owns the ready index, the refs of live jobs, waiting checkouts (D7), the jid counter and
the queue's suspended flag — no leases: a checkout picks from the index and asks the JobActor to
lease (if it refuses, having raced a suspension, the queue picks again). It routes every job
command to its JobActor. A job without one is read from the store on the I/O pool, inside the
actor system: an operation brings it back into an actor, anything else is answered from the
stored document. A JobActor that crashed is restarted from the store, as at start-up.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

import pykka
from pykka import ActorDeadError

from awe.actors.base import (
    SHUTTING_DOWN,
    SingletonActor,
    gather,
    handles,
    new_reply,
    reject,
    resolve,
    tell_quietly,
)
from awe.actors.job import JobActor, JobContext
from awe.actors.messages import (
    Admit,
    CloseQueue,
    Dormant,
    DropWaiter,
    ExpectJobs,
    FillStatus,
    JobChanged,
    JobCommand,
    JobCrashed,
    Lease,
    LiveAmong,
    Loaded,
    Pick,
    QueueStatus,
    Recover,
    RecoverJobs,
    Registered,
    Reroute,
    Retiring,
    SubmitJob,
    SuspendQueue,
    Sweep,
    Tick,
    WakeAt,
)
from awe.actors.stored import answer_at_once, answer_missing, answer_stored, needs_actor
from awe.errors import QUEUE_SUSPENDED, AweError, Unavailable
from awe.model.job import ACTIVE_JOB_STATES, FINISHED_JOB_STATES, Job, JobState
from awe.model.matching import ReadyIndex
from awe.model.times import now, parse_time
from awe.model.waiting import Waiters

log = logging.getLogger(__name__)


@dataclass
class Loading:
    """Commands for a job being read from the store; `restart` after its actor crashed."""

    parked: list[JobCommand] = field(default_factory=list)
    restart: bool = False


class QueueActor(SingletonActor):
    name = "queue"

    def __init__(
        self,
        context: JobContext,
        max_jid: int,
        on_death: Any = None,
        live: dict[str, pykka.ActorRef[Any]] | None = None,
    ) -> None:
        super().__init__(on_death)
        self.ctx = context
        self._jid = max_jid
        # job id -> its actor. Only this actor writes it; handlers read it (`live` shared with
        # them) to tell a live job's actor a report without a hand-off to this thread
        self._live: dict[str, pykka.ActorRef[Any]] = {} if live is None else live
        self._states: dict[str, str] = {}  # job id -> last state its actor reported
        self._ready = ReadyIndex()
        self._waiters: Waiters[Pick] = Waiters(_waiting)  # long polls, by what they can take
        self._suspended = False
        self._closing = False  # the server stops: no job is loaded or restarted any more
        self._loading: dict[str, Loading] = {}
        self._wake: dict[str, float] = {}  # job id -> when its next Tick is due
        # after a restart: unfinished jobs not read back yet (a command brings one back at
        # once); no checkout is served until every one is back, so that the ready index is
        # whole and hands work out in its order (priority, submit time) from the first
        self._pending: dict[str, None] = {}
        self._recovering = False
        self._after_recovery: list[Registered] = []
        self._dormant: set[str] = set()  # unfinished jobs in the store, without an actor

    # ---- jobs -----------------------------------------------------------------------------

    @handles(SubmitJob)
    def _submit(self, cmd: SubmitJob) -> None:
        self._jid += 1
        job: Job = cmd.job
        job.jid = str(self._jid)
        self._start(job).tell(Admit(job_id=job.id, stimulus=cmd.stimulus, reply=cmd.reply))

    @handles(ExpectJobs)
    def _expect(self, cmd: ExpectJobs) -> None:
        """A restart: these jobs are coming back; `done`: all are (the queue hands work out)."""
        if cmd.done:
            self._recovering = False
            self._pending.clear()  # none left but jobs gone from the store meanwhile
            parked, self._after_recovery = self._after_recovery, []
            for registered in parked:
                self._registered(registered)
            self._serve_waiters()
        else:
            self._recovering = True
            self._pending.update((j, None) for j in cmd.job_ids if j not in self._live)
        resolve(cmd.reply, len(self._pending))

    @handles(RecoverJobs)
    def _recover(self, cmd: RecoverJobs) -> None:
        """Start a JobActor for unfinished jobs of the store (D3), unless one is back already."""
        started = 0
        for job in cmd.jobs:
            job_id = job.id
            if self._closing or job_id in self._live or job_id in self._loading:
                continue
            if self._recovering and job_id not in self._pending:
                continue  # brought back on demand, and maybe finished, meanwhile
            self._pending.pop(job_id, None)
            ref = self._start(job, from_store=True)
            ref.tell(Recover(job_id=job_id, stimulus=cmd.stimulus or "recover"))
            started += 1
        resolve(cmd.reply, started)

    @handles(Dormant)
    def _set_dormant(self, cmd: Dormant) -> None:
        if cmd.job_ids is not None:
            self._dormant = set(cmd.job_ids) - set(self._live)
        resolve(cmd.reply, sorted(self._dormant))

    @handles(LiveAmong)
    def _live_among(self, cmd: LiveAmong) -> None:
        """For listings: which of these jobs are in the queue (`registered`)."""
        resolve(cmd.reply, [j for j in cmd.job_ids if self._is_registered(j)])

    def _is_registered(self, job_id: str) -> bool:
        loading = self._loading.get(job_id)
        return job_id in self._live or job_id in self._pending or bool(loading and loading.restart)

    def _start(self, job: Job, from_store: bool = False, revived: bool = False) -> Any:
        ref = JobActor.start(job, self.ctx, from_store, revived)
        self._dormant.discard(job.id)
        self._live[job.id] = ref
        self._states[job.id] = job.state.value
        return ref

    @handles(JobChanged)
    def _job_changed(self, msg: JobChanged) -> None:
        """A JobActor's effects on the ready index; a finished job offers nothing more."""
        if self._live.get(msg.job_id) is not msg.ref:
            return  # from an actor that has left: its job is no longer in the index
        for wuid in msg.withdraw:
            self._ready.remove(wuid)
        for task_id in msg.withdraw_tasks:
            self._ready.remove_task(task_id)
        self._states[msg.job_id] = msg.state
        if msg.finished:
            self._ready.remove_job(msg.job_id)
            return
        for entry in msg.offers:
            self._ready.add(entry)
        if msg.offers and self._waiters:
            self._serve_waiters()

    @handles(Retiring)
    def _retiring(self, msg: Retiring) -> None:
        """A finished (or revived) job is durable: it leaves the queue, the store serves it."""
        if self._live.get(msg.job_id) is msg.ref:
            if self._states.get(msg.job_id) not in FINISHED_JOB_STATES:
                self._dormant.add(msg.job_id)  # a zombie that ran one operation
            self._forget(msg.job_id)
            msg.ref.stop(block=False)

    def _forget(self, job_id: str) -> None:
        self._live.pop(job_id, None)
        self._states.pop(job_id, None)
        self._wake.pop(job_id, None)
        self._ready.remove_job(job_id)

    @handles(JobCrashed)
    def _crashed(self, msg: JobCrashed) -> None:
        if self._live.get(msg.job_id) is msg.ref:
            log.error("job actor of %s crashed (%s): restarting it from the store", msg.job_id,
                      msg.reason)  # fmt: skip
            self._restart(msg.job_id)

    def _restart(self, job_id: str) -> None:
        """Its actor is gone without leaving: read the job again and recover it, as at start."""
        self._forget(job_id)
        if not self._closing:
            self._load(job_id).restart = True

    @handles(Reroute)
    def _reroute(self, msg: Reroute) -> None:
        """A command its JobActor could not take (it is leaving, or stopped): route it again."""
        job_id = msg.command.job_id
        if self._live.get(job_id) is msg.ref:  # stopped without leaving: it crashed
            self._restart(job_id)
        self._route(msg.command)

    # ---- routing --------------------------------------------------------------------------

    @handles(JobCommand)
    def _route(self, cmd: JobCommand) -> None:
        """To the job's actor; a job without one is read from the store first."""
        ref = self._live.get(cmd.job_id)
        if ref is not None:
            try:
                ref.tell(cmd)
                return
            except ActorDeadError:
                self._restart(cmd.job_id)
        if isinstance(cmd, Lease):  # the job left the queue meanwhile: pick something else
            self._pick(cmd.pick)
            return
        if self._closing:
            raise Unavailable(SHUTTING_DOWN)
        if cmd.job_id in self._pending:  # not read back since the restart yet: now, then
            del self._pending[cmd.job_id]
            self._load(cmd.job_id).restart = True
        if cmd.job_id not in self._loading and answer_at_once(cmd):
            return
        self._load(cmd.job_id).parked.append(cmd)

    def _load(self, job_id: str) -> Loading:
        loading = self._loading.get(job_id)
        if loading is None:
            loading = self._loading[job_id] = Loading()
            ref, read = self.actor_ref, self.ctx.read_job
            if read is None or self.ctx.read_pool is None:
                raise RuntimeError("JobContext has no read_job or read_pool")
            future = self.ctx.read_pool.submit(read, job_id)
            future.add_done_callback(
                lambda f: tell_quietly(ref, Loaded(job_id=job_id, result=f)))  # fmt: skip
        return loading

    @handles(Loaded)
    def _loaded(self, msg: Loaded) -> None:
        loading = self._loading.pop(msg.job_id, Loading())
        try:
            doc = msg.result.result()
        except Exception as err:  # noqa: BLE001 - any store failure: nothing can be answered
            for cmd in loading.parked:
                reject(cmd.reply, Unavailable(f"store unavailable: {err}"))
            return
        if msg.job_id in self._live:  # started meanwhile (a crash restart raced a load)
            for cmd in loading.parked:
                self._route(cmd)
        elif doc is None:
            for cmd in loading.parked:
                answer_missing(cmd)
        elif loading.restart or any(needs_actor(cmd) for cmd in loading.parked):
            revived = not loading.restart
            ref = self._start(Job.from_doc(doc), from_store=True, revived=revived)
            if loading.restart:
                ref.tell(Recover(job_id=msg.job_id, stimulus="restart"))
            for cmd in loading.parked:
                ref.tell(cmd)
        else:
            for cmd in loading.parked:
                answer_stored(cmd, doc)

    @handles(Registered)
    def _registered(self, cmd: Registered) -> None:
        """Ids of live jobs, by the sets AWE lists (spec 7.5); once every job is back."""
        if self._recovering:
            self._after_recovery.append(cmd)
            return
        active = [j for j, s in self._states.items() if s in ACTIVE_JOB_STATES]
        suspended = [j for j, s in self._states.items() if s == JobState.SUSPEND]
        resolve(cmd.reply, {"registered": list(self._states), "active": active,
                            "suspend": suspended})  # fmt: skip

    # ---- checkout -------------------------------------------------------------------------

    @handles(Pick)
    def _pick(self, pick: Pick) -> None:
        if pick.reply is not None and pick.reply.done():
            return
        if self._suspended:
            raise AweError(QUEUE_SUSPENDED)
        # while jobs come back after a restart the ready index is not whole: nothing is picked
        # yet (the checkout waits, or has no work for now)
        entry = None if self._recovering else self._ready.pick(pick.client, pick.available)
        if entry is not None:
            self._lease(entry.job_id, entry.wuid, pick)
        elif pick.wait_s > 0 and pick.reply is not None:
            self._waiters.add(pick.wait_token, pick.client, pick.available, pick)
        else:
            resolve(pick.reply, None)  # no work: an answer, not an error (no traceback to keep)

    def _lease(self, job_id: str, wuid: str, pick: Pick) -> None:
        lease = Lease(job_id=job_id, wuid=wuid, client=pick.client.id, at=now(), pick=pick,
                      stimulus=pick.stimulus)  # fmt: skip
        self._route(lease)

    @handles(DropWaiter)
    def _drop_waiter(self, cmd: DropWaiter) -> None:
        for pick in self._waiters.remove_client(cmd.client_id):
            resolve(pick.reply, None)

    def _serve_waiters(self) -> None:
        """Offers meet waiting checkouts: oldest first, without walking every one (waiting.py)."""
        if self._recovering or not len(self._ready):
            return
        for pick, entry in self._waiters.serve(lambda p: self._ready.pick(p.client, p.available)):
            self._lease(entry.job_id, entry.wuid, pick)

    @handles(CloseQueue)
    def _close(self, cmd: CloseQueue) -> None:
        """The server is stopping: hand out nothing more, and answer every waiting checkout."""
        self._suspended = self._closing = True
        waiters = self._waiters.take_all()
        for pick in waiters:
            reject(pick.reply, AweError(QUEUE_SUSPENDED))
        resolve(cmd.reply, len(waiters))

    @handles(SuspendQueue)
    def _suspend_queue(self, cmd: SuspendQueue) -> None:
        self._suspended = cmd.suspended
        resolve(cmd.reply, "work queue suspended" if cmd.suspended else "work queue resumed")
        if not cmd.suspended:
            self._serve_waiters()

    # ---- time -----------------------------------------------------------------------------

    @handles(WakeAt)
    def _wake_at(self, msg: WakeAt) -> None:
        due = self._wake.get(msg.job_id)
        self._wake[msg.job_id] = msg.at if due is None else min(due, msg.at)

    @handles(Sweep)
    def _sweep(self, cmd: Sweep) -> None:
        """Tick every job whose time came (leases left by a restart, a retried retirement);
        answered once they all handled it."""
        moment = parse_time(cmd.at).timestamp()
        ticked: list[Any] = []
        for job_id, due in list(self._wake.items()):
            if due <= moment:
                del self._wake[job_id]
                ticked.append(new_reply())
                self._route(Tick(job_id=job_id, at=cmd.at, stimulus=cmd.stimulus or "sweep",
                                 reply=ticked[-1]))  # fmt: skip
        gather(ticked, lambda _: resolve(cmd.reply))

    # ---- introspection --------------------------------------------------------------------

    @handles(QueueStatus)
    def _status(self, cmd: QueueStatus) -> None:
        """Counts of the queue; the registry adds the leases it follows, and answers."""
        states = list(self._states.values())
        status = {
            "queue_status": "suspended" if self._suspended else "running",
            "jobs": {
                "total": len(states),
                "active": sum(1 for s in states if s in ACTIVE_JOB_STATES),
                "suspended": sum(1 for s in states if s == JobState.SUSPEND),
            },
            "workunits": {"queuing": len(self._ready), "checkout": 0},
            "waiting_checkouts": self._waiters.live(),
        }
        self.ctx.registry.tell(FillStatus(status=status, reply=cmd.reply, stimulus=cmd.stimulus))


def _waiting(pick: Pick) -> bool:
    """A checkout still waits until it is answered (a lease, or its handler gave up)."""
    return pick.reply is not None and not pick.reply.done()
