"""`GET /metrics`: the counters of `awe.metrics`, plus gauges read from live actor state.

Gauges are computed at scrape time from what the actors answer (Dask's way): nothing here
keeps a copy of the queue or the clients.
"""

from __future__ import annotations

import time
import weakref
from collections.abc import Iterable
from typing import Any

import tornado.web
from prometheus_client import REGISTRY, CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from tornado.ioloop import IOLoop, PeriodicCallback

from awe import metrics
from awe.actors.messages import ListClients, QueueStatus
from awe.events import EventBus
from awe.http.base import APIHandler

LAG_INTERVAL_S = 0.5
_counted: weakref.WeakSet[EventBus] = weakref.WeakSet()
_lag_monitors: weakref.WeakKeyDictionary[IOLoop, PeriodicCallback] = weakref.WeakKeyDictionary()


def install(bus: EventBus) -> None:
    """Count the bus's events (once per bus) and watch this IOLoop's lag (once per loop)."""
    if bus not in _counted:
        bus.subscribe(metrics.EventCounter())
        _counted.add(bus)
    loop = IOLoop.current()
    if loop not in _lag_monitors:
        _lag_monitors[loop] = start_lag_monitor(loop)


def start_lag_monitor(loop: IOLoop) -> PeriodicCallback:
    """Every LAG_INTERVAL_S, a callback measures how much later than asked the IOLoop ran it."""
    due = [loop.time() + LAG_INTERVAL_S]

    def tick() -> None:
        now = loop.time()
        metrics.IOLOOP_LAG.set(max(0.0, now - due[0]))
        due[0] = now + LAG_INTERVAL_S

    monitor = PeriodicCallback(tick, LAG_INTERVAL_S * 1000)
    monitor.start()
    return monitor


def observe_request(handler: tornado.web.RequestHandler, route: str) -> None:
    """Request latency by route; a client's checkout also by whether it got work."""
    if route.startswith("/events"):
        return  # a stream lasts as long as its reader: not a latency
    request = handler.request
    seconds = request.request_time()
    method = request.method or ""
    child = _latency.get((route, method))
    if child is None:  # labels() locks and builds a key on every call: keep each child
        child = _latency[(route, method)] = metrics.REQUEST_LATENCY.labels(route, method)
    child.observe(seconds)
    if route == "/work" and method == "GET" and "client" in request.query_arguments:
        outcome = "work" if handler.get_status() == 200 else "none"
        metrics.CHECKOUT_WAIT.labels(outcome).observe(seconds)


_latency: dict[tuple[str, str], Any] = {}


def live_gauges(status: dict[str, Any], clients: list[dict[str, Any]]) -> list[Metric]:
    """The queue's and the clients' state now, as gauge families."""
    jobs = GaugeMetricFamily("awe_jobs", "Jobs in the queue, by state", labels=["state"])
    jobs.add_metric(["active"], status["jobs"]["active"])
    jobs.add_metric(["suspended"], status["jobs"]["suspended"])
    work = GaugeMetricFamily("awe_workunits", "Workunits by state", labels=["state"])
    work.add_metric(["queued"], status["workunits"]["queuing"])
    work.add_metric(["checkout"], status["workunits"]["checkout"])
    by_status = {"busy": 0, "idle": 0, "suspend": 0}
    by_group: dict[tuple[str, str], int] = {}
    running: dict[str, int] = {}
    for client in clients:
        state = {"active-busy": "busy", "active-idle": "idle"}.get(client["Status"])
        state = state or client["Status"]
        group = client.get("group") or "default"
        if state in by_status:
            by_status[state] += 1
        by_group[(group, state)] = by_group.get((group, state), 0) + 1
        running[group] = running.get(group, 0) + len(client.get("current_work") or {})
    gauge = GaugeMetricFamily("awe_clients", "Registered clients, by status", labels=["status"])
    for name, count in by_status.items():
        gauge.add_metric([name], count)
    groups = GaugeMetricFamily(
        "awe_clientgroup_clients",
        "Registered clients by clientgroup and status",
        labels=["clientgroup", "status"],
    )
    for (group, state), count in sorted(by_group.items()):
        groups.add_metric([group, state], count)
    work_by_group = GaugeMetricFamily(
        "awe_clientgroup_workunits_running",
        "Workunits held by the clients of each clientgroup",
        labels=["clientgroup"],
    )
    for group, count in sorted(running.items()):
        work_by_group.add_metric([group], count)
    waiting = GaugeMetricFamily("awe_waiting_checkouts", "Long-poll checkouts waiting")
    waiting.add_metric([], status["waiting_checkouts"])
    return [jobs, work, gauge, groups, work_by_group, waiting]


class _Collected:
    """A collector that yields what it was given (prometheus_client's collector protocol)."""

    def __init__(self, families: Iterable[Metric]) -> None:
        self.families = list(families)

    def collect(self) -> Iterable[Metric]:
        return self.families


class MetricsHandler(APIHandler):
    """Counters and histograms (default registry) and this moment's gauges, in one exposition."""

    async def get(self) -> None:
        self.authorize("metrics")
        started = time.perf_counter()
        status = await self.ask(self.services.queue, QueueStatus)
        clients = await self.ask(self.services.registry, ListClients)
        families = live_gauges(status, clients)
        scrape = GaugeMetricFamily("awe_scrape_seconds", "Time to read the live state")
        scrape.add_metric([], time.perf_counter() - started)
        registry = CollectorRegistry()
        registry.register(_Collected([*REGISTRY.collect(), *families, scrape]))
        self.set_header("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
        self.finish(generate_latest(registry))


routes = [
    (r"/metrics/?", MetricsHandler),
]
