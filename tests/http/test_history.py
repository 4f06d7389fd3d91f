"""Issue 12, producer side: every state change is an event with its stimulus, on the server's
bus and in the job's history (`GET /job/{id}?history`), which survives the job and a restart."""

from __future__ import annotations

import json

from awe.events import Event
from tests.http.harness import AweTestCase
from tests.http.scripts import HELLO


def moves(history: list[dict]) -> list[tuple[str, str, str, str]]:
    return [(e["kind"], e["old"], e["new"], e["stimulus"]) for e in history]


class HistoryTest(AweTestCase):
    config_overrides = {"queue": {"client_timeout_s": 30}}

    def test_each_change_names_the_request_that_caused_it_oldest_first(self) -> None:
        seen: list[Event] = []
        self.server.events.subscribe(seen.append)
        submitted = self.call("POST", "/job", {"upload": json.dumps(HELLO)}, expect=200)
        jid = submitted["data"]["id"]
        client = self.register()
        checkout = self.checkout(client["id"])
        report = self.report(checkout["data"]["wuid"], client["id"])
        submit_id, checkout_id, report_id = (
            answer["_headers"]["X-Request-Id"] for answer in (submitted, checkout, report)
        )
        history = self.call("GET", f"/job/{jid}?history", expect=200)["data"]
        self.assertEqual(moves(history), [
            ("job", "", "init", submit_id),
            ("task", "init", "pending", submit_id),
            ("task", "pending", "queued", submit_id),
            ("job", "init", "queued", submit_id),
            ("workunit", "queued", "checkout", checkout_id),
            ("task", "queued", "in-progress", checkout_id),
            ("job", "queued", "in-progress", checkout_id),
            ("workunit", "checkout", "done", report_id),
            ("task", "in-progress", "completed", report_id),
            ("job", "in-progress", "completed", report_id),
        ])  # fmt: skip
        self.assertEqual(history[4]["detail"], client["id"])  # who got the lease
        self.assertTrue(all(e["job_id"] == jid and e["owner"] == "public" for e in history))
        ids = [e["id"] for e in history]
        self.assertEqual(ids, sorted(ids))
        # the bus saw the same events, and the client's own, in one order
        by_id = {e.id: e for e in seen}
        self.assertEqual([by_id[i].to_json() for i in ids], history)
        client_moves = [(e.old, e.new) for e in seen if e.kind == "client"]
        self.assertEqual(client_moves, [("", "active-idle"), ("active-idle", "active-busy"),
                                        ("active-busy", "active-idle")])  # fmt: skip
        self.assertNotIn("history", self.job(jid))  # listings and views stay as they were

    def test_history_is_kept_with_the_job_and_holds_the_last_hundred(self) -> None:
        script = {**HELLO, "tasks": [{**HELLO["tasks"][0], "totalwork": 60}]}
        jid = self.submit(script)["id"]
        client = self.register()
        for _ in range(60):
            work = self.checkout(client["id"])["data"]
            self.report(work["wuid"], client["id"])
        self.flush()
        self.restart()
        history = self.call("GET", f"/job/{jid}?history", expect=200)["data"]
        self.assertEqual(len(history), 100)  # 128 changes were made
        self.assertEqual(moves(history)[-1][:3], ("job", "in-progress", "completed"))
        self.assertEqual(self.job(jid)["registered"], False)  # served from the store

    def test_a_lost_client_sweep_is_the_stimulus_of_its_requeued_work(self) -> None:
        jid = self.submit(HELLO)["id"]
        client = self.register()
        work = self.checkout(client["id"])["data"]
        self.sweep(31)
        self.flush()
        history = self.call("GET", f"/job/{jid}?history", expect=200)["data"]
        self.assertEqual(moves(history)[-1], ("workunit", "checkout", "queued", "sweep"))
        self.assertEqual(history[-1]["subject"], work["wuid"])
        self.assertEqual(history[-1]["detail"], "lost: no heartbeat")

    def test_history_needs_the_right_to_read_the_job(self) -> None:
        self.config.auth.tokens = {"t-ana": "ana", "t-bob": "bob"}
        self.config.anonymous.read = False
        ana = {"Authorization": "Bearer t-ana"}
        jid = self.submit({**HELLO, "info": {**HELLO["info"]}}, headers=ana)["id"]
        self.call("PUT", f"/job/{jid}?suspend", headers=ana, expect=200)
        self.assertEqual(self.call("GET", f"/job/{jid}?history")["_code"], 401)
        bob = self.call("GET", f"/job/{jid}?history", headers={"Authorization": "Bearer t-bob"})
        self.assertEqual(bob["_code"], 401)
        mine = self.call("GET", f"/job/{jid}?history", headers=ana, expect=200)["data"]
        suspended = [e for e in mine if e["kind"] == "job"][-1]
        self.assertEqual((suspended["new"], suspended["detail"]), ("suspend", "manually suspended"))
        self.assertEqual({e["owner"] for e in mine}, {"ana"})

    def test_a_job_suspended_by_failures_says_why_in_its_history(self) -> None:
        script = {**HELLO, "info": {**HELLO["info"], "noretry": True}}
        jid = self.submit(script)["id"]
        client = self.register()
        work = self.checkout(client["id"])["data"]
        notes = "blastn: database nr.fa not found"
        self.report(work["wuid"], client["id"], "fail", files={"notes": notes})
        self.assertEqual(self.job(jid)["state"], "suspend")
        history = self.call("GET", f"/job/{jid}?history", expect=200)["data"]
        failed = [e for e in history if e["kind"] == "workunit" and e["old"] == "checkout"][-1]
        self.assertTrue(failed["detail"].startswith("failed"), failed)
        suspended = [e for e in history if e["kind"] == "job"][-1]
        self.assertEqual((suspended["old"], suspended["new"]), ("in-progress", "suspend"))
        self.assertIn(f"workunit {work['wuid']} failed 1 time(s)", suspended["detail"])
        self.assertIn(notes, suspended["detail"])  # the worker's own words, for the operator
        self.assertEqual(suspended["stimulus"], failed["stimulus"])  # that one report did it
