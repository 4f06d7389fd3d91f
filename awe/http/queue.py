"""`/queue`: status, suspend/resume the whole queue (`/metrics` is in awe/http/metrics.py)."""

from __future__ import annotations

import asyncio
from typing import Any

from awe.actors.messages import JobOverview, ListClients, QueueStatus, Registered, SuspendQueue
from awe.errors import NotImplementedOp
from awe.http.base import APIHandler
from awe.model import compat
from awe.model.times import now


class QueueHandler(APIHandler):
    async def get(self) -> None:
        """AWE's queue status: plain text (what `awe_qstat.pl` prints) or, with `?json`, counts."""
        self.authorize("queue.show")
        status = compat.queue_status(
            await self.ask(self.services.queue, QueueStatus),
            await live_overviews(self),
            await self.ask(self.services.registry, ListClients),
        )
        self.reply(status if self.flag("json") else compat.queue_text(status, now()))

    async def put(self) -> None:
        self.authorize("queue.control")
        if self.flag("suspend") or self.flag("resume"):
            queue = self.services.queue
            self.reply(await self.ask(queue, SuspendQueue, suspended=self.flag("suspend")))
        else:
            raise NotImplementedOp()


async def live_overviews(handler: APIHandler, workunits: bool = False) -> list[dict[str, Any]]:
    """Every live job's overview (`JobActor.overview`), asked of all of them at once."""
    queue = handler.services.queue
    live = await handler.ask(queue, Registered)
    answers = await asyncio.gather(
        *(
            handler.ask(queue, JobOverview, job_id=job_id, workunits=workunits)
            for job_id in live["registered"]
        )
    )
    return [answer for answer in answers if answer is not None]  # None: it just left the queue


routes = [
    (r"/queue/?", QueueHandler),
]
