"""ClientRegistryActor: client profiles, heartbeats, leases held, counters, lost-client sweep.

Liveness is by timestamp (D6): `sweep` declares a client lost when its last heartbeat is older
than `client_timeout_s`, and hands its workunits back to the queue.
"""

from __future__ import annotations

import logging
from typing import Any

import pykka

from awe.actors.base import Reply, reject, resolve
from awe.config import AuthConfig
from awe.errors import (
    CLIENT_DELETED,
    CLIENT_NOT_FOUND,
    CLIENT_SUSPENDED,
    AweError,
    NotImplementedOp,
    Unauthorized,
)
from awe.model.client import Client, ClientStatus, client_from_profile, record_report
from awe.model.ids import split_work_id
from awe.model.times import now, parse_time
from awe.store.base import Report

log = logging.getLogger(__name__)

TOKEN_MISMATCH = "Clientgroup name in token does not match that in the client configuration."


class ClientRegistryActor(pykka.ThreadingActor):
    def __init__(
        self,
        queue: Any,
        auth: AuthConfig,
        client_timeout_s: float,
        max_client_failure: int,
        max_clients: int | None = None,  # limits.registered_clients
    ) -> None:
        super().__init__()
        self._max_clients = max_clients
        self._queue = queue
        self._auth = auth
        self._timeout_s = client_timeout_s
        self._max_failures = max_client_failure
        self._clients: dict[str, Client] = {}

    # ---- identity -------------------------------------------------------------------------

    def _check_token(self, group: str, token: str | None) -> None:
        """Clientgroup tokens (spec 8.2): a token must name the client's group."""
        expected = self._auth.clientgroup_tokens.get(group)
        if token:
            if expected != token:
                raise AweError(TOKEN_MISMATCH)
        elif self._auth.client_auth_required:
            raise Unauthorized("No Authorization")

    def _client(self, client_id: str, token: str | None = None) -> Client:
        client = self._clients.get(client_id)
        if client is None:
            raise AweError(CLIENT_NOT_FOUND)
        self._check_token(client.group, token)
        return client

    # ---- registration and heartbeat ------------------------------------------------------

    def register(self, profile: Any, token: str | None, reply: Reply | None = None) -> None:
        at = now()
        try:
            client = client_from_profile(profile, at)
            if not token and client.group in self._auth.clientgroup_tokens:
                raise AweError(
                    "Clientgroup with the group specified by your client exists, but you "
                    "cannot register with it, without clientgroup token."
                )
            self._check_token(client.group, token)
            full = self._max_clients is not None and len(self._clients) >= self._max_clients
            if full and client.id not in self._clients:
                raise AweError(
                    f"{len(self._clients)} clients are registered, as many as "
                    f"limits.registered_clients ({self._max_clients}) allows"
                )
        except AweError as err:
            reject(reply, err)
            return
        known = self._clients.get(client.id)
        if known is not None:  # re-registration keeps what the server counted
            client.skip_work = known.skip_work
            client.consecutive_failures = known.consecutive_failures
        held = list(client.current_work)
        client.current_work = {}
        self._clients[client.id] = client
        if held:
            self._queue.reattach.defer(client.id, held, at)
            client.current_work = dict.fromkeys(held, True)
            client.status = ClientStatus.BUSY
        log.info("client %s (%s, group %s) registered%s", client.id, client.name, client.group,
                 f", re-attaching {len(held)} workunit(s)" if held else "")  # fmt: skip
        resolve(reply, client.to_json(at))

    def heartbeat(self, client_id: str, token: str | None, reply: Reply | None = None) -> None:
        at = now()
        try:
            client = self._client(client_id, token)
        except AweError as err:
            reject(reply, err)
            return
        client.last_heartbeat = at
        instructions: dict[str, str] = {}
        if client.status == ClientStatus.DELETED:
            instructions["stop"] = client.id
        if client.pending_discard:
            instructions["discard"] = ",".join(client.pending_discard)
            client.pending_discard = []
        resolve(reply, instructions)

    def sweep(self, at: str) -> None:
        """Clients silent past the timeout are lost: their work goes back to the queue (D6)."""
        moment = parse_time(at).timestamp()
        for client in list(self._clients.values()):
            if moment - parse_time(client.last_heartbeat).timestamp() > self._timeout_s:
                log.warning("client %s (%s) lost: no heartbeat for %.0f s, %d workunit(s) requeued",
                            client.id, client.name, self._timeout_s,
                            len(client.current_work))  # fmt: skip
                self._drop(client)

    def _drop(self, client: Client) -> None:
        self._clients.pop(client.id, None)
        self._release_work(client)

    def _release_work(self, client: Client) -> None:
        """Its workunits go back to the queue, and a checkout it has waiting there ends."""
        self._queue.release_client.defer(client.id, list(client.current_work))
        client.current_work = {}
        if client.status == ClientStatus.BUSY:
            client.status = ClientStatus.IDLE

    # ---- queries --------------------------------------------------------------------------

    def get(self, client_id: str, reply: Reply | None = None) -> None:
        client = self._clients.get(client_id)
        if client is None:
            reject(reply, AweError(CLIENT_NOT_FOUND))
        else:
            resolve(reply, client.to_json(now()))

    def list(self, busy: bool = False, reply: Reply | None = None) -> None:
        at = now()
        clients = [c for c in self._clients.values() if not busy or c.current_work]
        resolve(reply, [c.to_json(at) for c in clients])

    # ---- control --------------------------------------------------------------------------

    def control(self, client_id: str, op: str, reply: Reply | None = None) -> None:
        client = self._clients.get(client_id)
        if client is None:
            reject(reply, AweError(CLIENT_NOT_FOUND))
            return
        try:
            resolve(reply, self._apply(client, op))
        except AweError as err:
            reject(reply, err)

    def _apply(self, client: Client, op: str) -> str:
        if op == "suspend":
            if not client.active:
                raise AweError("Client not active")
            self._suspend(client, "suspended by an operator")
            return "client suspended"
        if op == "resume":
            if client.status != ClientStatus.SUSPEND:
                raise AweError("Client not suspended")
            client.status, client.consecutive_failures = ClientStatus.IDLE, 0
            return "client resumed"
        if op == "delete":
            self._release_work(client)
            client.status = ClientStatus.DELETED
            return "client deleted"
        raise NotImplementedOp()

    def _suspend(self, client: Client, why: str) -> None:
        """Suspended clients lose their leases, and their workers are told to drop them (D5)."""
        log.info("client %s suspended: %s", client.id, why)
        client.pending_discard.extend(
            w for w in client.current_work if w not in client.pending_discard
        )
        self._release_work(client)
        client.status = ClientStatus.SUSPEND

    def control_all(self, op: str, reply: Reply | None = None) -> None:
        if op == "suspendall":
            targets = [c for c in self._clients.values() if c.active]
            for client in targets:
                self._suspend(client, "all clients suspended")
            resolve(reply, f"{len(targets)} clients suspended")
        elif op == "resumeall":
            targets = [c for c in self._clients.values() if c.status == ClientStatus.SUSPEND]
            for client in targets:
                client.status, client.consecutive_failures = ClientStatus.IDLE, 0
            resolve(reply, f"{len(targets)} suspended clients resumed")
        else:
            reject(reply, NotImplementedOp())

    # ---- work -----------------------------------------------------------------------------

    def checkout(
        self,
        client_id: str,
        token: str | None,
        available: int | None,
        wait_s: float,
        wait_token: int = 0,
        reply: Reply | None = None,
    ) -> None:
        try:
            client = self._client(client_id, token)
        except AweError as err:
            reject(reply, err)
            return
        client.last_heartbeat = now()  # a waiting checkout is a sign of life too
        if client.status == ClientStatus.SUSPEND:
            reject(reply, AweError(CLIENT_SUSPENDED))
        elif client.status == ClientStatus.DELETED:
            self._drop(client)
            reject(reply, AweError(CLIENT_DELETED))
        else:
            self._queue.checkout.defer(client.view(), available, wait_s, wait_token, reply=reply)

    def cancel_wait(self, wait_token: int, reply: Reply | None = None) -> None:
        """Forwarded so that it reaches the queue after the checkout it cancels."""
        self._queue.cancel_wait.defer(wait_token, reply=reply)

    def report(
        self,
        client_id: str,
        token: str | None,
        wuid: str,
        status: str,
        computetime: int,
        notes: str,
        reports: list[Report],
        reply: Reply | None = None,
    ) -> None:
        try:
            self._client(client_id, token)
            job_id, _, _ = split_work_id(wuid)
        except AweError as err:
            reject(reply, err)
            return
        args = (wuid, client_id, status, computetime, notes, reports)
        self._queue.route.defer(job_id, "report", *args, reply=reply)

    def secret(
        self, client_id: str, token: str | None, wuid: str, kind: str, reply: Reply | None = None
    ) -> None:
        """Data token / private env go only to an active client holding the workunit (D10)."""
        try:
            client = self._client(client_id, token)
            job_id, _, _ = split_work_id(wuid)
            if not client.active:
                raise AweError(f"error in getting {kind} for job {wuid}: Client suspended")
        except AweError as err:
            reject(reply, err)
            return
        self._queue.route.defer(job_id, "secret", wuid, client_id, kind, reply=reply)

    def leased(self, client_id: str, wuid: str) -> None:
        client = self._clients.get(client_id)
        if client is None or not client.active:  # lost or suspended while the lease was made
            self._queue.release_client.defer(client_id, [wuid])
            return
        client.total_checkout += 1
        client.current_work[wuid] = True
        client.status = ClientStatus.BUSY

    def work_reported(self, client_id: str, wuid: str, status: str, applied: bool) -> None:
        client = self._clients.get(client_id)
        if client is None:
            return
        if record_report(client, wuid, status, applied, self._max_failures):
            self._suspend(client, f"{client.consecutive_failures} consecutive failures")

    def lease_ended(self, client_id: str, wuid: str) -> None:
        client = self._clients.get(client_id)
        if client is not None:
            client.current_work.pop(wuid, None)
            if client.status == ClientStatus.BUSY and not client.current_work:
                client.status = ClientStatus.IDLE

    def discard(self, client_id: str, wuid: str) -> None:
        """The worker holding `wuid` must drop it: said in its next heartbeat reply."""
        client = self._clients.get(client_id)
        if client is not None and wuid not in client.pending_discard:
            client.pending_discard.append(wuid)
            self.lease_ended(client_id, wuid)
