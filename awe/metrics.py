"""Prometheus metrics that count and time what happens; `/metrics` adds gauges of live state.

Counters and run-time histograms are fed by `EventCounter`, an `EventBus` listener, so they
count each state change once, where it happened. Which event counts as what (the contract
with the actors that publish them):

| event | counts |
|---|---|
| job, old "" (a new job) | `awe_jobs_submitted_total` |
| job, new "completed" / "deleted" | `awe_jobs_finished_total{state}` |
| workunit, new "checkout" | `awe_workunits_checked_out_total`; queue wait since it was queued |
| workunit, new "done" | `awe_workunits_completed_total`; run time since its checkout |
| workunit, checkout → anything else, "discard" in stimulus/detail | `..._discarded_total` |
| workunit, checkout → anything else, "fail" in stimulus/detail | `..._failed_total` |
| each of the three above | `awe_reports_total{status}` (done, fail, discarded): only a |
| | report from the holder makes them; releases (lost client…) are none of them |

So a failed run's event must say "fail" (its detail "failed: <notes>", say): a release's
reason ("client lost", "client deleted") must not.

Module-level metrics live in prometheus_client's default registry (one server per process).
"""

from __future__ import annotations

import collections
import logging
import threading

from prometheus_client import Counter, Gauge, Histogram

from awe.events import Event
from awe.model.times import parse_time

log = logging.getLogger(__name__)

# seconds: from a few ms (an idle worker's long poll answered at once) to hours (a big command)
RUN_BUCKETS = (0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30, 60, 300, 900, 1800, 3600, 4 * 3600, 12 * 3600)
WAIT_BUCKETS = (0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30, 60, 300, 900, 3600)

CHECKED_OUT = Counter("awe_workunits_checked_out", "Workunits checked out by a client")
COMPLETED = Counter("awe_workunits_completed", "Workunits reported done")
FAILED = Counter("awe_workunits_failed", "Workunits reported failed (each failed run)")
DISCARDED = Counter("awe_workunits_discarded", "Workunits handed back by their client")
REPORTS = Counter("awe_reports", "Status reports that changed a workunit", ["status"])
JOBS_SUBMITTED = Counter("awe_jobs_submitted", "Jobs accepted")
JOBS_FINISHED = Counter("awe_jobs_finished", "Jobs that ended, by final state", ["state"])

QUEUE_WAIT = Histogram(
    "awe_workunit_queue_wait_seconds",
    "Time a workunit waited in the queue before a client checked it out",
    buckets=WAIT_BUCKETS,
)
RUN_TIME = Histogram(
    "awe_workunit_run_seconds",
    "Time from a workunit's checkout to its report (done or failed)",
    ["status"],
    buckets=RUN_BUCKETS,
)
CHECKOUT_WAIT = Histogram(
    "awe_checkout_wait_seconds",
    "How long a client's checkout request took, long poll included",
    ["outcome"],
    buckets=WAIT_BUCKETS,
)
SNAPSHOT_WRITE = Histogram(
    "awe_snapshot_write_seconds",
    "Time to write one batch of job snapshots to the store (group commit)",
    buckets=WAIT_BUCKETS,
)
REQUEST_LATENCY = Histogram(
    "awe_http_request_duration_seconds",
    "HTTP request latency by route and method (event streams excluded)",
    ["route", "method"],
    buckets=WAIT_BUCKETS,
)
IOLOOP_LAG = Gauge(
    "awe_ioloop_lag_seconds", "How late the IOLoop ran a callback last time it was measured"
)
EVENT_STREAMS = Gauge("awe_event_streams", "Open GET /events streams")
EVENT_STREAMS_DROPPED = Counter(
    "awe_event_streams_dropped", "Event streams closed because their reader fell behind"
)


class EventCounter:
    """An EventBus listener: counters and histograms from events (see the table above)."""

    def __init__(self, memory: int = 100_000) -> None:
        self._memory = memory
        self._since: collections.OrderedDict[str, tuple[str, float]] = collections.OrderedDict()
        # job id -> its keys in `_since`: the key itself while it is its only one (most jobs
        # have one task queued at a time, and an empty set is 216 bytes), a set when more
        self._by_job: dict[str, str | set[str]] = {}
        # events arrive on every publishing thread (job actors run on a pool): one at a time here
        self._lock = threading.Lock()

    def __call__(self, event: Event) -> None:
        with self._lock:
            self._count(event)

    def _count(self, event: Event) -> None:
        try:
            if event.kind == "job":
                self._job(event)
            elif event.kind == "task" and event.new == "queued":
                # its workunits are queued from now (they may be made without events of their own)
                at = parse_time(event.time).timestamp()
                self._remember(event.subject, event.job_id, "queued", at)
            elif event.kind == "workunit":
                self._workunit(event)
        except ValueError:  # a malformed time must not break the publisher
            log.warning("event %s has an unreadable time %r", event.id, event.time)

    def _job(self, event: Event) -> None:
        if event.old == "" and event.new not in ("", "deleted"):
            JOBS_SUBMITTED.inc()
        if event.new in ("completed", "deleted") and event.old != event.new:
            JOBS_FINISHED.labels(event.new).inc()
            self._forget_job(event.subject)

    def _workunit(self, event: Event) -> None:
        at = parse_time(event.time).timestamp()
        cause = f"{event.stimulus} {event.detail}".lower()
        status = ""
        if event.new == "checkout":
            CHECKED_OUT.inc()
            self._observe(event.subject, "queued", at, QUEUE_WAIT)
        elif event.new == "done":
            COMPLETED.inc()
            status = "done"
        elif event.old == "checkout" and "discard" in cause:
            DISCARDED.inc()
            status = "discarded"
        elif event.old == "checkout" and "fail" in cause:
            FAILED.inc()
            status = "fail"
        if status in ("done", "fail"):
            self._observe(event.subject, "checkout", at, RUN_TIME.labels(status))
        if status:
            REPORTS.labels(status).inc()
        self._remember(event.subject, event.job_id, event.new, at)

    def _observe(self, wuid: str, state: str, at: float, histogram: Histogram) -> None:
        seen = self._since.get(wuid)
        if seen is None and state == "queued":
            seen = self._since.get(wuid.rsplit("_", 1)[0])  # since its task was queued
        if seen is not None and seen[0] == state:
            histogram.observe(max(0.0, at - seen[1]))

    def _remember(self, wuid: str, job_id: str, state: str, at: float) -> None:
        """When each workunit entered its state: only to time the next change, bounded."""
        if state in ("queued", "checkout"):
            self._since[wuid] = (state, at)
            self._since.move_to_end(wuid)
            self._index(job_id or _job_of(wuid), wuid)
            while len(self._since) > self._memory:
                self._drop(self._since.popitem(last=False)[0])
        elif self._since.pop(wuid, None) is not None:
            self._drop(wuid)

    def _index(self, job_id: str, key: str) -> None:
        keys = self._by_job.get(job_id)
        if keys is None or keys == key:
            self._by_job[job_id] = key  # the job's id as its event has it: no string of its own
        elif isinstance(keys, str):
            self._by_job[job_id] = {keys, key}
        else:
            keys.add(key)

    def _drop(self, key: str) -> None:
        job_id = _job_of(key)
        keys = self._by_job.get(job_id)
        if isinstance(keys, set):
            keys.discard(key)
            if not keys:
                del self._by_job[job_id]
        elif keys == key:
            del self._by_job[job_id]

    def _forget_job(self, job_id: str) -> None:
        """A finished job's entries go at once, without a scan of every remembered workunit."""
        keys = self._by_job.pop(job_id, ())
        for key in (keys,) if isinstance(keys, str) else keys:
            self._since.pop(key, None)


def _job_of(key: str) -> str:
    """The job id of a task id or wuid (`<job id>_<task>[_<rank>]`)."""
    return key.split("_", 1)[0]
