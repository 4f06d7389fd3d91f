"""Issue 9: inputs that answered 500 are JSON 4xx now, and every limit names itself and its key."""

from __future__ import annotations

import json
from typing import Any

from tests.http.harness import AweTestCase, multipart
from tests.http.scripts import HELLO, chain

DEEP = "[" * 200_000 + "]" * 200_000


class BadInputTest(AweTestCase):
    def raw(self, method: str, path: str, body: bytes, content_type: str) -> dict[str, Any]:
        """A request whose body is sent exactly as given."""
        response = self.fetch(path, method=method, body=body, headers={"Content-Type": content_type},
                              allow_nonstandard_methods=True)  # fmt: skip
        envelope = json.loads(response.body)
        envelope["_code"] = response.code
        return envelope

    def assert_4xx(self, answer: dict[str, Any], code: int, *words: str) -> None:
        self.assertEqual(answer["_code"], code, answer)
        self.assertEqual(answer["status"], code)
        self.assertIsNone(answer["data"])
        for word in words:
            self.assertIn(word, answer["error"][0])

    def test_limit_and_offset_past_64_bits_are_400s(self) -> None:
        for name in ("limit", "offset"):
            for value in ("1" + "0" * 20, "9" * 400, "9223372036854775808"):
                answer = self.call("GET", f"/job?{name}={value}")
                self.assert_4xx(answer, 400, name)
        answer = self.call("GET", "/job?offset=9223372036854775807")
        self.assertEqual((answer["_code"], answer["data"]), (200, []))

    def test_totalwork_of_2_to_the_63_is_a_400(self) -> None:
        for totalwork in (2**63, 2**64, 10**30):
            task = {"taskid": "0", "cmd": {"name": "x"}, "totalwork": totalwork}
            answer = self.call("POST", "/job", {"upload": json.dumps({"tasks": [task]})})
            self.assert_4xx(answer, 400, "error parsing job", "out of range")

    def test_query_values_that_are_not_utf8_are_400s(self) -> None:
        answer = self.call("GET", "/job?query&info.name=%ff%fe")
        self.assert_4xx(answer, 400, "info.name is not valid UTF-8")
        answer = self.call("GET", "/job?order=%ff")
        self.assert_4xx(answer, 400, "order is not valid UTF-8")

    def test_multipart_without_a_boundary_is_a_400(self) -> None:
        for method, path in (("POST", "/job"), ("PUT", "/work/j_0_0?status=done&client=c"),
                             ("POST", "/client")):  # fmt: skip
            answer = self.raw(method, path, b"--x\r\n", "multipart/form-data")
            self.assert_4xx(answer, 400, "invalid request body", "boundary")

    def test_truncated_or_garbage_multipart_is_a_400_on_every_upload(self) -> None:
        body, content_type = multipart({"upload": json.dumps(HELLO), "profile": "{}"})
        for broken in (body[: len(body) // 2], body[:-10], b"\x00\xffgarbage" * 50):
            for method, path in (("POST", "/job"), ("PUT", "/work/j_0_0?status=done&client=c"),
                                 ("POST", "/client")):  # fmt: skip
                answer = self.raw(method, path, broken, content_type)
                self.assert_4xx(answer, 400, "invalid request body")
        self.assertEqual(self.call("GET", "/job")["total_count"], 0)

    def test_json_nested_200000_deep_is_a_400(self) -> None:
        answer = self.call("POST", "/job", {"upload": DEEP})
        self.assert_4xx(answer, 400, "error parsing job", "nested deeper than 64 levels")
        answer = self.call("POST", "/job", {"import": DEEP})
        self.assert_4xx(answer, 400, "error in unmarshaling job json file", "nested deeper")
        answer = self.call("POST", "/client", {"profile": DEEP})
        self.assert_4xx(answer, 400, "Error in registering new client", "nested deeper")

    def test_a_deep_outputs_part_of_a_report_is_a_400_and_changes_nothing(self) -> None:
        job = self.submit(HELLO)
        client = self.register()
        work = self.checkout(client["id"])["data"]
        answer = self.report(work["wuid"], client["id"], files={"outputs": DEEP})
        self.assert_4xx(answer, 400, "report part outputs is not valid JSON")
        self.assertEqual(self.job(job["id"])["state"], "in-progress")
        self.assertEqual(self.report(work["wuid"], client["id"])["_code"], 200)
        self.assertEqual(self.job(job["id"])["state"], "completed")

    def test_integer_parameters_are_bounded_to_what_a_store_holds(self) -> None:
        job = self.submit(HELLO)
        answer = self.call("PUT", f"/job/{job['id']}?priority={10**30}")
        self.assert_4xx(answer, 400, "priority must be an integer from")
        client = self.register()
        work = self.checkout(client["id"])["data"]
        answer = self.report(work["wuid"], client["id"], query=f"&computetime={10**30}")
        self.assert_4xx(answer, 400, "computetime")


class LimitsTest(AweTestCase):
    config_overrides = {
        "limits": {
            "tasks_per_job": 3,
            "totalwork_per_task": 5,
            "workunits_per_job": 8,
            "job_script_bytes": 4096,
            "report_bytes": 2048,
            "listing_limit": 30,
            "registered_clients": 2,
        }
    }

    def test_each_job_script_limit_is_a_400_naming_its_key(self) -> None:
        cases = [
            (chain(4), "the job has 4 tasks, over limits.tasks_per_job (3)"),
            (
                {"tasks": [{"taskid": "0", "cmd": {"name": "x"}, "totalwork": 6}]},
                "totalwork 6 of task 0 is over limits.totalwork_per_task (5)",
            ),
            (
                {"tasks": [{"taskid": str(i), "totalwork": 5} for i in range(2)]},
                "the job has 10 workunits, over limits.workunits_per_job (8)",
            ),
        ]
        for script, message in cases:
            answer = self.call("POST", "/job", {"upload": json.dumps(script)})
            self.assertEqual(answer["_code"], 400)
            self.assertEqual(answer["error"], [f"error parsing job, error={message}"])

    def test_a_job_script_over_its_size_is_a_413_naming_the_key(self) -> None:
        script = {**HELLO, "padding": "x" * 5000}
        answer = self.call("POST", "/job", {"upload": json.dumps(script)})
        self.assertEqual(answer["_code"], 413)
        self.assertIn("over limits.job_script_bytes (4096)", answer["error"][0])

    def test_a_report_over_its_size_is_a_413_naming_the_key(self) -> None:
        self.submit(HELLO)
        client = self.register()
        work = self.checkout(client["id"])["data"]
        answer = self.report(work["wuid"], client["id"], files={"stdout": "x" * 3000})
        self.assertEqual(answer["_code"], 413)
        self.assertIn("over limits.report_bytes (2048)", answer["error"][0])

    def test_listing_limit(self) -> None:
        for _ in range(3):
            self.submit(HELLO)
        answer = self.call("GET", "/job?limit=31")
        self.assertEqual(answer["_code"], 400)
        self.assertEqual(answer["error"], ["limit 31 is over limits.listing_limit (30)"])
        answer = self.call("GET", "/job?limit=30")
        self.assertEqual((answer["_code"], len(answer["data"])), (200, 3))

    def test_limit_0_lists_every_match_as_in_awe_up_to_the_listing_limit(self) -> None:
        for _ in range(32):
            self.submit(HELLO)
        answer = self.call("GET", "/job?limit=0&offset=2")
        self.assertEqual(answer["_code"], 200)
        self.assertEqual((len(answer["data"]), answer["limit"], answer["total_count"]), (30, 0, 32))
        answer = self.call("GET", "/job?limit=0&offset=1")
        self.assertEqual(answer["_code"], 400)
        self.assertEqual(
            answer["error"],
            [
                "limit=0 asks for all 31 matching jobs, over limits.listing_limit (30): "
                "page through them with limit and offset"
            ],
        )
        answer = self.call("GET", "/job?limit=-1")
        self.assertEqual(answer["_code"], 400)

    def test_the_workunit_listing_has_the_same_listing_limit(self) -> None:
        for _ in range(4):  # 32 queued workunits
            self.submit({"tasks": [{"taskid": "0", "cmd": {"name": "x"}, "totalwork": 4},
                                   {"taskid": "1", "cmd": {"name": "x"}, "totalwork": 4}]})  # fmt: skip
        answer = self.call("GET", "/work?query&limit=31")
        self.assertEqual(answer["error"], ["limit 31 is over limits.listing_limit (30)"])
        answer = self.call("GET", "/work?query&limit=0&offset=2")
        self.assertEqual(
            (answer["_code"], len(answer["data"]), answer["total_count"]), (200, 30, 32)
        )
        answer = self.call("GET", "/work?query&limit=0")
        self.assertEqual(answer["_code"], 400)
        self.assertIn(
            "all 32 matching workunits, over limits.listing_limit (30)", answer["error"][0]
        )
        answer = self.call("GET", f"/work?query&offset={10**20}")
        self.assertEqual(answer["_code"], 400)

    def test_registered_clients_limit_names_its_key_and_known_clients_come_back(self) -> None:
        first = self.register("a")
        self.register("b")
        profile = json.dumps({"name": "c", "group": "default"})
        answer = self.call("POST", "/client", {"profile": profile})
        self.assertEqual(answer["_code"], 400)
        self.assertEqual(
            answer["error"],
            ["2 clients are registered, as many as limits.registered_clients (2) allows"],
        )
        again = self.register("a", id=first["id"])  # re-registration is never refused
        self.assertEqual(again["id"], first["id"])


class AweCompatibilityTest(AweTestCase):
    def test_a_null_priority_is_the_default(self) -> None:
        job = self.submit({**HELLO, "info": {**HELLO["info"], "priority": None}})
        self.assertEqual(job["info"]["priority"], 1)

    def test_an_input_origin_is_a_dependency_and_empty_entries_are_dropped(self) -> None:
        script = chain(3)
        for task in script["tasks"]:
            task["dependsOn"] = [""]  # as AWE's own test jobs write it: origins say the rest
        job = self.submit(script)
        self.assertEqual([t["dependsOn"] for t in job["tasks"]],
                         [[], [f"{job['id']}_0"], [f"{job['id']}_1"]])  # fmt: skip
        client = self.register()
        for _ in range(3):  # and it runs in that order
            work = self.checkout(client["id"])["data"]
            self.assertEqual(self.report(work["wuid"], client["id"])["_code"], 200)
        self.assertEqual(self.job(job["id"])["state"], "completed")

    def test_a_numeric_task_id_is_a_400(self) -> None:
        answer = self.call("POST", "/job", {"upload": json.dumps({"tasks": [{"taskid": 0}]})})
        self.assertEqual(answer["_code"], 400)
        self.assertEqual(
            answer["error"], ["error parsing job, error=tasks[0].taskid 0 must be a string"]
        )

    def test_a_task_id_that_would_break_a_route_is_a_400(self) -> None:
        for bad in ("a/b", ".."):
            script = {"tasks": [{"taskid": bad, "cmd": {"name": "x"}}]}
            answer = self.call("POST", "/job", {"upload": json.dumps(script)})
            self.assertEqual(answer["_code"], 400, bad)
            self.assertIn("tasks[0].taskid", answer["error"][0])


class ReportForNothingTest(AweTestCase):
    def test_a_report_for_a_workunit_that_does_not_exist_is_a_404(self) -> None:
        job = self.submit(HELLO)
        client = self.register()
        work = self.checkout(client["id"])["data"]
        for wuid in (f"{job['id']}_0_9", f"{job['id']}_7_0", "nosuchjob_0_0"):
            answer = self.report(wuid, client["id"])
            self.assertEqual(answer["_code"], 404, wuid)
            self.assertEqual(answer["error"], [f"no workunit found with id {wuid}"])
        self.assertEqual(self.report(work["wuid"], client["id"])["_code"], 200)
        self.assertEqual(self.job(job["id"])["state"], "completed")
        # the job is finished and out of the queue: a repeated report is still "ok" (D5) ...
        self.assertEqual(self.report(work["wuid"], client["id"])["data"], "ok")
        # ... and a report for a rank it never had is still a 404
        self.assertEqual(self.report(f"{job['id']}_0_3", client["id"])["_code"], 404)
