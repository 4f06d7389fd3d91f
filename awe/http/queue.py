"""`/queue` (status, suspend/resume the whole queue) and `/metrics` (Prometheus)."""

from __future__ import annotations

import asyncio
from typing import Any

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily

from awe.errors import NotImplementedOp, Unauthorized
from awe.http.base import APIHandler
from awe.model import compat
from awe.model.times import now


class QueueHandler(APIHandler):
    async def get(self) -> None:
        """AWE's queue status: plain text (what `awe_qstat.pl` prints) or, with `?json`, counts."""
        self.require("read")
        status = compat.queue_status(
            await self.ask(self.services.queue.status),
            await live_overviews(self),
            await self.ask(self.services.registry.list),
        )
        self.reply(status if self.flag("json") else compat.queue_text(status, now()))

    async def put(self) -> None:
        user = self.require("write")
        if self.config.auth.admin_users and not self.is_admin(user):
            raise Unauthorized("User Unauthorized")
        if self.flag("suspend") or self.flag("resume"):
            queue = self.services.queue
            self.reply(await self.ask(queue.suspend_queue, self.flag("suspend")))
        else:
            raise NotImplementedOp()


async def live_overviews(handler: APIHandler, workunits: bool = False) -> list[dict[str, Any]]:
    """Every live job's overview (`JobActor.overview`), asked of all of them at once."""
    queue = handler.services.queue
    live = await handler.ask(queue.registered)
    answers = await asyncio.gather(
        *(handler.ask(queue.route, job_id, "overview", workunits) for job_id in live["registered"])
    )
    return [answer for answer in answers if answer is not None]  # None: it just left the queue


class MetricsHandler(APIHandler):
    """Gauges read from live actor state at scrape time; nothing is counted twice."""

    async def get(self) -> None:
        status = await self.ask(self.services.queue.status)
        clients = compat.client_counts(await self.ask(self.services.registry.list))
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
        for name, key in (("busy", "busy"), ("idle", "idle"), ("suspend", "suspended")):
            gauge.add_metric([name], clients[key])
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
