"""Heartbeats, checkouts and reports that skip the registry's thread still obey it.

Handlers go by the client cards the registry publishes (awe.model.clientbook); these tests
hold the cards to the registry's own records through every change a client goes through, and
check that what handlers heard from a client counts for the registry.
"""

from __future__ import annotations

from awe.model.clientbook import card_of
from awe.model.times import parse_time
from tests.http.harness import AweTestCase
from tests.http.scripts import HELLO


class ClientCardsTest(AweTestCase):
    config_overrides = {"queue": {"client_timeout_s": 30, "max_client_failure": 2}}

    def assert_cards_match_the_registry(self) -> None:
        self.call("GET", "/client")  # the registry handled every message sent before this
        registry = self.server.registry._actor_weakref()._reg  # the registry's own records
        expected = {client_id: card_of(c) for client_id, c in registry.clients.items()}
        self.assertEqual(self.server.clients.cards, expected)

    def test_cards_follow_every_change_of_a_client(self) -> None:
        tasks = [{"taskid": str(i), "cmd": {"name": "x", "args": ""}} for i in range(4)]
        self.submit({"info": {"name": "four"}, "tasks": tasks})
        failing, operated, deleted = (self.register(n) for n in ("failing", "operated", "gone"))
        self.assert_cards_match_the_registry()
        for _ in range(2):  # two failures in a row: suspended, with a skip list
            work = self.checkout(failing["id"])["data"]
            self.assert_cards_match_the_registry()
            self.report(work["wuid"], failing["id"], "fail")
            self.assert_cards_match_the_registry()
        self.assertEqual(self.checkout(failing["id"])["error"], ["Client suspended"])
        self.assertEqual(self.heartbeat(failing["id"])["data"], {})
        self.assert_cards_match_the_registry()
        work = self.checkout(operated["id"])["data"]
        self.call("PUT", f"/client/{operated['id']}?suspend", expect=200)
        self.assert_cards_match_the_registry()  # work to discard: the registry says it
        self.assertEqual(self.heartbeat(operated["id"])["data"], {"discard": work["wuid"]})
        self.assert_cards_match_the_registry()
        self.call("PUT", f"/client/{operated['id']}?resume", expect=200)
        self.call("DELETE", f"/client/{deleted['id']}", expect=200)
        self.assert_cards_match_the_registry()
        self.assertEqual(self.heartbeat(deleted["id"])["data"], {"stop": deleted["id"]})
        self.sweep(31)  # every one of them silent past the timeout
        self.assert_cards_match_the_registry()
        self.assertEqual(self.server.clients.cards, {})

    def test_a_heartbeat_answered_by_its_handler_counts_as_a_sign_of_life(self) -> None:
        client = self.register()
        registered = self.call("GET", f"/client/{client['id']}")["data"]["last_heartbeat"]
        self.assertEqual(self.heartbeat(client["id"])["data"], {})
        beat = self.call("GET", f"/client/{client['id']}")["data"]["last_heartbeat"]
        self.assertGreater(parse_time(beat), parse_time(registered))

    def test_a_report_reaches_its_job_straight_and_the_job_completes(self) -> None:
        job_id = self.submit(HELLO)["id"]
        client = self.register()
        work = self.checkout(client["id"])["data"]
        self.assertEqual(self.report(work["wuid"], client["id"])["data"], "ok")
        self.assertEqual(self.report(work["wuid"], client["id"])["data"], "ok")  # a repeat
        self.assertEqual(self.job(job_id)["state"], "completed")
        stranger = self.report(work["wuid"], "not-a-client")
        self.assertEqual(stranger["error"], ["Client not found"])
