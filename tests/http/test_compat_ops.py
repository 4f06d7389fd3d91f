"""Issue 14, item 9: `PUT /job/{id}?pipeline=` and `?expiration=`, and the expiration reaper."""

from __future__ import annotations

import copy
import re
from typing import Any

from awe.model.times import parse_time, seconds_between
from tests.http.harness import AweTestCase, later
from tests.http.scripts import HELLO

GO_TIME = r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{6} \+0000 UTC"


def hello(pipeline: str) -> dict[str, Any]:
    script = copy.deepcopy(HELLO)
    script["info"]["pipeline"] = pipeline
    return script


class PipelineAndExpirationTest(AweTestCase):
    config_overrides = {"expiration": {"global_expire": "1D", "pipeline_expire": {"smoke": "2H"}}}

    def completed(self, pipeline: str) -> dict[str, Any]:
        """A job run to completion (the only one queued at the time)."""
        job_id = self.submit(hello(pipeline))["id"]
        client = self.register(f"w-{pipeline}")["id"]
        self.report(self.checkout(client)["data"]["wuid"], client)
        return self.job(job_id)

    def test_pipeline_changes_the_info_field_live_or_stored(self) -> None:
        done = self.completed("smoke")["id"]
        live = self.submit(hello("smoke"))["id"]
        for job_id in (live, done):
            answer = self.call("PUT", f"/job/{job_id}?pipeline=mgrast-prod", expect=200)
            self.assertEqual(answer["data"], f"job pipeline updated: {job_id} to mgrast-prod")
        listed = self.call("GET", "/job?query&info.pipeline=mgrast-prod")["data"]
        self.assertEqual(sorted(j["id"] for j in listed), sorted([live, done]))
        self.assertEqual(self.job(done)["state"], "completed")  # a stored job is not run again
        lacking = self.call("PUT", f"/job/{live}?pipeline=")
        self.assertEqual((lacking["_code"], lacking["error"]), (400, ["lacking pipeline value"]))

    def test_expiration_is_set_from_now_and_said_as_go_prints_it(self) -> None:
        job_id = self.submit(hello("smoke"))["id"]
        answer = self.call("PUT", f"/job/{job_id}?expiration=3D", expect=200)["data"]
        match = re.fullmatch(rf"expiration '({GO_TIME})' set for job: {job_id}", answer)
        self.assertIsNotNone(match, answer)
        stored = self.job(job_id)["expiration"]
        self.assertEqual(parse_time(stored).strftime("%Y-%m-%d %H:%M:%S.%f +0000 UTC"), match[1])
        self.assertAlmostEqual(seconds_between(later(0), stored), 3 * 86400, delta=60)
        bad = self.call("PUT", f"/job/{job_id}?expiration=1W")
        self.assertEqual(
            bad["error"],
            [f"failed to set the expiration for job: {job_id} expiration format '1W' is invalid"],
        )
        lacking = self.call("PUT", f"/job/{job_id}?expiration")
        self.assertEqual(lacking["error"], ["lacking expiration value"])
        self.restart()
        self.assertEqual(self.job(job_id)["expiration"], stored)

    def test_completed_jobs_get_the_default_and_the_reaper_removes_them(self) -> None:
        smoke, other = self.completed("smoke"), self.completed("inbox")
        for job, hours in ((smoke, 2), (other, 24)):
            gap = seconds_between(job["info"]["completedtime"], job["expiration"])
            self.assertAlmostEqual(gap, hours * 3600, delta=1)
        running = self.submit(hello("smoke"))["id"]
        self.call("PUT", f"/job/{running}?expiration=1M", expect=200)
        deleted = self.submit(hello("smoke"))["id"]
        self.call("PUT", f"/job/{deleted}?expiration=1M", expect=200)
        self.call("DELETE", f"/job/{deleted}", expect=200)

        self.assertEqual(sorted(self.server.reap(later(3 * 3600))), sorted([smoke["id"], deleted]))
        self.assertEqual(self.call("GET", f"/job/{smoke['id']}")["_code"], 400)
        self.assertEqual(self.server.reap(later(2 * 86400)), [other["id"]])
        self.assertEqual(self.job(running)["state"], "queued")  # unfinished: never reaped
        self.assertEqual(self.server.reap(later(3 * 86400)), [])
