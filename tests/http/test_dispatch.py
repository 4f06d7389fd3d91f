"""Issue 3: clients and workunits over real HTTP — register, checkout, report, leases."""

from __future__ import annotations

import asyncio
import json

from awe.actors.base import ask, new_reply
from awe.actors.messages import QueueStatus
from tests.http.harness import AweTestCase
from tests.http.scripts import HELLO, chain, sample_42
from tests.worker.shock_fixture import ShockFixture


def states(job: dict) -> dict[str, str]:
    return {t["taskid"].split("_", 1)[1]: t["state"] for t in job["tasks"]}


def unit_states(job: dict, user_taskid: str) -> dict[int, str]:
    task = next(t for t in job["tasks"] if t["taskid"].endswith(f"_{user_taskid}"))
    return {u["rank"]: u["state"] for u in task["workunits"]}


class FourTaskDagTest(AweTestCase):
    def setUp(self) -> None:
        super().setUp()
        self.shock = ShockFixture(self.tmp / "shock").start()
        self.addCleanup(self.shock.stop)

    def test_sample_42_runs_to_completed_with_three_clients(self) -> None:
        jid = self.submit(sample_42(totalwork=3, shock=self.shock.url))["id"]
        clients = [self.register(f"w{i}") for i in range(3)]
        # the server makes task 0's Shock output node first; the long poll waits for the offer
        taken = [self.checkout(clients[0]["id"], "&wait=10")["data"]]
        job = self.job(jid)
        self.assertEqual(job["state"], "in-progress")
        self.assertEqual(
            states(job), {"0": "in-progress", "1": "pending", "2": "pending", "3": "pending"}
        )
        self.assertEqual(unit_states(job, "0"), {1: "checkout", 2: "queued", 3: "queued"})
        clean = job["tasks"][0]["outputs"][0]
        self.assertEqual(self.shock.nodes[clean["node"]].parts, 3)  # one part per rank
        self.assertEqual(clean["url"], f"{self.shock.url}/node/{clean['node']}?download")

        outsider = self.register("outsider", group="other")
        self.assertEqual(self.checkout(outsider["id"])["error"], ["No eligible workunit found"])

        taken += [self.checkout(c["id"])["data"] for c in clients[1:]]
        self.assertEqual(sorted(w["wuid"] for w in taken), [f"{jid}_0_{r}" for r in (1, 2, 3)])
        for work in taken:
            self.assertEqual((work["totalwork"], work["part"]["input"]), (3, "raw.fq"))
            self.assertEqual(work["state"], "checkout")
        self.flush()
        job = self.job(jid)
        self.assertNotEqual(job["info"]["startedtime"], "0001-01-01T00:00:00Z")
        busy = self.call("GET", "/client?busy")["data"]
        self.assertEqual(sorted(c["name"] for c in busy), ["w0", "w1", "w2"])
        self.assertTrue(all(c["Status"] == "active-busy" for c in busy))

        for client, work in zip(clients, taken, strict=True):
            self.assertEqual(self.report(work["wuid"], client["id"])["data"], "ok")
        # tasks 1 and 2 in parallel; task 1 carries a private env only its holder may read
        w1 = self.checkout(clients[0]["id"], "&wait=10")["data"]
        w2 = self.checkout(clients[1]["id"], "&wait=10")["data"]
        job = self.job(jid)
        self.assertEqual(states(job)["0"], "completed")
        self.assertEqual(w1["inputs"][0]["node"], clean["node"])  # origin: task 0's node
        by_task = {w["wuid"].split("_")[1]: (w, c) for w, c in ((w1, clients[0]), (w2, clients[1]))}
        classify, holder = by_task["1"]
        self.assertNotIn("private", classify["cmd"]["environ"])
        self.assertTrue(classify["cmd"]["has_private_env"])
        env = self.call("GET", f"/work/{classify['wuid']}?privateenv&client={holder['id']}",
                        headers=self.worker_headers(holder["id"]))  # fmt: skip
        self.assertEqual(json.loads(env["_headers"]["Privateenv"]), {"LICENSE_KEY": "xyz"})
        stranger = self.call(
            "GET",
            f"/work/{classify['wuid']}?privateenv&client={clients[2]['id']}",
            headers=self.worker_headers(clients[2]["id"]),
        )
        self.assertEqual(stranger["_code"], 401)
        self.assertNotIn("Privateenv", stranger["_headers"])
        for work, client in by_task.values():
            self.report(work["wuid"], client["id"], files={"stdout": f"out of {work['wuid']}"})
        last = self.checkout(clients[2]["id"], "&wait=10")["data"]
        self.assertEqual(last["wuid"], f"{jid}_3_0")
        self.report(last["wuid"], clients[2]["id"], query="&computetime=7")
        self.flush()
        job = self.job(jid)
        self.assertEqual(job["state"], "completed")
        self.assertEqual(job["remaintasks"], 0)
        self.assertEqual(set(states(job).values()), {"completed"})
        self.assertFalse(job["registered"])
        self.assertEqual(len(self.shock.nodes), 4)  # one output node per task
        stdout = self.call("GET", f"/work/{classify['wuid']}?report=stdout")["data"]
        self.assertEqual(stdout, f"out of {classify['wuid']}")
        counters = {c["name"]: c for c in self.call("GET", "/client")["data"]}
        self.assertEqual(sum(c["total_completed"] for c in counters.values()), 6)
        self.assertEqual(counters["w2"]["total_checkout"], 2)
        self.assertEqual(counters["w2"]["Status"], "active-idle")
        self.assertEqual(counters["w2"]["current_work"], {})


class UnreachableShockTest(AweTestCase):
    def test_output_node_failure_suspends_the_job_with_the_reason(self) -> None:
        jid = self.submit(sample_42(shock="http://127.0.0.1:1"))["id"]
        job = self.wait_for_job(jid, lambda j: j["state"] == "suspend")
        self.assertEqual(job["state"], "suspend")
        prefix = f"failed enqueuing task {jid}_0, err=POST http://127.0.0.1:1/node"
        self.assertTrue(job["notes"].startswith(prefix), job["notes"])
        self.assertEqual(job["lastfailed"], f"{jid}_0")


class OriginThroughDatastoreTest(AweTestCase):
    def test_dependent_input_points_at_producer_output(self) -> None:
        jid = self.submit(chain(2))["id"]
        client = self.register()
        first = self.checkout(client["id"])["data"]
        out_url = first["outputs"][0]["url"]
        self.assertEqual(out_url, f"http://127.0.0.1:8001/data/{jid}/0/out0")
        self.report(first["wuid"], client["id"])
        second = self.checkout(client["id"])["data"]
        self.assertEqual(second["inputs"][0]["url"], out_url)


class ReportRulesTest(AweTestCase):
    def test_failure_retries_then_suspends_job_with_client_notes(self) -> None:
        jid = self.submit(HELLO)["id"]
        workers = [self.register(f"w{i}") for i in range(3)]
        client = workers[0]
        for attempt, worker in enumerate(workers):  # a failed workunit skips its client after
            work = self.checkout(worker["id"])["data"]
            self.assertEqual(work["failed"], attempt)
            self.report(work["wuid"], worker["id"], "fail", files={"notes": "exit 3: boom"})
        self.flush()
        job = self.job(jid)
        self.assertEqual(job["state"], "suspend")
        self.assertEqual(job["lastfailed"], f"{jid}_0_0")
        self.assertEqual(
            job["notes"], f"workunit {jid}_0_0 failed 3 time(s). msg from client:exit 3: boom"
        )
        self.assertEqual(states(job)["0"], "suspend")
        self.assertEqual(self.checkout(client["id"])["error"], ["No eligible workunit found"])
        record = self.call("GET", f"/client/{client['id']}")["data"]
        self.assertEqual((record["total_failed"], record["skip_work"]), (1, [f"{jid}_0_0"]))

    def test_failed_workunit_is_not_offered_again_to_the_same_client(self) -> None:
        self.submit(HELLO)
        client, other = self.register("a"), self.register("b")
        work = self.checkout(client["id"])["data"]
        self.report(work["wuid"], client["id"], "fail")
        self.assertEqual(self.checkout(client["id"])["error"], ["No eligible workunit found"])
        self.assertEqual(self.checkout(other["id"])["data"]["wuid"], work["wuid"])

    def test_noretry_suspends_after_first_failure(self) -> None:
        script = {**HELLO, "info": {**HELLO["info"], "noretry": True}}
        jid = self.submit(script)["id"]
        client = self.register()
        work = self.checkout(client["id"])["data"]
        self.report(work["wuid"], client["id"], "fail")
        self.flush()
        self.assertEqual(self.job(jid)["state"], "suspend")

    def test_report_from_another_client_changes_nothing(self) -> None:
        jid = self.submit(HELLO)["id"]
        holder, intruder = self.register("holder"), self.register("intruder")
        work = self.checkout(holder["id"])["data"]
        self.flush()
        before = self.job(jid)
        self.assertEqual(self.report(work["wuid"], intruder["id"])["data"], "ok")
        self.flush()
        after = self.job(jid)
        self.assertEqual(after["state"], "in-progress")
        self.assertEqual(after["updatetime"], before["updatetime"])
        self.assertEqual(
            self.call("GET", f"/client/{intruder['id']}")["data"]["total_completed"], 0
        )

    def test_duplicate_report_is_answered_and_ignored(self) -> None:
        jid = self.submit(chain(2))["id"]
        client = self.register()
        work = self.checkout(client["id"])["data"]
        self.assertEqual(self.report(work["wuid"], client["id"])["data"], "ok")
        self.assertEqual(self.report(work["wuid"], client["id"])["data"], "ok")
        self.flush()
        job = self.job(jid)
        self.assertEqual(states(job), {"0": "completed", "1": "queued"})
        self.assertEqual(self.call("GET", f"/client/{client['id']}")["data"]["total_completed"], 1)

    def test_report_needs_known_client_and_valid_ids(self) -> None:
        self.submit(HELLO)
        self.assertEqual(self.report("nope_0_0", "ghost")["error"], ["Client not found"])
        client = self.register()
        bad = self.report("not-a-wuid", client["id"])
        self.assertEqual((bad["_code"], bad["error"]), (400, ["invalid work id: not-a-wuid"]))
        missing = self.call("PUT", "/work/a_b_0?status=done")
        self.assertEqual(
            missing["error"], ["This request type requires the client=clientid parameter."]
        )
        wrong = self.report("a_b_0", client["id"], "finished")
        self.assertEqual(wrong["_code"], 400)

    def test_report_by_get_as_the_api_page_sends_it(self) -> None:
        jid = self.submit(HELLO)["id"]
        client = self.register()
        work = self.checkout(client["id"])["data"]
        answer = self.call("GET", f"/work/{work['wuid']}?status=done&client={client['id']}&report",
                           files={"stdout": "via GET"},
                           headers=self.worker_headers(client["id"]))  # fmt: skip
        self.assertEqual(answer["data"], "ok")
        self.flush()
        self.assertEqual(self.job(jid)["state"], "completed")
        self.assertEqual(self.call("GET", f"/work/{work['wuid']}?report=stdout")["data"], "via GET")

    def test_oversized_report_is_refused_with_413_and_nothing_changes(self) -> None:
        self.config.reports.max_bytes = 1000
        jid = self.submit(HELLO)["id"]
        client = self.register()
        work = self.checkout(client["id"])["data"]
        answer = self.report(work["wuid"], client["id"], files={"stdout": "x" * 5000})
        self.assertEqual(answer["_code"], 413)
        self.assertIn("over reports.max_bytes (1000)", answer["error"][0])
        self.flush()
        self.assertEqual(self.job(jid)["state"], "in-progress")

    def test_unknown_report_name_is_a_clear_400(self) -> None:
        answer = self.call("GET", "/work/a_b_0?report=secret")
        self.assertEqual(answer["error"], ["log type 'secret' not found"])


class DataTokenTest(AweTestCase):
    def test_datatoken_only_to_the_holder_and_never_in_json(self) -> None:
        job = self.submit(HELLO, headers={"Datatoken": "tok-123"})
        self.assertTrue(job["info"]["auth"])
        self.assertNotIn("tok-123", json.dumps(job))
        holder, other = self.register("h"), self.register("o")
        work = self.checkout(holder["id"])["data"]
        self.assertNotIn("tok-123", json.dumps(work))
        mine = self.call("GET", f"/work/{work['wuid']}?datatoken&client={holder['id']}",
                         headers=self.worker_headers(holder["id"]))  # fmt: skip
        self.assertEqual((mine["_code"], mine["_headers"]["Datatoken"]), (200, "tok-123"))
        theirs = self.call("GET", f"/work/{work['wuid']}?datatoken&client={other['id']}",
                           headers=self.worker_headers(other["id"]))  # fmt: skip
        self.assertEqual(theirs["_code"], 401)
        self.assertNotIn("Datatoken", theirs["_headers"])


class ClientLifecycleTest(AweTestCase):
    config_overrides = {"queue": {"client_timeout_s": 30}}

    def test_lost_client_work_is_requeued_for_another(self) -> None:
        jid = self.submit(HELLO)["id"]
        lost, alive = self.register("lost"), self.register("alive")
        work = self.checkout(lost["id"])["data"]
        self.assertEqual(self.checkout(alive["id"])["error"], ["No eligible workunit found"])
        self.sweep(10)  # not yet past the timeout: nothing happens
        self.assertEqual(self.checkout(alive["id"])["error"], ["No eligible workunit found"])
        self.sweep(31)  # both are silent past the timeout now, as far as the sweep can tell
        self.assertEqual(self.call("GET", f"/client/{lost['id']}")["error"], ["Client not found"])
        alive = self.register("alive", id=alive["id"])  # a live worker re-registers at once
        again = self.checkout(alive["id"])["data"]
        self.assertEqual((again["wuid"], again["failed"]), (work["wuid"], 0))
        self.assertEqual(self.report(work["wuid"], lost["id"])["error"], ["Client not found"])
        self.report(again["wuid"], alive["id"])
        self.flush()
        self.assertEqual(self.job(jid)["state"], "completed")

    def test_suspended_client_loses_its_work_and_is_told_to_discard(self) -> None:
        self.submit(HELLO)
        client, other = self.register("c"), self.register("o")
        work = self.checkout(client["id"])["data"]
        self.assertEqual(
            self.call("PUT", f"/client/{client['id']}?suspend")["data"], "client suspended"
        )
        self.assertEqual(self.checkout(client["id"])["error"], ["Client suspended"])
        beat = self.heartbeat(client["id"])["data"]
        self.assertEqual(beat, {"discard": work["wuid"]})
        self.assertEqual(self.heartbeat(client["id"])["data"], {})
        self.assertEqual(self.checkout(other["id"])["data"]["wuid"], work["wuid"])
        self.assertEqual(
            self.call("PUT", f"/client/{client['id']}?suspend")["error"], ["Client not active"]
        )
        self.assertEqual(
            self.call("PUT", f"/client/{client['id']}?resume")["data"], "client resumed"
        )
        self.assertEqual(
            self.call("PUT", f"/client/{client['id']}?resume")["error"], ["Client not suspended"]
        )

    def test_suspendall_resumeall_and_delete(self) -> None:
        a, b = self.register("a"), self.register("b")
        self.assertEqual(self.call("PUT", "/client?suspendall")["data"], "2 clients suspended")
        self.assertEqual(
            self.call("PUT", "/client?resumeall")["data"], "2 suspended clients resumed"
        )
        self.assertEqual(self.call("PUT", "/client")["_code"], 501)
        self.assertEqual(self.call("DELETE", f"/client/{a['id']}")["data"], "client deleted")
        self.assertEqual(self.heartbeat(a["id"])["data"], {"stop": a["id"]})
        self.assertEqual(self.checkout(a["id"])["error"], ["Client deleted"])
        self.assertEqual(self.call("GET", f"/client/{a['id']}")["error"], ["Client not found"])
        self.assertEqual([c["name"] for c in self.call("GET", "/client")["data"]], [b["name"]])

    def test_reregistration_reattaches_current_work(self) -> None:
        jid = self.submit(HELLO)["id"]
        client = self.register("c")
        work = self.checkout(client["id"])["data"]
        again = self.register("c", id=client["id"], current_work={work["wuid"]: True})
        self.assertEqual(again["id"], client["id"])
        self.assertEqual(again["current_work"], {work["wuid"]: True})
        self.report(work["wuid"], client["id"])
        self.flush()
        self.assertEqual(self.job(jid)["state"], "completed")

    def test_registration_errors(self) -> None:
        bad = self.call("POST", "/client", {"profile": "{not json"})
        self.assertEqual(bad["_code"], 400)
        self.assertTrue(bad["error"][0].startswith("Error in registering new client:"))
        group = self.call("POST", "/client", {"profile": json.dumps({"group": "no spaces!"})})
        self.assertIn("invalid clientgroup name", group["error"][0])
        first = self.register("fresh")
        self.assertEqual((first["current_work"], first["skip_work"]), ({}, []))


class ClientFailureLimitTest(AweTestCase):
    config_overrides = {"queue": {"max_client_failure": 2}}

    def test_consecutive_failures_suspend_the_client(self) -> None:
        for _ in range(2):
            self.submit(HELLO)
        client = self.register()
        for _ in range(2):
            work = self.checkout(client["id"])["data"]
            self.report(work["wuid"], client["id"], "fail")
        record = self.call("GET", f"/client/{client['id']}")["data"]
        self.assertEqual((record["Status"], record["total_failed"]), ("suspend", 2))
        self.assertEqual(self.checkout(client["id"])["error"], ["Client suspended"])


class LongPollTest(AweTestCase):
    def test_waiting_checkout_receives_work_submitted_meanwhile(self) -> None:
        import time

        from tornado.httpclient import AsyncHTTPClient

        client = self.register()
        started = time.monotonic()

        async def scenario() -> tuple[dict, float]:
            http = AsyncHTTPClient()
            pending = http.fetch(self.get_url(f"/work?client={client['id']}&wait=20"),
                                 headers=self.worker_headers(client["id"]))  # fmt: skip
            await self._async_submit()
            response = await pending
            return json.loads(response.body), time.monotonic() - started

        body, elapsed = self.io_loop.run_sync(scenario, timeout=30)
        self.assertEqual(body["data"]["cmd"]["name"], "uname")
        self.assertLess(elapsed, 10, "the waiting checkout should be answered well before 20 s")

    async def _async_submit(self) -> None:
        from tornado.httpclient import AsyncHTTPClient

        from tests.http.harness import multipart

        body, content_type = multipart({"upload": json.dumps(HELLO)})
        await AsyncHTTPClient().fetch(self.get_url("/job"), method="POST", body=body,
                                      headers={"Content-Type": content_type})  # fmt: skip

    def test_suspending_a_waiting_client_answers_its_checkout_at_once(self) -> None:
        import time

        from tornado.httpclient import AsyncHTTPClient

        client = self.register()

        async def scenario() -> tuple[dict, float]:
            started = time.monotonic()
            pending = AsyncHTTPClient().fetch(
                self.get_url(f"/work?client={client['id']}&wait=20"),
                raise_error=False,
                headers=self.worker_headers(client["id"]),
            )
            while not (await ask(self.server.queue, QueueStatus(reply=new_reply()), 10))[
                "waiting_checkouts"
            ]:
                await asyncio.sleep(0.01)  # the long poll has reached the queue
            suspend = AsyncHTTPClient().fetch(
                self.get_url(f"/client/{client['id']}?suspend"), method="PUT", body=b""
            )
            response = await pending
            await suspend
            return json.loads(response.body), time.monotonic() - started

        body, elapsed = self.io_loop.run_sync(scenario, timeout=30)
        self.assertEqual(body["error"], ["No eligible workunit found"])
        self.assertLess(elapsed, 10)
        self.assertEqual(self.checkout(client["id"])["error"], ["Client suspended"])

    def test_wait_runs_out_with_no_eligible_workunit(self) -> None:
        client = self.register()
        self.assertEqual(self.checkout(client["id"], "&wait=soon")["error"],
                         ["wait must be a number, got 'soon'"])  # fmt: skip
        answer = self.checkout(client["id"], "&wait=0.5")
        self.assertEqual(answer["error"], ["No eligible workunit found"])
        self.submit(HELLO)  # a lease was not made for the timed-out waiter
        self.assertEqual(self.checkout(client["id"])["data"]["cmd"]["name"], "uname")


class RestartKeepsProgressTest(AweTestCase):
    config_overrides = {"queue": {"client_timeout_s": 30}}

    def test_finished_workunits_survive_and_leases_wait_for_their_client(self) -> None:
        jid = self.submit(chain(2) | {"tasks": [
            {"taskid": "0", "cmd": {"name": "s", "args": ""}, "totalwork": 3},
            {"taskid": "1", "dependsOn": ["0"], "cmd": {"name": "t", "args": ""}},
        ]})["id"]  # fmt: skip
        keeper, leaver = self.register("keeper"), self.register("leaver")
        done = self.checkout(keeper["id"])["data"]
        self.report(done["wuid"], keeper["id"])
        held = self.checkout(keeper["id"])["data"]
        lost = self.checkout(leaver["id"])["data"]
        self.flush()
        self.restart()
        job = self.job(jid)
        self.assertEqual(unit_states(job, "0")[done["rank"]], "done")
        self.assertEqual(job["registered"], True)
        # keeper re-registers with its work; leaver never comes back
        self.register("keeper", id=keeper["id"], current_work={held["wuid"]: True})
        fresh = self.register("fresh")
        self.assertEqual(self.checkout(fresh["id"])["error"], ["No eligible workunit found"])
        self.sweep_leases(31)
        self.assertEqual(self.checkout(fresh["id"])["data"]["wuid"], lost["wuid"])
        self.report(held["wuid"], keeper["id"])
        self.report(lost["wuid"], fresh["id"])
        last = self.checkout(fresh["id"])["data"]
        self.report(last["wuid"], fresh["id"])
        self.flush()
        self.assertEqual(self.job(jid)["state"], "completed")


class RestartKeepsProgressOnMongoTest(RestartKeepsProgressTest):
    """The same restart, with jobs kept by the pymongo store (issue 6)."""

    backend = "mongomock"


class RecoveringQueueTest(AweTestCase):
    """While jobs come back after a restart the ready index is not whole: a checkout finds no
    work, or waits, and the one that waited is served once every job is back."""

    def test_checkouts_wait_for_the_end_of_recovery(self) -> None:
        from tornado.httpclient import AsyncHTTPClient

        from awe.actors.messages import ExpectJobs

        queue = self.server.queue
        client = self.register()
        self.submit(HELLO)
        expecting = ExpectJobs(job_ids=("a-job-still-coming-back",), reply=new_reply())
        self.io_loop.run_sync(lambda: ask(queue, expecting, 10))
        self.assertEqual(self.checkout(client["id"])["error"], ["No eligible workunit found"])

        async def scenario() -> dict:
            pending = AsyncHTTPClient().fetch(
                self.get_url(f"/work?client={client['id']}&wait=20"),
                headers=self.worker_headers(client["id"]),
            )
            await asyncio.sleep(0.2)
            self.assertFalse(pending.done())  # waiting, although a workunit is queued
            await ask(queue, ExpectJobs(done=True, reply=new_reply()), 10)
            return json.loads((await pending).body)

        body = self.io_loop.run_sync(scenario, timeout=30)
        self.assertEqual(body["data"]["cmd"]["name"], "uname")
