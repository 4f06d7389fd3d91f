"""Issue 14, item 9: `POST /job` with the form part `import` stores a finished job (v0.9.30)."""

from __future__ import annotations

import json

from tests.http.harness import AweTestCase
from tests.http.scripts import HELLO
from tests.model.test_jobimport import JOB, awe_v09_doc

ANA = {"Authorization": "Bearer t-ana"}


class ImportTest(AweTestCase):
    config_overrides = {"auth": {"tokens": {"t-ana": "ana"}}}

    def import_(self, doc: dict, headers: dict | None = None) -> dict:
        return self.call("POST", "/job", {"import": json.dumps(doc)}, headers=headers)

    def test_an_exported_job_comes_back_as_it_was_and_can_be_recomputed(self) -> None:
        job_id = self.submit(HELLO)["id"]
        client = self.register("w")["id"]
        self.report(self.checkout(client)["data"]["wuid"], client)
        exported = self.job(job_id)
        self.call("DELETE", f"/job/{job_id}?full", expect=200)

        answer = self.import_(exported, ANA)
        self.assertEqual(answer["_code"], 200, answer)
        self.assertEqual(
            (answer["data"]["state"], answer["data"]["registered"]), ("completed", False)
        )
        self.assertEqual(self.store.get_job(job_id)["acl"]["owner"], "ana")
        again = self.call("GET", f"/job/{job_id}", headers=ANA, expect=200)["data"]
        self.assertEqual([t["state"] for t in again["tasks"]], ["completed"])
        self.assertEqual(again["info"]["name"], exported["info"]["name"])
        self.assertEqual(self.checkout(client)["error"], ["No eligible workunit found"])  # not run

        self.call("PUT", f"/job/{job_id}?recompute=0", headers=ANA, expect=200)
        self.assertEqual(self.checkout(client, "&wait=5")["data"]["wuid"], f"{job_id}_0_0")

    def test_an_awe_v09_document_is_imported_and_listed(self) -> None:
        self.assertEqual(self.import_(awe_v09_doc())["_code"], 200)
        listed = self.call("GET", "/job?query&info.pipeline=mgrast-prod")["data"]
        self.assertEqual([j["id"] for j in listed], [JOB])

    def test_an_existing_job_is_never_overwritten(self) -> None:
        live = self.submit(HELLO)
        doc = json.loads(json.dumps(awe_v09_doc()).replace(JOB, live["id"]))
        answer = self.import_(doc)
        self.assertEqual(
            (answer["_code"], answer["error"]), (400, [f"job {live['id']} already exists"])
        )
        self.assertEqual(self.job(live["id"])["state"], "queued")

    def test_an_unfinished_job_is_refused(self) -> None:
        answer = self.import_({**awe_v09_doc(), "state": "suspend"})
        self.assertEqual(
            (answer["_code"], answer["error"]), (400, ["invalid job import: must be completed"])
        )
