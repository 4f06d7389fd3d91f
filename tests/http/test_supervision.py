"""Issue 9: no request, fault or race wedges the server; every ask is answered, in time."""

from __future__ import annotations

import asyncio
import json
import logging
import threading
from typing import Any
from unittest import mock

import pykka
from tornado.httpclient import AsyncHTTPClient

from awe.actors.job import JobActor
from awe.store.base import Batch
from tests.http.harness import AweTestCase
from tests.http.scripts import HELLO, chain


class BadInputTest(AweTestCase):
    def test_a_profile_with_a_bad_regtime_is_a_400_and_the_server_keeps_answering(self) -> None:
        bad = self.call("POST", "/client", {"profile": json.dumps({"regtime": "not-a-time"})})
        self.assertEqual(bad["_code"], 400)
        self.assertIn("regtime must be an RFC 3339 time", bad["error"][0])
        self.assertEqual(self.call("GET", "/client")["_code"], 200)
        self.assertEqual(self.register("after")["name"], "after")

    def test_a_report_for_a_rank_the_task_does_not_have_is_a_404(self) -> None:
        jid = self.submit(HELLO)["id"]
        client = self.register()
        work = self.checkout(client["id"])["data"]
        for wuid in (f"{jid}_0_9", f"{jid}_7_0", "nosuchjob_0_0"):
            answer = self.report(wuid, client["id"])
            self.assertEqual(answer["_code"], 404, answer)
            self.assertEqual(answer["error"], [f"no workunit found with id {wuid}"])
        self.assertEqual(self.report(work["wuid"], client["id"])["data"], "ok")
        self.flush()
        self.assertEqual(self.job(jid)["state"], "completed")
        # once the job left the queue, a late report is still checked against the store
        self.assertEqual(self.report(work["wuid"], client["id"])["data"], "ok")
        self.assertEqual(self.report(f"{jid}_0_9", client["id"])["_code"], 404)


class ActorFaultTest(AweTestCase):
    def test_a_registry_handler_that_raises_answers_500_naming_the_request(self) -> None:
        boom = mock.patch("awe.actors.clients.client_from_profile",
                          side_effect=RuntimeError("boom"))  # fmt: skip
        with boom, self.assertLogs("awe.actors.base", logging.ERROR) as logged:
            answer = self.call("POST", "/client", {"profile": json.dumps({"name": "x"})},
                               headers={"Authorization": "CG_TOKEN s3cret-token"})  # fmt: skip
        request_id = answer["_headers"]["X-Request-Id"]
        self.assertTrue(request_id.startswith("req-"))
        self.assertEqual(answer["_code"], 500)
        self.assertEqual(
            answer["error"], [f"internal error (request {request_id}); it is in the server log"]
        )
        text = "\n".join(logged.output)
        self.assertIn("RegisterClient(", text)  # the message that failed, with its request id
        self.assertIn(request_id, text)
        self.assertIn("RuntimeError: boom", text)
        self.assertNotIn("s3cret-token", text)  # never a secret in the log
        self.assertEqual(self.register("still-there")["name"], "still-there")
        self.assertEqual(self.call("GET", "/client")["_code"], 200)

    def test_a_job_actor_that_raises_answers_500_and_its_job_goes_on(self) -> None:
        jid = self.submit(HELLO)["id"]
        client = self.register()
        work = self.checkout(client["id"])["data"]
        with mock.patch("awe.actors.job.lifecycle.report", side_effect=KeyError("surprise")):
            failed = self.report(work["wuid"], client["id"])
        self.assertEqual(failed["_code"], 500)
        self.assertIn(failed["_headers"]["X-Request-Id"], failed["error"][0])
        self.assertEqual(self.job(jid)["state"], "in-progress")  # the actor still answers
        self.assertEqual(self.report(work["wuid"], client["id"])["data"], "ok")
        self.flush()
        self.assertEqual(self.job(jid)["state"], "completed")

    def test_a_job_actor_killed_by_a_message_answers_it_and_comes_back_from_the_store(
        self,
    ) -> None:
        jid = self.submit(HELLO)["id"]
        client = self.register()
        work = self.checkout(client["id"])["data"]
        with mock.patch("awe.actors.job.lifecycle.report", side_effect=SystemExit("planted")):
            killed = self.report(work["wuid"], client["id"])
        self.assertEqual(killed["_code"], 500)
        self.assertIn(killed["_headers"]["X-Request-Id"], killed["error"][0])
        job = self.job(jid)  # restarted from the store, its lease kept
        self.assertEqual((job["state"], job["registered"]), ("in-progress", True))
        self.assertEqual(self.report(work["wuid"], client["id"])["data"], "ok")
        self.assertEqual(self.job(jid)["state"], "completed")

    def test_a_job_actor_that_died_is_restarted_from_the_store(self) -> None:
        jid = self.submit(chain(2))["id"]
        client = self.register()
        first = self.checkout(client["id"])["data"]
        self.report(first["wuid"], client["id"])
        self.flush()
        (ref,) = pykka.ActorRegistry.get_by_class(JobActor)
        ref.stop()  # gone without leaving the queue, as if it had crashed
        job = self.job(jid)  # the queue finds it dead and brings the job back from the store
        self.assertEqual((job["state"], job["registered"]), ("in-progress", True))
        second = self.checkout(client["id"])["data"]
        self.assertEqual(second["wuid"], f"{jid}_1_0")
        self.report(second["wuid"], client["id"])
        self.flush()
        self.assertEqual(self.job(jid)["state"], "completed")


class PriorityRaceTest(AweTestCase):
    def test_concurrent_priority_changes_on_a_completed_job(self) -> None:
        jid = self.submit(HELLO)["id"]
        client = self.register()
        work = self.checkout(client["id"])["data"]
        self.report(work["wuid"], client["id"])

        async def rounds() -> list[int]:
            http = AsyncHTTPClient()
            codes = []
            for round_ in range(30):  # it took a few rounds to kill the old queue
                answers = await _gather(
                    http.fetch(self.get_url(f"/job/{jid}?priority={round_ * 3 + n + 1}"),
                               method="PUT", body=b"", raise_error=False, request_timeout=20)
                    for n in range(3)
                )  # fmt: skip
                codes += [a.code for a in answers]
            return codes

        codes = self.io_loop.run_sync(rounds, timeout=120)
        self.assertEqual(codes, [200] * 90)
        job = self.job(jid)
        self.assertEqual((job["state"], job["registered"]), ("completed", False))
        self.assertIn(job["info"]["priority"], range(88, 91))  # one of the last round's
        other = self.submit(HELLO)["id"]  # the queue still hands out work
        self.assertEqual(self.checkout(client["id"])["data"]["wuid"], f"{other}_0_0")


async def _gather(awaitables: Any) -> list[Any]:
    return await asyncio.gather(*awaitables)


class GatedStore:
    """The real store, whose writes wait while `gate` is clear."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.gate = threading.Event()
        self.gate.set()

    def save_batch(self, batch: Batch) -> None:
        self.gate.wait(30)
        self.inner.save_batch(batch)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


class DeadlineTest(AweTestCase):
    config_overrides = {"api": {"ask_timeout_s": 1.0}}  # short, with room for a busy machine

    def open_store(self):  # noqa: ANN201 - the harness hook
        self.gated = GatedStore(super().open_store())
        return self.gated

    def test_an_answer_past_the_deadline_is_a_504_and_later_requests_are_served(self) -> None:
        self.gated.gate.clear()  # nothing becomes durable: nothing may be answered as done
        try:
            late = self.call("POST", "/job", {"upload": json.dumps(HELLO)})
            self.assertEqual(late["_code"], 504)
            request_id = late["_headers"]["X-Request-Id"]
            self.assertEqual(late["error"], [f"no answer within 1 s (request {request_id}); "
                                             "it may still take effect"])  # fmt: skip
            self.assertEqual(self.call("GET", "/client")["_code"], 200)  # nothing to persist
        finally:
            self.gated.gate.set()
        self.flush()
        listed = self.call("GET", "/job")
        self.assertEqual(listed["total_count"], 1)  # it was accepted, and is durable now
        client = self.register()
        self.assertEqual(self.checkout(client["id"])["data"]["cmd"]["name"], "uname")
