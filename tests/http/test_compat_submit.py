"""Issue 14, item 1: `POST /job` answers the job as it was before it was queued, as AWE does."""

from __future__ import annotations

import json

from tests.http.compat_scripts import all_skipped, mgrast_like
from tests.http.harness import AweTestCase
from tests.worker.shock_fixture import ShockFixture


class SubmitAnswerTest(AweTestCase):
    def setUp(self) -> None:
        super().setUp()
        self.shock = ShockFixture(self.tmp / "shock").start()
        self.addCleanup(self.shock.stop)
        self.upload = self.shock.add_node(b"@r1\nACGT\n+\nIIII\n", name="upload.fastq")

    def test_the_answer_is_the_init_job_with_init_tasks(self) -> None:
        answer = self.submit(mgrast_like(self.shock.url, self.upload))
        self.assertEqual(answer["state"], "init")
        self.assertEqual(answer["remaintasks"], 4)
        self.assertEqual([t["state"] for t in answer["tasks"]], ["init"] * 4)
        self.assertEqual([t["remainwork"] for t in answer["tasks"]], [1] * 4)
        # no output node exists yet at that point: they are made when a task is enqueued
        self.assertTrue(all(o["node"] == "-" for t in answer["tasks"] for o in t["outputs"]))
        # ... while the job itself went on: tasks 0 and 1 are queued once their nodes exist
        # (each task's nodes are made on their own, so the job is queued after the first)
        job = self.wait_for_job(
            answer["id"],
            lambda j: [t["state"] for t in j["tasks"][:2]] == ["queued", "queued"],
        )
        self.assertEqual(job["state"], "queued")
        self.assertEqual(
            [t["state"] for t in job["tasks"]], ["queued", "queued", "pending", "pending"]
        )

    def test_a_job_whose_tasks_are_all_skipped_answers_init_and_completes(self) -> None:
        answer = self.submit(all_skipped(self.shock.url, self.upload))
        self.assertEqual(answer["state"], "init")
        self.assertEqual([t["state"] for t in answer["tasks"]], ["init"] * 3)
        job = self.job(answer["id"])
        self.assertEqual(job["state"], "completed")
        self.assertEqual([t["state"] for t in job["tasks"]], ["user_skipped"] * 3)

    def test_an_update_output_without_origin_is_a_400_in_awes_words(self) -> None:
        script = mgrast_like(self.shock.url, self.upload)
        del script["tasks"][3]["outputs"]["mgm4711.3.350.genecalling.coding.faa"]["origin"]
        answer = self.call("POST", "/job", {"upload": json.dumps(script)})
        self.assertEqual(answer["_code"], 400)
        (message,) = answer["error"]
        self.assertTrue(message.startswith("error parsing job, error=update output "), message)
        self.assertTrue(message.endswith("_3 is missing required origin"), message)
