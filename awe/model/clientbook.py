"""Registered clients as request handlers may see them without asking the registry.

A worker's heartbeat, checkout and report used to cross the ClientRegistryActor's thread only
to learn whether the client is known, may act as its id and is not suspended: a hand-off each,
for an answer that changes rarely. The registry publishes each client's `ClientCard` (an
immutable value) in the `ClientBook` whenever one of those facts changes; a handler reads the
card on the IOLoop and goes straight to the queue or the job, or answers a heartbeat itself.
A handler that finds no card, or a card that says the registry has something to tell (a
deleted client, work to discard), asks the registry as before: the card is a shortcut, never
the only way.

`seen` is the other direction: when each client was last heard from (a heartbeat or a
checkout answered on the IOLoop), written only by the IOLoop and read by the registry's sweep.
Each map has one writer; readers on other threads see a whole old or a whole new value.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from awe.model.client import Client, ClientStatus
from awe.model.matching import ClientView


@dataclass(frozen=True)
class ClientCard:
    """What a handler may know of a registered client."""

    group: str
    secured: bool  # no call as its id without its secret (awe.model.workerauth)
    status: ClientStatus
    view: ClientView  # what matching needs (group, apps, skip list)
    instructions: bool  # a heartbeat has something to say: only the registry answers it

    @property
    def known(self) -> tuple[str, bool]:
        """(group, secured): what `workerauth.check_client` needs of a registered client."""
        return self.group, self.secured

    @property
    def active(self) -> bool:
        return self.status in (ClientStatus.IDLE, ClientStatus.BUSY)


def card_of(client: Client) -> ClientCard:
    """The card of a client record as the registry holds it now."""
    deleted = client.status == ClientStatus.DELETED
    return ClientCard(client.group, client.secured, client.status, client.view(),
                      bool(client.pending_discard) or deleted)  # fmt: skip


@dataclass
class ClientBook:
    """Cards by client id (the registry writes them) and when each client was last seen (the
    IOLoop writes that, as POSIX seconds)."""

    cards: dict[str, ClientCard] = field(default_factory=dict)
    seen: dict[str, float] = field(default_factory=dict)

    def publish(self, client: Client) -> None:
        """The registry's record of `client` changed: replace its card if the card changed."""
        card = card_of(client)
        if self.cards.get(client.id) != card:
            self.cards[client.id] = card

    def forget(self, client_id: str) -> None:
        """The client is gone from the registry."""
        self.cards.pop(client_id, None)
        self.seen.pop(client_id, None)

    def saw(self, client_id: str, at: float) -> None:
        """A handler heard from the client (IOLoop only)."""
        self.seen[client_id] = at

    def last_seen(self, client_id: str) -> float:
        return self.seen.get(client_id, 0.0)

    def prune(self, registered: Mapping[str, object]) -> None:
        """Forget times of clients no longer registered (a handler may race a drop)."""
        for client_id in list(self.seen):  # a copy: the IOLoop may add meanwhile
            if client_id not in registered:
                self.seen.pop(client_id, None)
