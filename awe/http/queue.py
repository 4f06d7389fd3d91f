"""`/queue`: status, suspend/resume the whole queue (`/metrics` is in awe/http/metrics.py)."""

from __future__ import annotations

from awe.errors import NotImplementedOp, Unauthorized
from awe.http.base import APIHandler


class QueueHandler(APIHandler):
    async def get(self) -> None:
        self.require("read")
        status = await self.ask(self.services.queue.status)
        clients = await self.ask(self.services.registry.list)
        status["clients"] = _client_counts(clients)
        if self.flag("json"):
            self.reply(status)
            return
        jobs, work, cl = status["jobs"], status["workunits"], status["clients"]
        self.reply(
            f"queue {status['queue_status']}; "
            f"jobs: {jobs['total']} in queue ({jobs['active']} active, "
            f"{jobs['suspended']} suspended); "
            f"workunits: {work['queuing']} queuing, {work['checkout']} checked out; "
            f"clients: {cl['busy']} busy, {cl['idle']} idle, {cl['suspend']} suspended"
        )

    async def put(self) -> None:
        user = self.require("write")
        if self.config.auth.admin_users and not self.is_admin(user):
            raise Unauthorized("User Unauthorized")
        if self.flag("suspend") or self.flag("resume"):
            queue = self.services.queue
            self.reply(await self.ask(queue.suspend_queue, self.flag("suspend")))
        else:
            raise NotImplementedOp()


def _client_counts(clients: list[dict]) -> dict[str, int]:
    counts = {"busy": 0, "idle": 0, "suspend": 0, "total": len(clients)}
    for client in clients:
        status = client["Status"]
        if status == "active-busy":
            counts["busy"] += 1
        elif status == "active-idle":
            counts["idle"] += 1
        elif status == "suspend":
            counts["suspend"] += 1
    return counts


routes = [
    (r"/queue/?", QueueHandler),
]
