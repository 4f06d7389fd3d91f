"""`/metrics`: counters and histograms from events, gauges by clientgroup, latency by route."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from prometheus_client.parser import text_string_to_metric_families

from awe.events import Event, make
from awe.model.times import format_time
from tests.http.harness import AweTestCase
from tests.http.scripts import HELLO

REPO = Path(__file__).resolve().parents[2]

T0 = datetime(2026, 1, 1, 10, tzinfo=UTC)


def at(seconds: float) -> str:
    """T0 plus `seconds`, as events carry their time."""
    return format_time(T0 + timedelta(seconds=seconds))


def unit(wuid: str, old: str, new: str, stimulus: str, seconds: float, **more: Any) -> Event:
    job_id = wuid.split("_")[0]
    return make("workunit", wuid, old, new, stimulus, job_id=job_id, time=at(seconds), **more)


class MetricsTest(AweTestCase):
    def scrape(self) -> dict[tuple[str, tuple], float]:
        """Every sample of /metrics, by (name, sorted labels)."""
        response = self.fetch("/metrics")
        assert response.code == 200
        assert response.headers["Content-Type"].startswith("text/plain")
        samples = {}
        for family in text_string_to_metric_families(response.body.decode()):
            for sample in family.samples:
                samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
        return samples

    def delta(self, before: dict, after: dict, name: str, **labels: str) -> float:
        key = (name, tuple(sorted(labels.items())))
        return after.get(key, 0.0) - before.get(key, 0.0)

    def test_event_counters_count_each_change_once(self) -> None:
        before = self.scrape()
        self.server.events.publish(
            [
                make("job", "j", "", "queued", "req-1", job_id="j", time=at(0)),
                unit("j_0_0", "", "queued", "req-1", 0),
                unit("j_0_0", "queued", "checkout", "req-2", 4),
                unit("j_0_0", "checkout", "queued", "report-j_0_0", 10, detail="workunit failed"),
                unit("j_0_0", "queued", "checkout", "req-3", 11),
                unit("j_0_0", "checkout", "queued", "report-j_0_0", 12, detail="discarded"),
                unit("j_0_0", "queued", "checkout", "req-4", 12.5),
                unit("j_0_0", "checkout", "queued", "sweep", 20, detail="client lost"),
                unit("j_0_0", "queued", "checkout", "req-5", 21),
                unit("j_0_0", "checkout", "done", "report-j_0_0", 51),
                make("task", "j_1", "pending", "queued", "req-6", job_id="j", time=at(52)),
                unit("j_1_1", "queued", "checkout", "req-7", 54),  # no event made it queued
                make("job", "j", "in-progress", "completed", "report-j_0_0", job_id="j"),
            ]
        )
        after = self.scrape()
        counts = {
            "awe_jobs_submitted_total": 1,
            "awe_workunits_checked_out_total": 5,
            "awe_workunits_failed_total": 1,
            "awe_workunits_discarded_total": 1,
            "awe_workunits_completed_total": 1,
        }
        for name, count in counts.items():
            assert self.delta(before, after, name) == count, name
        assert self.delta(before, after, "awe_jobs_finished_total", state="completed") == 1
        for status in ("done", "fail", "discarded"):
            assert self.delta(before, after, "awe_reports_total", status=status) == 1
        # queue waits 4 + 1 + 0.5 + 1 s, and 2 s since j_1_1's task was queued; runs: failed
        # after 6 s, done after 30 s
        assert self.delta(before, after, "awe_workunit_queue_wait_seconds_count") == 5
        assert self.delta(before, after, "awe_workunit_queue_wait_seconds_sum") == 8.5
        assert self.delta(before, after, "awe_workunit_run_seconds_sum", status="fail") == 6
        assert self.delta(before, after, "awe_workunit_run_seconds_sum", status="done") == 30

    def test_gauges_by_clientgroup_read_live_state(self) -> None:
        self.submit(HELLO)
        busy = self.register("b1", group="bigmem")
        self.register("b2", group="bigmem")
        self.register("d1")
        assert self.checkout(busy["id"])["_code"] == 200
        samples = self.scrape()
        by_group = {
            labels: value
            for (name, labels), value in samples.items()
            if name == "awe_clientgroup_clients"
        }
        assert by_group == {
            (("clientgroup", "bigmem"), ("status", "busy")): 1,
            (("clientgroup", "bigmem"), ("status", "idle")): 1,
            (("clientgroup", "default"), ("status", "idle")): 1,
        }
        running = ("awe_clientgroup_workunits_running", (("clientgroup", "bigmem"),))
        assert samples[running] == 1
        assert samples[("awe_workunits", (("state", "checkout"),))] == 1

    def test_requests_are_timed_by_route_and_snapshots_by_write(self) -> None:
        before = self.scrape()
        job = self.submit(HELLO)
        for _ in range(3):
            self.call("GET", f"/job/{job['id']}", expect=200)
        client = self.register("w")
        self.checkout(client["id"])
        self.checkout(client["id"])  # HELLO has one workunit: nothing for the second
        after = self.scrape()
        route = {"route": "/job/{id}", "method": "GET"}
        assert self.delta(before, after, "awe_http_request_duration_seconds_count", **route) == 3
        assert self.delta(before, after, "awe_checkout_wait_seconds_count", outcome="work") == 1
        assert self.delta(before, after, "awe_checkout_wait_seconds_count", outcome="none") == 1
        assert self.delta(before, after, "awe_snapshot_write_seconds_count") >= 1
        assert ("awe_ioloop_lag_seconds", ()) in after

    def test_every_metric_name_follows_prometheus_conventions(self) -> None:
        response = self.fetch("/metrics")
        names = {
            family.name: family.type
            for family in text_string_to_metric_families(response.body.decode())
            if family.name.startswith("awe_")
        }
        assert len(names) >= 20, json.dumps(names)
        for name, kind in names.items():
            if kind == "histogram":
                assert name.endswith("_seconds"), name
            assert not name.endswith("_total"), name  # the parser strips it from counters

    def test_the_grafana_example_graphs_only_metrics_the_server_exposes(self) -> None:
        dashboard = json.loads((REPO / "examples" / "grafana-dashboard.json").read_text())
        exprs = [t["expr"] for panel in dashboard["panels"] for t in panel["targets"]]
        used = {
            re.sub(r"_(bucket|sum|count|total)$", "", name)
            for expr in exprs
            for name in re.findall(r"\bawe_[a-z_]+", expr)
        }
        response = self.fetch("/metrics")
        exposed = {f.name for f in text_string_to_metric_families(response.body.decode())}
        assert len(used) >= 15
        assert used - exposed == set()
