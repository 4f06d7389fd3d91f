"""QueueActor: which jobs are live (one JobActor each), the ready-workunit index, and leases.

It admits submitted jobs, routes job requests to their JobActor, matches checkouts against the
ready index, holds long-poll checkouts until work appears (D7), and gives leases of a restarted
server a client-timeout's grace to be re-attached (D3).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import pykka

from awe.actors.base import Reply, reject, resolve
from awe.actors.job import JobActor, JobContext
from awe.errors import NO_WORK, QUEUE_SUSPENDED, AweError, NotFound
from awe.model.job import ACTIVE_JOB_STATES, Job, JobState
from awe.model.matching import ClientView, ReadyEntry, ReadyIndex
from awe.model.times import now, parse_time

log = logging.getLogger(__name__)


@dataclass
class Waiter:
    token: int
    client: ClientView
    available: int | None
    reply: Reply


class QueueActor(pykka.ThreadingActor):
    def __init__(self, context: JobContext, max_jid: int, client_timeout_s: float) -> None:
        super().__init__()
        self.ctx = context
        self._jid = max_jid
        self._client_timeout_s = client_timeout_s
        self._jobs: dict[str, Any] = {}  # job id -> JobActor proxy
        self._states: dict[str, str] = {}  # job id -> last state its actor reported
        self._ready = ReadyIndex()
        self._leases: dict[str, str] = {}  # wuid -> client id
        self._orphans: dict[str, tuple[str, str]] = {}  # wuid -> (client, deadline) after restart
        self._waiters: list[Waiter] = []
        self._suspended = False

    # ---- jobs -----------------------------------------------------------------------------

    def submit(self, job: Job, reply: Reply | None = None) -> None:
        self._jid += 1
        job.jid = str(self._jid)
        self._start_job(job).admit.defer(reply=reply)

    def recover(self, docs: list[dict[str, Any]], reply: Reply | None = None) -> None:
        """Start a JobActor for every unfinished job of the store (D3)."""
        for doc in docs:
            self._start_job(Job.from_doc(doc), from_store=True).recover.defer()
        resolve(reply, len(docs))

    def _start_job(self, job: Job, revived: bool = False, from_store: bool = False) -> Any:
        proxy = JobActor.start(job, self.ctx, revived, from_store).proxy()
        self._jobs[job.id] = proxy
        self._states[job.id] = str(job.state)
        return proxy

    def route(self, job_id: str, method: str, *args: Any, reply: Reply | None = None) -> None:
        """Forward a request to the live JobActor; `None` answers that the job is not live."""
        proxy = self._jobs.get(job_id)
        if proxy is None:
            resolve(reply, None)
            return
        try:
            getattr(proxy, method).defer(*args, reply=reply)
        except pykka.ActorDeadError:
            resolve(reply, None)

    def operate(
        self,
        job_id: str,
        op: str,
        arg: Any,
        stored: dict[str, Any] | None,
        reply: Reply | None = None,
    ) -> None:
        """A job operation; a job that is not live is started from its stored document first."""
        proxy = self._jobs.get(job_id)
        if proxy is None:
            if stored is None:
                reject(reply, NotFound("Not Found"))
                return
            proxy = self._start_job(Job.from_doc(stored), revived=True)
        elif op == "resubmit":
            reject(reply, AweError(f"job {job_id} is already in the queue"))
            return
        proxy.operate.defer(op, arg, reply=reply)

    def job_changed(
        self,
        job_id: str,
        state: str,
        withdraw: list[str],
        offers: list[ReadyEntry],
        finished: bool,
    ) -> None:
        """A JobActor's effects on the ready index; a finished job leaves the queue."""
        for wuid in withdraw:
            self._ready.remove(wuid)
        if finished:
            self._ready.remove_job(job_id)
            self._jobs.pop(job_id, None)
            self._states.pop(job_id, None)
            for wuid in [w for w in self._leases if w.startswith(job_id + "_")]:
                del self._leases[wuid]
            return
        self._states[job_id] = state
        for entry in offers:
            if entry.wuid not in self._leases:
                self._ready.add(entry)
        if offers:
            self._serve_waiters()

    def registered(self, reply: Reply | None = None) -> None:
        """Ids of live jobs, by the sets AWE lists (spec 7.5)."""
        active = [j for j, s in self._states.items() if s in ACTIVE_JOB_STATES]
        suspended = [j for j, s in self._states.items() if s == JobState.SUSPEND]
        resolve(reply, {"registered": list(self._states), "active": active, "suspend": suspended})

    # ---- checkout -------------------------------------------------------------------------

    def checkout(
        self,
        client: ClientView,
        available: int | None,
        wait_s: float,
        wait_token: int = 0,
        reply: Reply | None = None,
    ) -> None:
        if self._suspended:
            reject(reply, AweError(QUEUE_SUSPENDED))
            return
        entry = self._ready.pick(client, available)
        if entry is not None:
            self._lease(entry, client.id, reply)
        elif wait_s > 0 and reply is not None:
            self._waiters = [w for w in self._waiters if not w.reply.done()]
            self._waiters.append(Waiter(wait_token, client, available, reply))
        else:
            reject(reply, AweError(NO_WORK))

    def cancel_wait(self, token: int, reply: Reply | None = None) -> None:
        """The handler's long poll ran out; True when the waiter was still waiting."""
        before = len(self._waiters)
        self._waiters = [w for w in self._waiters if w.token != token]
        resolve(reply, len(self._waiters) < before)

    def _serve_waiters(self) -> None:
        for waiter in list(self._waiters):
            if waiter.reply.done():
                self._waiters.remove(waiter)
                continue
            entry = self._ready.pick(waiter.client, waiter.available)
            if entry is None:
                continue
            self._waiters.remove(waiter)
            self._lease(entry, waiter.client.id, waiter.reply)
            if not len(self._ready):
                break

    def _lease(self, entry: ReadyEntry, client_id: str, reply: Reply | None) -> None:
        at = now()
        self._leases[entry.wuid] = client_id
        self.ctx.registry.leased.defer(client_id, entry.wuid)
        proxy = self._jobs.get(entry.job_id)
        if proxy is not None:
            proxy.checkout.defer(entry.wuid, client_id, at)
        resolve(reply, {**entry.view, "state": "checkout", "client": client_id,
                        "checkout_time": at})  # fmt: skip
        log.info("checkout %s -> client %s", entry.wuid, client_id)

    def leased(self, wuid: str, client_id: str) -> None:
        """A JobActor re-attached `wuid` to a re-registered client."""
        self._ready.remove(wuid)
        self._orphans.pop(wuid, None)
        self._leases[wuid] = client_id

    def lease_ended(self, wuid: str) -> None:
        self._leases.pop(wuid, None)

    def close(self, reply: Reply | None = None) -> None:
        """The server is stopping: hand out nothing more, and answer every waiting checkout."""
        self._suspended = True
        waiters, self._waiters = self._waiters, []
        for waiter in waiters:
            reject(waiter.reply, AweError(QUEUE_SUSPENDED))
        resolve(reply, len(waiters))

    def suspend_queue(self, suspended: bool, reply: Reply | None = None) -> None:
        self._suspended = suspended
        resolve(reply, "work queue suspended" if suspended else "work queue resumed")
        if not suspended:
            self._serve_waiters()

    # ---- clients --------------------------------------------------------------------------

    def release_client(self, client_id: str, wuids: list[str]) -> None:
        """A lost, suspended or deleted client: its workunits go back to the queue."""
        for wuid in wuids:
            self._leases.pop(wuid, None)
            self._orphans.pop(wuid, None)
            proxy = self._jobs.get(wuid.split("_", 1)[0])
            if proxy is not None:
                proxy.release.defer(wuid, client_id)
        # its waiting checkout ends now; the next one hears why from the registry
        for waiter in [w for w in self._waiters if w.client.id == client_id]:
            self._waiters.remove(waiter)
            reject(waiter.reply, AweError(NO_WORK))

    def reattach(self, client_id: str, wuids: list[str], at: str) -> None:
        for wuid in wuids:
            proxy = self._jobs.get(wuid.split("_", 1)[0])
            if proxy is None:
                self.ctx.registry.discard.defer(client_id, wuid)
                continue
            proxy.reattach.defer(wuid, client_id, at)

    def await_reattach(self, leases: dict[str, str]) -> None:
        """Leases found in the store at start-up wait a client timeout for their worker."""
        deadline = parse_time(now()).timestamp() + self._client_timeout_s
        for wuid, client_id in leases.items():
            self._leases[wuid] = client_id
            self._orphans[wuid] = (client_id, str(deadline))

    def sweep(self, at: str) -> None:
        """Release leases whose worker never came back after a restart."""
        moment = parse_time(at).timestamp()
        expired = [w for w, (_, deadline) in self._orphans.items() if float(deadline) <= moment]
        for wuid in expired:
            client_id, _ = self._orphans.pop(wuid)
            log.info("workunit %s: client %s did not re-attach, requeued", wuid, client_id)
            self.release_client(client_id, [wuid])

    # ---- introspection --------------------------------------------------------------------

    def status(self, reply: Reply | None = None) -> None:
        states = list(self._states.values())
        resolve(reply, {
            "queue_status": "suspended" if self._suspended else "running",
            "jobs": {
                "total": len(states),
                "active": sum(1 for s in states if s in ACTIVE_JOB_STATES),
                "suspended": sum(1 for s in states if s == JobState.SUSPEND),
            },
            "workunits": {"queuing": len(self._ready), "checkout": len(self._leases)},
            "waiting_checkouts": len(self._waiters),
        })  # fmt: skip
