"""A restart serves at once and brings unfinished jobs back meanwhile (D3): a request about a job
not read back yet is answered correctly, no checkout is served until every job is back (so the
ready index hands work out in its order), and nothing is run twice or lost."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

from awe.actors.base import ask_sync, new_reply
from awe.actors.messages import LiveAmong, Pick, Registered
from awe.model.matching import ClientView
from awe.server import AweServer
from awe.store.base import Store
from awe.store.embedded import EmbeddedStore
from tests.http.harness import AweTestCase


class GatedStore(EmbeddedStore):
    """The recovery thread's reads wait at a gate the test opens (other reads never wait)."""

    def __init__(self, path: Path, gate: threading.Event) -> None:
        super().__init__(path, "normal")
        self.gate = gate

    def get_jobs(self, job_ids: list[str], history: bool = True) -> list[dict[str, Any]]:
        if not history:  # how recovery reads
            assert self.gate.wait(30), "the test never opened the gate"
        return super().get_jobs(job_ids, history)


def one_task(name: str, priority: int = 1) -> dict[str, Any]:
    return {"info": {"name": name, "priority": priority},
            "tasks": [{"taskid": "0", "cmd": {"name": "run", "args": name}}]}  # fmt: skip


class RequestsDuringRecoveryTest(AweTestCase):
    config_overrides = {"queue": {"client_timeout_s": 30}}

    def restart_held(self) -> tuple[threading.Event, threading.Thread]:
        """Restart; the recovery thread is held before it reads any job back."""
        self.flush()
        self.server.stop()
        gate = threading.Event()
        self.store: Store = GatedStore(self.config.embedded_path, gate)
        self.server = AweServer(self.config, self.store, fatal=self.deaths.append)
        thread = self.server.start_recovery()
        assert thread is not None
        self._app = self.get_app()
        self.http_server.request_callback = self._app
        return gate, thread

    def test_jobs_are_served_while_they_come_back_and_none_runs_twice(self) -> None:
        first = self.submit(one_task("first"))["id"]
        second = self.submit(one_task("second"))["id"]
        urgent = self.submit(one_task("urgent", priority=5))["id"]
        worker = self.register("worker")
        held = self.checkout(worker["id"])["data"]  # the urgent one: highest priority
        self.assertEqual(held["wuid"], f"{urgent}_0_0")

        gate, thread = self.restart_held()
        listing = self.call("GET", "/job?limit=10", expect=200)
        self.assertEqual(listing["total_count"], 3)
        self.assertTrue(all(job["registered"] for job in listing["data"]))
        # a job not read back yet is read at once, inside the actors, and answered
        self.assertEqual((self.job(first)["state"], self.job(first)["registered"]),
                         ("queued", True))  # fmt: skip
        # no checkout until every job is back: the ready index is not whole yet
        fresh = self.register("fresh")
        self.assertEqual(self.checkout(fresh["id"])["error"], ["No eligible workunit found"])
        waiting = new_reply()
        self.server.queue.tell(Pick(client=ClientView(fresh["id"], "default", frozenset("*")),
                                    available=None, wait_s=30, wait_token=10**9,
                                    reply=waiting))  # fmt: skip
        # the worker holding work re-attaches and reports it: its job comes back first (D3)
        self.register("worker", id=worker["id"], current_work={held["wuid"]: True})
        self.assertEqual(self.report(held["wuid"], worker["id"])["data"], "ok")
        self.flush()
        self.assertEqual(self.job(urgent)["state"], "completed")
        self.assertFalse(waiting.done())

        gate.set()
        thread.join(30)
        self.assertFalse(thread.is_alive())
        # the waiting checkout is served first, then the rest, in submit order; each once
        self.assertEqual(waiting.result(10)["wuid"], f"{first}_0_0")
        self.assertEqual(self.checkout(fresh["id"])["data"]["wuid"], f"{second}_0_0")
        self.assertEqual(self.checkout(fresh["id"])["error"], ["No eligible workunit found"])
        self.assertEqual(self.server.recovered, 1)  # `second`: the others were back on demand

    def test_a_lease_of_a_job_read_back_late_still_waits_a_client_timeout(self) -> None:
        job_id = self.submit(one_task("leased"))["id"]
        worker = self.register("worker")
        held = self.checkout(worker["id"])["data"]
        gate, thread = self.restart_held()
        gate.set()
        thread.join(30)
        fresh = self.register("fresh")
        self.sweep_leases(29)
        self.assertEqual(self.checkout(fresh["id"])["error"], ["No eligible workunit found"])
        self.sweep_leases(31)
        self.assertEqual(self.checkout(fresh["id"])["data"]["wuid"], held["wuid"])
        self.assertEqual(self.job(job_id)["tasks"][0]["workunits"][0]["client"], fresh["id"])

    def test_bulk_operations_wait_for_every_job_to_be_back(self) -> None:
        job_id = self.submit(one_task("held back"))["id"]
        self.call("PUT", f"/job/{job_id}?suspend", expect=200)
        gate, thread = self.restart_held()
        asked = Registered(reply=new_reply())  # what `PUT /job?resumeall` asks first
        self.server.queue.tell(asked)
        ask_sync(self.server.queue, LiveAmong(job_ids=(), reply=new_reply()))  # after `asked`
        self.assertFalse(asked.reply.done())  # its suspended job is not known to be suspended
        gate.set()
        thread.join(30)
        self.assertEqual(asked.reply.result(10)["suspend"], [job_id])
        self.assertEqual(self.call("PUT", "/job?resumeall", expect=200)["data"],
                         "1 suspended jobs resumed")  # fmt: skip
