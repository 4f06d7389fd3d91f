"""Issue 4: suspend, resume, resumeall, resubmit, recompute, clientgroup, priority, delete."""

from __future__ import annotations

from tests.http.harness import AweTestCase
from tests.http.scripts import HELLO, chain
from tests.http.test_dispatch import states, unit_states

DIAMOND = {
    "info": {"name": "diamond", "project": "p"},
    "tasks": [
        {"taskid": "a", "cmd": {"name": "a", "args": ""}},
        {"taskid": "b", "dependsOn": ["a"], "cmd": {"name": "b", "args": ""}},
        {"taskid": "c", "dependsOn": ["a"], "cmd": {"name": "c", "args": ""}},
        {"taskid": "d", "dependsOn": ["b", "c"], "cmd": {"name": "d", "args": ""}},
        {"taskid": "e", "dependsOn": ["c"], "cmd": {"name": "e", "args": ""}},
    ],
}


class JobControlCase(AweTestCase):
    def run_all(self, client_id: str, limit: int = 100) -> list[str]:
        """Check out and finish work until none is left; returns the wuids done."""
        done = []
        for _ in range(limit):
            work = self.checkout(client_id).get("data")
            if not work:
                break
            self.report(work["wuid"], client_id)
            done.append(work["wuid"])
        self.flush()
        return done


class SuspendResumeTest(JobControlCase):
    def test_suspend_withholds_work_and_discards_leases_resume_continues(self) -> None:
        jid = self.submit({**HELLO, "tasks": [{"taskid": "0", "cmd": {"name": "x", "args": ""},
                                               "totalwork": 3}]})["id"]  # fmt: skip
        holder, other = self.register("holder"), self.register("other")
        first = self.checkout(holder["id"])["data"]
        self.report(first["wuid"], holder["id"])
        leased = self.checkout(holder["id"])["data"]
        self.assertEqual(self.call("PUT", f"/job/{jid}?suspend")["data"], f"job suspended: {jid}")
        job = self.job(jid)
        self.assertEqual((job["state"], job["notes"]), ("suspend", "manually suspended"))
        self.assertEqual(self.checkout(other["id"])["error"], ["No eligible workunit found"])
        beat = self.heartbeat(holder["id"])["data"]
        self.assertEqual(beat, {"discard": leased["wuid"]})
        again = self.call("PUT", f"/job/{jid}?suspend")
        self.assertEqual(again["_code"], 400)
        self.assertIn("job is suspend, cannot suspend it", again["error"][0])

        self.assertEqual(self.call("PUT", f"/job/{jid}?resume")["data"], f"job resumed: {jid}")
        job = self.job(jid)
        self.assertEqual((job["state"], job["resumed"]), ("in-progress", 1))
        self.assertEqual(unit_states(job, "0")[first["rank"]], "done")
        done = self.run_all(other["id"])
        self.assertEqual(len(done), 2)
        self.assertNotIn(first["wuid"], done)
        self.assertEqual(self.job(jid)["state"], "completed")
        refused = self.call("PUT", f"/job/{jid}?resume")
        self.assertIn("job is completed, cannot resume it", refused["error"][0])

    def test_resumeall(self) -> None:
        ids = [self.submit(HELLO)["id"] for _ in range(3)]
        for jid in ids[:2]:
            self.call("PUT", f"/job/{jid}?suspend", expect=200)
        self.assertEqual(self.call("PUT", "/job?resumeall")["data"], "2 suspended jobs resumed")
        self.assertEqual({self.job(j)["state"] for j in ids}, {"queued"})
        self.assertEqual(self.call("PUT", "/job")["_code"], 501)


class RecomputeTest(JobControlCase):
    def test_recompute_resets_the_task_and_every_descendant(self) -> None:
        jid = self.submit(DIAMOND)["id"]
        client = self.register()
        self.assertEqual(len(self.run_all(client["id"])), 5)
        self.assertEqual(self.job(jid)["state"], "completed")
        answer = self.call("PUT", f"/job/{jid}?recompute=c")
        self.assertEqual(answer["data"], f"job recompute started: {jid}")
        job = self.job(jid)
        self.assertEqual(states(job), {"a": "completed", "b": "completed", "c": "queued",
                                       "d": "pending", "e": "pending"})  # fmt: skip
        self.assertEqual((job["state"], job["remaintasks"]), ("in-progress", 3))
        self.assertEqual(job["notes"], f"recomputed from task {jid}_c")
        redone = self.run_all(client["id"])
        self.assertEqual(sorted(w.split("_")[1] for w in redone), ["c", "d", "e"])
        self.assertEqual(self.job(jid)["state"], "completed")

    def test_recompute_refusals(self) -> None:
        jid = self.submit(DIAMOND)["id"]
        live = self.call("PUT", f"/job/{jid}?recompute=a")
        self.assertEqual(live["_code"], 400)
        self.assertIn("cannot recompute", live["error"][0])
        self.assertEqual(self.call("PUT", f"/job/{jid}?recompute")["error"],
                         ["lacking stage id from which the recompute starts"])  # fmt: skip
        self.call("PUT", f"/job/{jid}?suspend", expect=200)
        self.assertEqual(self.call("PUT", f"/job/{jid}?recompute=zz")["error"],
                         [f"task zz not found in job {jid}"])  # fmt: skip
        self.assertEqual(self.call("PUT", f"/job/{jid}?recompute=0")["_code"], 400)
        self.assertEqual(self.call("PUT", f"/job/{jid}?recompute=a")["_code"], 200)
        self.assertEqual(self.job(jid)["state"], "queued")


class ClientgroupPriorityTest(JobControlCase):
    def test_clientgroup_moves_unfinished_work(self) -> None:
        jid = self.submit(HELLO)["id"]
        default, big = self.register("d"), self.register("b", group="bigmem")
        answer = self.call("PUT", f"/job/{jid}?clientgroup=bigmem")
        self.assertEqual(answer["data"], f"job group updated: {jid} to bigmem")
        self.assertEqual(self.checkout(default["id"])["error"], ["No eligible workunit found"])
        self.assertEqual(self.checkout(big["id"])["data"]["info"]["clientgroups"], "bigmem")
        self.assertEqual(
            self.call("PUT", f"/job/{jid}?clientgroup=")["error"], ["lacking clientgroup name"]
        )

    def test_priority_reorders_the_queue(self) -> None:
        first = self.submit(HELLO)["id"]
        second = self.submit(HELLO)["id"]
        answer = self.call("PUT", f"/job/{second}?priority=5")
        self.assertEqual(answer["data"], f"job priority updated: {second} to 5")
        client = self.register()
        self.assertEqual(self.checkout(client["id"])["data"]["wuid"], f"{second}_0_0")
        self.assertEqual(self.checkout(client["id"])["data"]["wuid"], f"{first}_0_0")
        self.assertEqual(self.call("PUT", f"/job/{first}?priority=x")["_code"], 400)

    def test_unknown_operation_is_refused(self) -> None:
        jid = self.submit(HELLO)["id"]
        answer = self.call("PUT", f"/job/{jid}?explode")
        self.assertEqual(
            (answer["_code"], answer["error"]), (400, ["requested job operation not supported"])
        )


class DeleteTest(JobControlCase):
    def test_delete_withdraws_work_and_discards_leases(self) -> None:
        jid = self.submit(chain(1) | {"tasks": [{"taskid": "0", "cmd": {"name": "x", "args": ""},
                                                 "totalwork": 2}]})["id"]  # fmt: skip
        client, other = self.register("c"), self.register("o")
        leased = self.checkout(client["id"])["data"]
        self.assertEqual(self.call("DELETE", f"/job/{jid}")["data"], f"job deleted: {jid}")
        job = self.job(jid)
        self.assertEqual(
            (job["state"], job["notes"], job["registered"]), ("deleted", "deleted", False)
        )
        self.assertEqual(self.checkout(other["id"])["error"], ["No eligible workunit found"])
        self.assertEqual(self.heartbeat(client['id'])["data"],
                         {"discard": leased["wuid"]})  # fmt: skip
        self.assertEqual(self.report(leased["wuid"], client["id"])["data"], "ok")
        self.assertEqual(self.job(jid)["state"], "deleted")
        self.assertIn("cannot delete", self.call("DELETE", f"/job/{jid}")["error"][0])

    def test_delete_one_suspended_and_all_suspended(self) -> None:
        ids = [self.submit(HELLO)["id"] for _ in range(3)]
        refused = self.call("DELETE", f"/job/{ids[0]}?suspend")
        self.assertIn("is not suspended", refused["error"][0])
        for jid in ids[:2]:
            self.call("PUT", f"/job/{jid}?suspend", expect=200)
        self.assertEqual(
            self.call("DELETE", f"/job/{ids[0]}?suspend")["data"], f"job deleted: {ids[0]}"
        )
        self.assertEqual(self.call("DELETE", "/job?suspend")["data"], "deleted 1 suspended jobs")
        self.assertEqual([self.job(j)["state"] for j in ids], ["deleted", "deleted", "queued"])
        self.assertEqual(self.call("DELETE", "/job")["_code"], 501)


class ZombieTest(JobControlCase):
    config_overrides = {"queue": {"recover": False}}

    def test_zombies_are_found_deleted_or_resubmitted(self) -> None:
        doomed = self.submit(HELLO)["id"]
        revived = self.submit(chain(2))["id"]
        client = self.register()
        work = self.checkout(client["id"])["data"]  # doomed's workunit, now in-progress
        self.assertEqual(work["wuid"], f"{doomed}_0_0")
        self.flush()
        self.restart()  # recovery is off: both jobs are zombies now
        self.assertEqual(self.call("GET", "/job?registered")["total_count"], 0)
        self.assertEqual(self.call("GET", "/job?query&state=queued,in-progress")["total_count"], 2)
        self.assertEqual(self.call("PUT", f"/job/{doomed}?resubmit")["_code"], 200)
        self.assertEqual(self.call("PUT", f"/job/{doomed}?resubmit")["error"],
                         [f"job {doomed} is already in the queue"])  # fmt: skip
        self.assertEqual(self.call("DELETE", "/job?zombie")["data"], "deleted 1 zombie jobs")
        self.assertEqual(self.job(revived)["state"], "deleted")
        client = self.register()
        self.assertEqual(self.run_all(client["id"]), [f"{doomed}_0_0"])
        self.assertEqual(self.job(doomed)["state"], "completed")
        completed = self.call("PUT", f"/job/{doomed}?resubmit")
        self.assertIn("use ?recompute", completed["error"][0])
        self.assertEqual(self.call("DELETE", "/job?zombie")["data"], "deleted 0 zombie jobs")


class ZombieOnMongoTest(ZombieTest):
    backend = "mongomock"


class RefusalsTest(JobControlCase):
    def test_operations_that_do_not_fit_the_state_say_why(self) -> None:
        jid = self.submit(HELLO)["id"]
        queued = self.call("PUT", f"/job/{jid}?resume")
        self.assertEqual(
            (queued["_code"], queued["error"]), (400, ["job is queued, cannot resume it"])
        )
        client = self.register()
        self.run_all(client["id"])
        done = self.call("PUT", f"/job/{jid}?suspend")
        self.assertEqual(done["error"], ["job is completed, cannot suspend it"])
        self.assertEqual(self.job(jid)["registered"], False)  # a refused op leaves it in the store

    def test_clientgroup_and_priority_of_a_finished_job_change_only_its_document(self) -> None:
        jid = self.submit(HELLO)["id"]
        self.run_all(self.register()["id"])
        self.assertEqual(self.call("PUT", f"/job/{jid}?priority=9")["_code"], 200)
        self.assertEqual(self.call("PUT", f"/job/{jid}?clientgroup=night")["_code"], 200)
        self.flush()
        job = self.job(jid)
        self.assertEqual((job["info"]["priority"], job["info"]["clientgroups"]), (9, "night"))
        self.assertEqual((job["state"], job["registered"]), ("completed", False))

    def test_resubmit_of_an_unloaded_suspended_job_resumes_it(self) -> None:
        jid = self.submit(chain(2))["id"]
        client = self.register()
        first = self.checkout(client["id"])["data"]
        self.report(first["wuid"], client["id"])
        self.call("PUT", f"/job/{jid}?suspend", expect=200)
        self.config.queue.recover = False
        self.restart()
        self.assertEqual(self.job(jid)["registered"], False)
        self.assertEqual(
            self.call("PUT", f"/job/{jid}?resubmit")["data"], f"job resubmitted: {jid}"
        )
        job = self.job(jid)
        self.assertEqual((job["state"], job["resumed"]), ("in-progress", 1))
        client = self.register()
        self.assertEqual(self.run_all(client["id"]), [f"{jid}_1_0"])
        self.assertEqual(self.job(jid)["state"], "completed")


class RecomputeRestartTest(JobControlCase):
    def test_recomputed_workunits_stay_reset_after_a_restart(self) -> None:
        jid = self.submit(DIAMOND)["id"]
        self.run_all(self.register()["id"])
        self.call("PUT", f"/job/{jid}?recompute=c", expect=200)
        self.flush()
        self.restart()  # the old done workunits of c, d, e must not come back from the store
        job = self.job(jid)
        self.assertEqual(unit_states(job, "c"), {0: "queued"})
        self.assertEqual(states(job)["d"], "pending")
        redone = self.run_all(self.register()["id"])
        self.assertEqual(sorted(w.split("_")[1] for w in redone), ["c", "d", "e"])
        self.assertEqual(self.job(jid)["state"], "completed")
