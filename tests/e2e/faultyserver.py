"""awe-server with one planted fault: a heartbeat of client `die-now` kills the registry actor.

A SystemExit inside an actor is what no handler catches: pykka stops the actor (and all the
others). The test runs this file as a real server process to see what the process does then.
"""

from __future__ import annotations

from awe.actors.clients import ClientRegistryActor
from awe.actors.messages import Heartbeat
from awe.server import main

_heartbeat = ClientRegistryActor._handlers[Heartbeat]


def _planted(actor: ClientRegistryActor, cmd: Heartbeat) -> None:
    if cmd.client_id == "die-now":
        raise SystemExit("planted fault")
    _heartbeat(actor, cmd)


ClientRegistryActor._handlers[Heartbeat] = _planted

if __name__ == "__main__":
    main()
