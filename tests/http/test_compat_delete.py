"""Issue 14, item 6: `DELETE /job/{id}?full` removes the job document, as AWE v0.9.30 does."""

from __future__ import annotations

import json

from tests.http.compat_scripts import mgrast_like
from tests.http.harness import AweTestCase
from tests.worker.shock_fixture import ShockFixture


class FullDeleteTest(AweTestCase):
    def setUp(self) -> None:
        super().setUp()
        self.shock = ShockFixture(self.tmp / "shock").start()
        self.addCleanup(self.shock.stop)
        self.upload = self.shock.add_node(b"@r1\nACGT\n+\nIIII\n", name="upload.fastq")

    def started(self) -> tuple[str, str, str]:
        """A running MG-RAST-shaped job: (job id, a reported wuid, a client holding another)."""
        job_id = self.submit(mgrast_like(self.shock.url, self.upload))["id"]
        client = self.register("w")["id"]
        first = self.checkout(client, "&wait=10")["data"]["wuid"]
        files = {"stdout": "qc done\n", "perf": json.dumps({"runtime": 1})}
        self.assertEqual(self.report(first, client, files=files)["data"], "ok")
        self.checkout(client, "&wait=10")
        return job_id, first, client

    def assert_gone(self, job_id: str, wuid: str) -> None:
        got = self.call("GET", f"/job/{job_id}")
        self.assertEqual((got["_code"], got["error"]), (400, [f"job not found:{job_id}"]))
        report = self.call("GET", f"/work/{wuid}?report=stdout")  # no job: no one may read it
        self.assertEqual(report["error"], [f"job not found:{job_id}"])
        listed = self.call("GET", "/job?limit=0")["data"]
        self.assertNotIn(job_id, [j["id"] for j in listed])
        self.assertIsNone(self.store.get_job(job_id))
        self.assertEqual(self.store.job_reports(job_id, "perf"), {})

    def test_a_running_job_is_deleted_and_removed(self) -> None:
        job_id, wuid, client = self.started()
        answer = self.call("DELETE", f"/job/{job_id}?full", expect=200)
        self.assertEqual(answer["data"], f"job deleted: {job_id}")
        self.assert_gone(job_id, wuid)
        heartbeat = self.heartbeat(client)["data"]
        self.assertIn("discard", heartbeat)  # the worker still holding work is told to drop it
        self.restart()
        self.assert_gone(job_id, wuid)  # nothing comes back after a restart

    def test_a_stored_job_is_removed_whether_deleted_already_or_not(self) -> None:
        job_id, wuid, _ = self.started()
        self.call("DELETE", f"/job/{job_id}", expect=200)  # plain delete keeps the document
        self.assertEqual(self.job(job_id)["state"], "deleted")
        self.call("DELETE", f"/job/{job_id}?full", expect=200)
        self.assert_gone(job_id, wuid)
        missing = self.call("DELETE", f"/job/{job_id}?full")
        self.assertEqual((missing["_code"], missing["error"]), (404, ["Not Found"]))

    def test_deleting_suspended_jobs_in_full(self) -> None:
        job_id, wuid, _ = self.started()
        kept = self.submit(mgrast_like(self.shock.url, self.upload, job="mgm4712.3"))["id"]
        self.call("PUT", f"/job/{job_id}?suspend", expect=200)
        answer = self.call("DELETE", "/job?suspend&full", expect=200)
        self.assertEqual(answer["data"], "deleted 1 suspended jobs")
        self.assert_gone(job_id, wuid)
        self.assertEqual(self.job(kept)["id"], kept)


class FullDeleteOnMongoTest(FullDeleteTest):
    backend = "mongomock"
