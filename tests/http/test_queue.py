"""`/queue` (status, suspend/resume) and `/metrics`: read from live actor state."""

from __future__ import annotations

from tests.http.harness import AweTestCase
from tests.http.scripts import HELLO


class QueueStatusTest(AweTestCase):
    def test_counts_follow_jobs_workunits_and_clients(self) -> None:
        self.submit(HELLO)
        jid = self.submit(HELLO)["id"]
        client, _idle = self.register("busy"), self.register("idle")
        self.checkout(client["id"])
        self.call("PUT", f"/job/{jid}?suspend", expect=200)
        status = self.call("GET", "/queue?json")["data"]
        self.assertEqual(status["jobs"], {"total": 2, "active": 1, "suspended": 1})
        self.assertEqual(
            status["workunits"], {"total": 2, "queuing": 0, "checkout": 1, "suspended": 1}
        )
        self.assertEqual(status["tasks"]["total"], 2)
        self.assertEqual((status["tasks"]["in-progress"], status["tasks"]["suspended"]), (1, 1))
        self.assertEqual((status["clients"]["busy"], status["clients"]["idle"]), (1, 1))
        text = self.call("GET", "/queue")["data"]
        self.assertIn("total jobs ............... 2\n    active:           (1)\n", text)

    def test_a_suspended_queue_hands_out_nothing_until_resumed(self) -> None:
        self.submit(HELLO)
        client = self.register()
        self.assertEqual(self.call("PUT", "/queue?suspend")["data"], "work queue suspended")
        self.assertEqual(self.checkout(client["id"])["error"], ["Server queue is suspended"])
        self.assertEqual(self.call("GET", "/")["queue_status"], "suspended")
        self.assertEqual(self.call("PUT", "/queue?resume")["data"], "work queue resumed")
        self.assertEqual(self.checkout(client["id"])["data"]["cmd"]["name"], "uname")
        self.assertEqual(self.call("PUT", "/queue")["_code"], 501)


class QueueAdminTest(AweTestCase):
    config_overrides = {
        "auth": {"tokens": {"t-ana": "ana", "t-root": "root"}, "admin_users": ["root"]}
    }

    def test_only_admins_suspend_the_queue_when_admins_are_configured(self) -> None:
        refused = self.call("PUT", "/queue?suspend", headers={"Authorization": "Bearer t-ana"})
        self.assertEqual((refused["_code"], refused["error"]), (401, ["User Unauthorized"]))
        done = self.call("PUT", "/queue?suspend", headers={"Authorization": "Bearer t-root"})
        self.assertEqual(done["data"], "work queue suspended")


class MetricsTest(AweTestCase):
    def test_prometheus_gauges_read_live_state(self) -> None:
        self.submit({**HELLO, "tasks": [{**HELLO["tasks"][0], "totalwork": 3}]})
        client = self.register()
        self.checkout(client["id"])
        response = self.fetch("/metrics")
        self.assertEqual(response.code, 200)
        self.assertTrue(response.headers["Content-Type"].startswith("text/plain"))
        lines = {
            line.rsplit(" ", 1)[0]: float(line.rsplit(" ", 1)[1])
            for line in response.body.decode().splitlines()
            if line and not line.startswith("#")
        }
        self.assertEqual(lines['awe_workunits{state="queued"}'], 2.0)
        self.assertEqual(lines['awe_workunits{state="checkout"}'], 1.0)
        self.assertEqual(lines['awe_jobs{state="active"}'], 1.0)
        self.assertEqual(lines['awe_clients{status="busy"}'], 1.0)
