"""A worker's heartbeat, checkout and report with as few hand-offs between threads as may be.

Each of these used to cross the ClientRegistryActor's thread (is the client known, may the
request act as it, is it suspended?) and then the QueueActor's (which actor has the job?)
before reaching the one that does the work: two hand-offs of about 20 µs of GIL each and a
thread wake-up, on every request. The registry now publishes each client's card
(awe.model.clientbook) and the queue its live job actors (`Services.live_jobs`); handlers read
both on the IOLoop, check the worker's credentials with the same rule the registry applies
(`workerauth.check_client`), and tell the queue (checkout) or the job's actor (report)
directly; a heartbeat with nothing to say is answered here. No card: the registry is asked,
exactly as before. Nothing here changes state but the time a client was last heard from.
"""

from __future__ import annotations

import time
from typing import Any

from pykka import ActorDeadError

from awe.actors.base import SHUTTING_DOWN
from awe.actors.messages import JobCommand
from awe.errors import Unavailable
from awe.model import workerauth
from awe.model.clientbook import ClientCard


def worker_card(handler: Any, client_id: str) -> ClientCard | None:
    """The client's card, once the request proved it may act as that client (else the error
    the registry would answer is raised); None when there is no card: ask the registry."""
    card = handler.services.clients.cards.get(client_id)
    if card is None:
        return None
    check = workerauth.check_client(client_id, card.known, handler.cg_token(),
                                    handler.proof(client_id),
                                    handler.services.policy.workers)  # fmt: skip
    if check.error is not None:
        raise check.error
    return card


def heard_from(handler: Any, client_id: str) -> None:
    """A sign of life the registry's sweep reads (awe.model.clientbook)."""
    handler.services.clients.saw(client_id, time.time())


class JobRoute:
    """Tells a command to its job's actor when the job is live, else to the queue (which loads
    the job from the store); an actor that is leaving hands it back to the queue itself."""

    def __init__(self, services: Any) -> None:
        self._services = services

    def tell(self, command: JobCommand) -> None:
        ref = self._services.live_jobs.get(command.job_id)
        if ref is not None:
            try:
                ref.tell(command)
                return
            except ActorDeadError:
                pass  # stopped meanwhile: the queue knows what to do
        try:
            self._services.queue.tell(command)
        except ActorDeadError as err:
            raise Unavailable(SHUTTING_DOWN) from err
