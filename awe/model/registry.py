"""The client registry, pure: registration, the derived view of leases, status moves, the sweep.

Job actors own leases. The registry only follows the stream of lease changes they announce
(`granted`, `ended`): `Registry.leases` and each client's `current_work` are that stream's
running view, never changed any other way, so they cannot disagree with the job actors for long.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime

from awe.model.client import Client, ClientStatus, record_outcome
from awe.model.effects import Effects
from awe.model.times import format_time, parse_time
from awe.model.transitions import move_client


@dataclass
class Registry:
    clients: dict[str, Client] = field(default_factory=dict)
    leases: dict[str, str] = field(default_factory=dict)  # wuid -> client id, as announced

    def held_by(self, client_id: str) -> list[str]:
        return [wuid for wuid, holder in self.leases.items() if holder == client_id]


def register(reg: Registry, client: Client, fx: Effects) -> list[str]:
    """Add or replace a client; returns the workunits its profile claims, to re-attach.

    Every claim goes to its job actor, also for a lease the registry already shows: only the
    owner can tell whether it still holds, and a lease found at start-up waits for this claim.
    A re-registering client keeps what the server counted (failures, skip list).
    """
    claimed = list(client.current_work)
    known = reg.clients.get(client.id)
    if known is not None:
        client.skip_work = known.skip_work
        client.consecutive_failures = known.consecutive_failures
        client.pending_discard = known.pending_discard
    held = reg.held_by(client.id)
    client.current_work = dict.fromkeys(held, True)
    reg.clients[client.id] = client
    fx.record("client", client.id, known.status if known else "", client.status, "registered")
    _follow_work(client, fx)
    return claimed


def granted(reg: Registry, client_id: str, wuid: str, counted: bool, fx: Effects) -> bool:
    """A job actor leased `wuid` to a client; False when that client may not keep it.

    `counted` is a new checkout (not a reattach or a lease found at start-up, which wait for
    their worker and are never refused here).
    """
    reg.leases[wuid] = client_id
    client = reg.clients.get(client_id)
    if client is None:
        return not counted
    client.current_work[wuid] = True
    if counted:
        client.total_checkout += 1
    if not client.active:
        return False
    _follow_work(client, fx)
    return True


def ended(
    reg: Registry, client_id: str, wuid: str, outcome: str, max_failures: int, fx: Effects
) -> bool:
    """A lease ended (`outcome`: done, fail, discarded, released...); True: suspend the client."""
    if reg.leases.get(wuid) == client_id:
        del reg.leases[wuid]
    client = reg.clients.get(client_id)
    if client is None:
        return False
    client.current_work.pop(wuid, None)
    _follow_work(client, fx)
    return record_outcome(client, wuid, outcome, max_failures)


def _follow_work(client: Client, fx: Effects) -> None:
    """An active client is busy exactly while it holds work."""
    if client.status == ClientStatus.IDLE and client.current_work:
        move_client(client, "lease", fx)
    elif client.status == ClientStatus.BUSY and not client.current_work:
        move_client(client, "idle", fx)


def suspend(client: Client, why: str, fx: Effects) -> list[str]:
    """Suspend a client; returns its workunits, to release. Its worker is told to drop them."""
    move_client(client, "suspend", fx, why)
    work = list(client.current_work)
    client.pending_discard.extend(w for w in work if w not in client.pending_discard)
    return work


def resume(client: Client, fx: Effects) -> None:
    """An operator resumes a suspended client: it may check out again, counting afresh."""
    move_client(client, "resume", fx, "resumed by an operator")
    client.consecutive_failures = 0
    _follow_work(client, fx)


def delete(client: Client, fx: Effects) -> list[str]:
    """Mark a client deleted (its next heartbeat says stop); returns its work, to release."""
    move_client(client, "delete", fx, "deleted by an operator")
    return list(client.current_work)


def drop(reg: Registry, client: Client, why: str, fx: Effects) -> list[str]:
    """Forget a client (lost, or deleted and seen again); returns its work, to release."""
    reg.clients.pop(client.id, None)
    fx.record("client", client.id, client.status, "", why)
    return list(client.current_work)


def lost(
    reg: Registry, at: str, timeout_s: float, seen: Mapping[str, float] | None = None
) -> list[Client]:
    """Clients silent for longer than the timeout (D6). `seen`: when handlers last heard from
    each client (POSIX seconds; awe.model.clientbook), besides its recorded heartbeat."""
    moment = parse_time(at).timestamp()
    seen = seen or {}
    return [
        client
        for client in list(reg.clients.values())
        if moment - seen.get(client.id, 0.0) > timeout_s
        and moment - parse_time(client.last_heartbeat).timestamp() > timeout_s
    ]


def heard_from(client: Client, seen: Mapping[str, float]) -> None:
    """Bring the client's `last_heartbeat` up to when a handler last heard from it."""
    at = seen.get(client.id)
    if at is not None and at > parse_time(client.last_heartbeat).timestamp():
        client.last_heartbeat = format_time(datetime.fromtimestamp(at, UTC))
