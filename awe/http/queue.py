"""`/queue` (status, suspend/resume the whole queue) and `/metrics` (Prometheus)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily

from awe.actors.messages import ListClients, QueueStatus, SuspendQueue
from awe.errors import NotImplementedOp, Unauthorized
from awe.http.base import APIHandler


class QueueHandler(APIHandler):
    async def get(self) -> None:
        self.require("read")
        status = await self.ask(self.services.queue, QueueStatus)
        clients = await self.ask(self.services.registry, ListClients)
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
            self.reply(await self.ask(queue, SuspendQueue, suspended=self.flag("suspend")))
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


class MetricsHandler(APIHandler):
    """Gauges read from live actor state at scrape time; nothing is counted twice."""

    async def get(self) -> None:
        status = await self.ask(self.services.queue, QueueStatus)
        clients = _client_counts(await self.ask(self.services.registry, ListClients))
        families = []
        jobs = GaugeMetricFamily("awe_jobs", "Jobs in the queue, by state", labels=["state"])
        jobs.add_metric(["active"], status["jobs"]["active"])
        jobs.add_metric(["suspended"], status["jobs"]["suspended"])
        families.append(jobs)
        work = GaugeMetricFamily("awe_workunits", "Workunits by state", labels=["state"])
        work.add_metric(["queued"], status["workunits"]["queuing"])
        work.add_metric(["checkout"], status["workunits"]["checkout"])
        families.append(work)
        gauge = GaugeMetricFamily("awe_clients", "Registered clients, by status", labels=["status"])
        for name in ("busy", "idle", "suspend"):
            gauge.add_metric([name], clients[name])
        families.append(gauge)
        waiting = GaugeMetricFamily("awe_waiting_checkouts", "Long-poll checkouts waiting")
        waiting.add_metric([], status["waiting_checkouts"])
        families.append(waiting)

        class _Snapshot:
            def collect(self):  # noqa: ANN202 - prometheus_client's collector protocol
                return families

        registry = CollectorRegistry()
        registry.register(_Snapshot())
        self.set_header("Content-Type", "text/plain; version=0.0.4")
        self.finish(generate_latest(registry))


routes = [
    (r"/queue/?", QueueHandler),
    (r"/metrics/?", MetricsHandler),
]
