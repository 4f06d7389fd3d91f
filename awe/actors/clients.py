"""ClientRegistryActor: client profiles, heartbeats, counters, the lost-client sweep.

Which client holds which workunit is the JobActors' to say: the registry follows the stream of
lease changes they announce (`LeaseChanged`) and derives each client's current work from it
(`awe.model.registry`). Liveness is by timestamp (D6): the sweep declares a client lost when
its last heartbeat is older than `client_timeout_s`, and its workunits are released.

It publishes each client's card in the `ClientBook` (awe.model.clientbook) whenever the
client's record changes, so that handlers answer heartbeats and send checkouts and reports
on without a hand-off to this thread; the times they heard from clients come back through
the book's `seen`.
"""

from __future__ import annotations

import logging
from typing import Any

from awe.actors.base import SingletonActor, gather, handles, new_reply, resolve, tell_quietly
from awe.actors.messages import (
    ApplyReport,
    CheckClient,
    Checkout,
    ClientDataRights,
    ControlAllClients,
    ControlClient,
    DataRights,
    DropWaiter,
    FillStatus,
    GetClient,
    GetSecret,
    Heartbeat,
    LeaseChanged,
    ListClients,
    Pick,
    Reattach,
    RegisterClient,
    Release,
    ReportWork,
    Secret,
    Settled,
    Sweep,
)
from awe.errors import (
    CLIENT_DELETED,
    CLIENT_NOT_FOUND,
    CLIENT_SUSPENDED,
    AweError,
    NotImplementedOp,
)
from awe.events import EventBus, make
from awe.model import registry as reg
from awe.model import rights, workerauth
from awe.model.client import Client, ClientStatus, client_from_profile
from awe.model.clientbook import ClientBook
from awe.model.effects import Effects
from awe.model.ids import split_work_id
from awe.model.times import now

log = logging.getLogger(__name__)


class ClientRegistryActor(SingletonActor):
    name = "registry"

    def __init__(
        self,
        queue: Any,
        policy: rights.Policy,
        client_timeout_s: float,
        max_client_failure: int,
        events: EventBus,
        on_death: Any = None,
        max_clients: int | None = None,  # limits.registered_clients
        book: ClientBook | None = None,
    ) -> None:
        super().__init__(on_death)
        self._book = book if book is not None else ClientBook()
        self._max_clients = max_clients
        self._queue = queue
        self._policy = policy
        self._rules = policy.workers
        self._timeout_s = client_timeout_s
        self._max_failures = max_client_failure
        self._events = events
        self._reg = reg.Registry()

    # ---- identity -------------------------------------------------------------------------

    def _check(self, cmd: Any) -> workerauth.WorkerCheck:
        """Whether `cmd` may act as its client id: group token and secret (awe.model.workerauth)."""
        client = self._reg.clients.get(cmd.client_id)
        known = (client.group, client.secured) if client is not None else None
        return workerauth.check_client(cmd.client_id, known, cmd.token,
                                       workerauth.Proof(cmd.proof), self._rules)  # fmt: skip

    def _client(self, cmd: Any) -> Client:
        """The client `cmd` acts as, once it proved to be that client: the rights table's
        WORKER and HOLDER (the job's actor checks the lease) start with this check."""
        check = self._check(cmd)
        if check.error is not None:
            raise check.error
        return self._reg.clients[cmd.client_id]

    @handles(CheckClient)
    def _check_client(self, cmd: CheckClient) -> None:
        resolve(cmd.reply, self._check(cmd))

    def _publish(self, fx: Effects, stimulus: str) -> None:
        if fx.changes:
            at = now()
            self._events.publish(
                make(c.kind, c.subject, c.old, c.new, stimulus, detail=c.detail, time=at)
                for c in fx.changes
            )

    # ---- registration and heartbeat ------------------------------------------------------

    @handles(RegisterClient)
    def _register(self, cmd: RegisterClient) -> None:
        at = now()
        client = client_from_profile(cmd.profile, at)
        profile_id = client.id if isinstance(cmd.profile, dict) and cmd.profile.get("id") else ""
        known = self._reg.clients.get(profile_id) if profile_id else None
        allowed = workerauth.check_registration(
            profile_id, client.group, known.secured if known else None, cmd.token,
            workerauth.Proof(cmd.proof), cmd.asks_secret, self._rules,
        )  # fmt: skip
        if isinstance(allowed, AweError):
            raise allowed
        client.secured = allowed.secured
        full = self._max_clients is not None and len(self._reg.clients) >= self._max_clients
        if full and client.id not in self._reg.clients:
            raise AweError(
                f"{len(self._reg.clients)} clients are registered, as many as "
                f"limits.registered_clients ({self._max_clients}) allows"
            )
        fx = Effects()
        claimed = reg.register(self._reg, client, fx)
        self._book.publish(client)
        self._publish(fx, cmd.stimulus)
        log.info("client %s (%s, group %s) registered%s", client.id, client.name, client.group,
                 f", re-attaching {len(claimed)} workunit(s)" if claimed else "")  # fmt: skip
        replies = [self._to_job(Reattach, wuid, client.id, cmd.stimulus, at=at)
                   for wuid in claimed]  # fmt: skip

        def settled(results: list[Any]) -> None:
            refused = tuple(w for w, held in zip(claimed, results, strict=True) if held is not True)
            for wuid in refused:  # a claim that failed half-way must not stay leased either
                self._to_job(Release, wuid, client.id, cmd.stimulus, why="not re-attached")
            tell_quietly(self.actor_ref, Settled(client_id=client.id, refused=refused,
                                                 reply=cmd.reply, stimulus=cmd.stimulus))  # fmt: skip

        gather(replies, settled)

    @handles(Settled)
    def _settled(self, msg: Settled) -> None:
        """What the job actors said about a registration's claims, or about released work."""
        client = self._reg.clients.get(msg.client_id)
        if client is None:
            raise AweError(CLIENT_NOT_FOUND)
        for wuid in msg.refused:  # a claim no job actor granted: the worker must drop it
            if wuid not in client.pending_discard:
                client.pending_discard.append(wuid)
        self._book.publish(client)
        reg.heard_from(client, self._book.seen)
        resolve(msg.reply, client.to_json(now()) if msg.answer is None else msg.answer)

    def _to_job(self, kind: type, wuid: str, client_id: str, stimulus: str, **more: Any) -> Any:
        """Send a lease command to the job of `wuid` (through the queue); returns its reply."""
        reply = new_reply()
        try:
            job_id, _, _ = split_work_id(wuid)
        except AweError:
            resolve(reply, False)
            return reply
        self._queue.tell(kind(job_id=job_id, wuid=wuid, client=client_id, reply=reply,
                              stimulus=stimulus, **more))  # fmt: skip
        return reply

    @handles(Heartbeat)
    def _heartbeat(self, cmd: Heartbeat) -> None:
        client = self._client(cmd)
        client.last_heartbeat = now()
        instructions: dict[str, str] = {}
        if client.status == ClientStatus.DELETED:
            instructions["stop"] = client.id
        if client.pending_discard:
            instructions["discard"] = ",".join(client.pending_discard)
            client.pending_discard = []
        self._book.publish(client)
        resolve(cmd.reply, instructions)

    @handles(Sweep)
    def _sweep(self, cmd: Sweep) -> None:
        """Clients silent past the timeout are lost: their work goes back to the queue (D6).

        Answered once that work is back (durable, offered again).
        """
        released: list[Any] = []
        self._book.prune(self._reg.clients)
        for client in reg.lost(self._reg, cmd.at, self._timeout_s, self._book.seen):
            log.warning("client %s (%s) lost: no heartbeat for %.0f s, %d workunit(s) requeued",
                        client.id, client.name, self._timeout_s,
                        len(client.current_work))  # fmt: skip
            released += self._drop(client, "lost: no heartbeat", cmd.stimulus or "sweep")
        gather(released, lambda _: resolve(cmd.reply))

    def _drop(self, client: Client, why: str, stimulus: str) -> list[Any]:
        fx = Effects()
        work = reg.drop(self._reg, client, why, fx)
        self._book.forget(client.id)
        self._publish(fx, stimulus)
        return self._release(client.id, work, why, stimulus)

    def _release(self, client_id: str, work: list[str], why: str, stimulus: str) -> list[Any]:
        """Hand a client's workunits back to their jobs; its waiting checkout ends too."""
        self._queue.tell(DropWaiter(client_id=client_id, stimulus=stimulus))
        return [self._to_job(Release, wuid, client_id, stimulus, why=why) for wuid in work]

    # ---- queries --------------------------------------------------------------------------

    @handles(GetClient)
    def _get(self, cmd: GetClient) -> None:
        client = self._reg.clients.get(cmd.client_id)
        if client is None:
            raise AweError(CLIENT_NOT_FOUND)
        reg.heard_from(client, self._book.seen)
        resolve(cmd.reply, client.to_json(now()))

    @handles(ListClients)
    def _list(self, cmd: ListClients) -> None:
        at = now()
        clients = [c for c in self._reg.clients.values() if not cmd.busy or c.current_work]
        for client in clients:
            reg.heard_from(client, self._book.seen)
        resolve(cmd.reply, [c.to_json(at) for c in clients])

    @handles(FillStatus)
    def _fill_status(self, cmd: FillStatus) -> None:
        cmd.status["workunits"]["checkout"] = len(self._reg.leases)
        resolve(cmd.reply, cmd.status)

    # ---- control --------------------------------------------------------------------------

    @handles(ControlClient)
    def _control(self, cmd: ControlClient) -> None:
        client = self._reg.clients.get(cmd.client_id)
        if client is None:
            raise AweError(CLIENT_NOT_FOUND)
        fx = Effects()
        if cmd.op == "suspend":
            released = self._suspend(client, "suspended by an operator", fx, cmd.stimulus)
            answer = "client suspended"
        elif cmd.op == "resume":
            reg.resume(client, fx)
            released, answer = [], "client resumed"
        elif cmd.op == "delete":
            work = reg.delete(client, fx)
            released = self._release(client.id, work, "client deleted", cmd.stimulus)
            answer = "client deleted"
        else:
            raise NotImplementedOp()
        self._book.publish(client)
        self._publish(fx, cmd.stimulus)
        self._answer_when_released(client.id, released, answer, cmd)

    def _suspend(self, client: Client, why: str, fx: Effects, stimulus: str) -> list[Any]:
        """Suspended clients lose their leases, and their workers are told to drop them (D5)."""
        log.info("client %s suspended: %s", client.id, why)
        work = reg.suspend(client, why, fx)
        self._book.publish(client)
        return self._release(client.id, work, why, stimulus)

    def _answer_when_released(self, client_id: str, released: list[Any], answer: str,
                              cmd: Any) -> None:  # fmt: skip
        """Answer once the job actors made the releases durable."""
        gather(released, lambda _: tell_quietly(self.actor_ref, Settled(
            client_id=client_id, answer=answer, reply=cmd.reply, stimulus=cmd.stimulus)))  # fmt: skip

    @handles(ControlAllClients)
    def _control_all(self, cmd: ControlAllClients) -> None:
        fx = Effects()
        released: list[Any] = []
        if cmd.op == "suspendall":
            targets = [c for c in self._reg.clients.values() if c.active]
            for client in targets:
                released += self._suspend(client, "all clients suspended", fx, cmd.stimulus)
            answer = f"{len(targets)} clients suspended"
        elif cmd.op == "resumeall":
            targets = [c for c in self._reg.clients.values() if c.status == ClientStatus.SUSPEND]
            for client in targets:
                reg.resume(client, fx)
                self._book.publish(client)
            answer = f"{len(targets)} suspended clients resumed"
        else:
            raise NotImplementedOp()
        self._publish(fx, cmd.stimulus)
        gather(released, lambda _: resolve(cmd.reply, answer))

    # ---- work -----------------------------------------------------------------------------

    @handles(Checkout)
    def _checkout(self, cmd: Checkout) -> None:
        """A checkout whose handler found no card to go by (awe.model.clientbook)."""
        client = self._client(cmd)
        client.last_heartbeat = now()  # a waiting checkout is a sign of life too
        if client.status == ClientStatus.SUSPEND:
            raise AweError(CLIENT_SUSPENDED)
        if client.status == ClientStatus.DELETED:
            self._drop(client, "deleted, and asked for work", cmd.stimulus)
            raise AweError(CLIENT_DELETED)
        self._queue.tell(Pick(client=client.view(), available=cmd.available, wait_s=cmd.wait_s,
                              wait_token=cmd.wait_token, reply=cmd.reply,
                              stimulus=cmd.stimulus))  # fmt: skip

    @handles(ReportWork)
    def _report(self, cmd: ReportWork) -> None:
        self._client(cmd)
        job_id, _, _ = split_work_id(cmd.wuid)
        self._queue.tell(ApplyReport(
            job_id=job_id, wuid=cmd.wuid, client=cmd.client_id, status=cmd.status,
            computetime=cmd.computetime, notes=cmd.notes, reports=cmd.reports, reply=cmd.reply,
            stimulus=cmd.stimulus))  # fmt: skip

    @handles(GetSecret)
    def _secret(self, cmd: GetSecret) -> None:
        """Data token / private env go only to an active client holding the workunit (D10)."""
        client = self._client(cmd)  # the job's actor checks the lease
        job_id, _, _ = split_work_id(cmd.wuid)
        if not client.active:
            raise AweError(f"error in getting {cmd.kind} for job {cmd.wuid}: Client suspended")
        self._queue.tell(Secret(job_id=job_id, wuid=cmd.wuid, client=cmd.client_id,
                                kind=cmd.kind, reply=cmd.reply, stimulus=cmd.stimulus))  # fmt: skip

    @handles(ClientDataRights)
    def _data_rights(self, cmd: ClientDataRights) -> None:
        """A worker acting on a job's files must prove its id; then the job decides."""
        self._client(cmd)
        self._queue.tell(DataRights(job_id=cmd.job_id, ask=cmd.ask, reply=cmd.reply,
                                    stimulus=cmd.stimulus))  # fmt: skip

    @handles(LeaseChanged)
    def _lease_changed(self, msg: LeaseChanged) -> None:
        """Follow the JobActors' lease changes; refuse a lease its client may no longer hold."""
        fx = Effects()
        if msg.granted:
            if not reg.granted(self._reg, msg.client, msg.wuid, msg.counted, fx):
                self._to_job(Release, msg.wuid, msg.client, msg.stimulus,
                             why="its client was lost or suspended meanwhile")  # fmt: skip
        else:
            client = self._reg.clients.get(msg.client)
            if msg.discard and client is not None and msg.wuid not in client.pending_discard:
                client.pending_discard.append(msg.wuid)  # said in its next heartbeat reply
            ended = reg.ended(self._reg, msg.client, msg.wuid, msg.outcome, self._max_failures, fx)
            if ended and client is not None:  # True only for a known client
                why = f"{client.consecutive_failures} consecutive failures"
                self._suspend(client, why, fx, msg.stimulus)
        known = self._reg.clients.get(msg.client)
        if known is not None:  # its status, skip list or work to discard may have changed
            self._book.publish(known)
        self._publish(fx, msg.stimulus)
