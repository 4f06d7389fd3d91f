"""Issue 2: submitting, listing, paging and querying jobs; every bad input is a JSON 400."""

from __future__ import annotations

import json

from tests.http.harness import AweTestCase
from tests.http.scripts import HELLO, SAMPLE_42, chain


class SubmitTest(AweTestCase):
    def test_both_spec_examples_are_accepted(self) -> None:
        hello = self.submit(HELLO)
        self.assertEqual(len(hello["id"]), 36)
        self.assertEqual(hello["jid"], "10001")
        self.assertEqual(hello["tasks"][0]["taskid"], f"{hello['id']}_0")
        sample = self.submit(SAMPLE_42)
        self.assertEqual(sample["jid"], "10002")
        self.assertEqual(sample["info"]["priority"], 3)
        self.assertEqual(
            sample["tasks"][3]["dependsOn"], [f"{sample['id']}_1", f"{sample['id']}_2"]
        )
        self.assertNotIn("private", sample["tasks"][1]["cmd"]["environ"])
        self.assertNotIn("acl", sample)

    def test_jid_keeps_counting_after_a_restart(self) -> None:
        self.submit(HELLO)
        self.flush()
        self.restart()
        self.assertEqual(self.submit(HELLO)["jid"], "10002")

    def test_a_bad_script_is_a_400_and_creates_nothing(self) -> None:
        cases = {
            "{not json": "error parsing job, error=error in unmarshaling job json file:",
            json.dumps({"tasks": []}): "error parsing job, error=invalid job script: task list empty",
            json.dumps({"tasks": [{"taskid": "a_b"}]}): "error parsing job, error=error in InitTask: invalid taskid, may not contain '_'",
            json.dumps({"tasks": [{"taskid": "a", "dependsOn": ["z"]}]}): "error parsing job, error=task a depends on unknown task z",
            json.dumps({"tasks": [{"taskid": "a", "dependsOn": ["b"]}, {"taskid": "b", "dependsOn": ["a"]}]}): "error parsing job, error=dependency cycle",
            json.dumps({"tasks": [{"taskid": "a"}, {"taskid": "a"}]}): "error parsing job, error=duplicate taskid: a",
            json.dumps({"info": {"priority": "high"}, "tasks": [{"taskid": "a"}]}): "error parsing job, error=info.priority must be an integer",
        }  # fmt: skip
        for script, message in cases.items():
            answer = self.call("POST", "/job", {"upload": script})
            self.assertEqual(answer["_code"], 400, script)
            self.assertTrue(answer["error"][0].startswith(message), (script, answer["error"]))
            self.assertIsNone(answer["data"])
        self.assertEqual(self.call("GET", "/job")["total_count"], 0)

    def test_missing_upload_part_and_non_multipart_body(self) -> None:
        other = self.call("POST", "/job", {"script": json.dumps(HELLO)})
        self.assertEqual(other["error"], ["No job script or awf is submitted"])
        plain = self.fetch("/job", method="POST", body=json.dumps(HELLO))
        self.assertEqual(plain.code, 400)
        self.assertEqual(json.loads(plain.body)["error"], ["No job file is submitted"])

    def test_an_oversized_upload_is_a_json_413(self) -> None:
        big = json.dumps({**HELLO, "padding": "x" * (17 * 1024 * 1024)})
        answer = self.call("POST", "/job", {"upload": big})
        self.assertEqual(answer["_code"], 413)
        self.assertIn("over limits.job_script_bytes (16777216)", answer["error"][0])

    def test_unknown_job_and_unknown_route(self) -> None:
        self.assertEqual(self.call("GET", "/job/nope")["error"], ["job not found:nope"])
        self.assertEqual(self.call("PUT", "/job/nope?suspend")["_code"], 404)
        self.assertEqual(self.call("DELETE", "/job/nope")["_code"], 404)
        resources = self.call("GET", "/no/such/thing")
        self.assertEqual(resources["id"], "AWE")
        self.assertIn("job", resources["resources"])


class ListingTest(AweTestCase):
    def _submit_many(self) -> list[dict]:
        jobs = []
        for i in range(7):
            jobs.append(self.submit(chain(1, project="alpha" if i % 2 else "beta", user=f"u{i}")))
        self.flush()
        return jobs

    def test_paging_by_updatetime_desc_by_default(self) -> None:
        jobs = self._submit_many()
        first = self.call("GET", "/job?limit=3")
        self.assertEqual((first["limit"], first["offset"], first["total_count"]), (3, 0, 7))
        second = self.call("GET", "/job?limit=3&offset=3")
        listed = [j["id"] for j in first["data"] + second["data"]]
        self.assertEqual(len(set(listed)), 6)
        newest_first = [j["id"] for j in reversed(jobs)]
        self.assertEqual(listed, newest_first[:6])
        ascending = self.call("GET", "/job?order=info.submittime&direction=asc&limit=2")
        self.assertEqual([j["id"] for j in ascending["data"]], [jobs[0]["id"], jobs[1]["id"]])

    def test_query_by_state_and_project_with_comma_lists(self) -> None:
        jobs = self._submit_many()
        alpha = self.call("GET", "/job?query&info.project=alpha")
        self.assertEqual(alpha["total_count"], 3)
        both = self.call("GET", "/job?query&info.project=alpha,beta&limit=100")
        self.assertEqual(both["total_count"], 7)
        client = self.register()
        work = self.checkout(client["id"])["data"]
        self.report(work["wuid"], client["id"])
        self.flush()
        done = self.call("GET", "/job?query&state=completed")
        self.assertEqual([j["id"] for j in done["data"]], [work["wuid"].split("_")[0]])
        self.assertEqual(self.call("GET", "/job?query&state=queued")["total_count"], 6)
        users = self.call("GET", f"/job?query&info.user={jobs[0]['info']['user']}")
        self.assertEqual(users["total_count"], 1)
        self.assertEqual(self.call("GET", "/job?query&jid=10001")["data"][0]["id"], jobs[0]["id"])

    def test_active_suspend_and_registered_flags(self) -> None:
        jobs = self._submit_many()
        self.call("PUT", f"/job/{jobs[0]['id']}?suspend", expect=200)
        active = self.call("GET", "/job?active&limit=100")
        self.assertEqual(active["total_count"], 6)
        self.assertTrue(all(j["registered"] for j in active["data"]))
        suspended = self.call("GET", "/job?suspend")
        self.assertEqual([j["id"] for j in suspended["data"]], [jobs[0]["id"]])
        self.assertEqual(self.call("GET", "/job?registered")["total_count"], 7)

    def test_bad_paging_parameters_and_dates(self) -> None:
        self.assertEqual(self.call("GET", "/job?limit=ten")["_code"], 400)
        self.assertEqual(self.call("GET", "/job?offset=-1")["_code"], 400)
        self.assertEqual(self.call("GET", "/job?order=bad;field")["_code"], 400)
        bad = self.call("GET", "/job?query&date_start=yesterday")
        self.assertEqual(bad["error"], ["Invalid datetime format: yesterday"])
        self._submit_many()
        window = self.call("GET", "/job?query&date_start=2000-01-01&limit=100")
        self.assertEqual(window["total_count"], 7)
        self.assertEqual(self.call("GET", "/job?query&date_end=2000-01-01")["total_count"], 0)

    def test_envelope_headers_jsonp_and_always200(self) -> None:
        response = self.fetch("/job/nope?always200")
        self.assertEqual(response.code, 200)
        self.assertEqual(json.loads(response.body)["status"], 400)
        self.assertNotIn("Access-Control-Allow-Origin", response.headers)  # none by default
        jsonp = self.fetch("/job?callback=show")
        self.assertTrue(jsonp.body.startswith(b"show({"))
        self.assertEqual(self.call("OPTIONS", "/job")["_code"], 200)


class AuthTest(AweTestCase):
    config_overrides = {
        "anonymous": {"read": False, "write": False, "delete": False},
        "auth": {"tokens": {"tok-ana": "ana", "tok-bob": "bob", "tok-root": "root"},
                 "admin_users": ["root"]},
    }  # fmt: skip

    def test_users_see_and_change_only_their_jobs(self) -> None:
        self.assertEqual(
            self.call("POST", "/job", {"upload": json.dumps(HELLO)})["error"], ["No Authorization"]
        )
        ana = {"Authorization": "Bearer tok-ana"}
        job = self.submit(HELLO, headers=ana)
        self.flush()
        bob = {"Authorization": "Bearer tok-bob"}
        self.assertEqual(self.call("GET", "/job", headers=bob)["total_count"], 0)
        self.assertEqual(self.call("GET", "/job", headers=ana)["total_count"], 1)
        self.assertEqual(
            self.call("GET", "/job", headers={"Authorization": "Bearer tok-root"})["total_count"], 1
        )
        self.assertEqual(self.call("GET", f"/job/{job['id']}", headers=bob)["_code"], 401)
        self.assertEqual(self.call("GET", f"/job/{job['id']}", headers=ana)["_code"], 200)
        refused = self.call("PUT", f"/job/{job['id']}?suspend", headers=bob)
        self.assertEqual((refused["_code"], refused["error"]), (401, ["User Unauthorized"]))
        self.assertEqual(
            self.call("GET", "/job", headers={"Authorization": "Bearer nope"})["error"],
            ["Invalid Auth Header"],
        )


class SubmitOnMongoTest(SubmitTest):
    backend = "mongomock"


class ListingOnMongoTest(ListingTest):
    backend = "mongomock"
