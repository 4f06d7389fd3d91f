"""`/data`: upload by the lease holder only, downloads with checksums and ranges, shares, joins."""

from __future__ import annotations

import base64
import hashlib
import json
import time
import uuid
from typing import Any
from urllib.parse import quote

from tornado.httpclient import HTTPResponse

from awe.actors.base import ask_sync, new_reply
from awe.actors.messages import SubmitJob
from awe.model.jobscript import parse_job_script
from awe.model.shares import line_share
from awe.model.times import now
from tests.http.harness import AweTestCase, later
from tests.http.scripts import chain

DATA = b"".join(f"{i} squared is {i * i}\n".encode() for i in range(1, 200))


def split_script() -> dict[str, Any]:
    """Task 0 makes one file; task 1 is split in 3 over it; task 2 reads task 1's output."""
    script = chain(3)
    script["tasks"][1]["totalwork"] = 3
    return script


class DataCase(AweTestCase):
    def raw(
        self, method: str, path: str, body: bytes | None = None, **headers: str
    ) -> HTTPResponse:
        if body is None and method in ("PUT", "POST"):
            body = b""
        return self.fetch(path, method=method, body=body, headers=headers,
                          allow_nonstandard_methods=True, request_timeout=60)  # fmt: skip

    def envelope(self, response: HTTPResponse) -> dict[str, Any]:
        return json.loads(response.body)

    def upload(self, job: str, task: str, name: str, client: str, data: bytes, rank: int = 0,
               **headers: str) -> HTTPResponse:  # fmt: skip
        path = f"/data/{job}/{task}/{quote(name, safe='')}?client={client}&rank={rank}"
        return self.raw("PUT", path, data, **{**self.worker_headers(client), **headers})

    def leased(self, script: dict[str, Any]) -> tuple[str, str, dict[str, Any]]:
        """A submitted job, a registered worker, and the workunit it checked out."""
        job = self.submit(script)["id"]
        client = self.register()["id"]
        work = self.checkout(client)["data"]
        return job, client, work

    def wait_state(self, job: str, state: str) -> dict[str, Any]:
        found = self.wait_for_job(job, lambda j: j["state"] == state)
        self.assertEqual(found["state"], state, found.get("notes"))
        return found


class UploadDownloadTest(DataCase):
    def test_the_lease_holder_uploads_and_anyone_who_may_read_downloads(self) -> None:
        job, client, work = self.leased(chain(2))
        md5 = base64.b64encode(hashlib.md5(DATA).digest()).decode()
        answer = self.envelope(self.upload(job, "0", "out0", client, DATA, **{"Content-MD5": md5}))
        self.assertEqual(answer["status"], 200)
        self.assertEqual(answer["data"]["md5"], hashlib.md5(DATA).hexdigest())
        self.assertEqual(answer["data"]["size"], len(DATA))
        self.assertEqual(answer["data"]["url"], work["outputs"][0]["url"].replace(
            "http://127.0.0.1:8001", self.get_url("")))  # fmt: skip
        got = self.raw("GET", f"/data/{job}/0/out0")
        self.assertEqual((got.code, got.body), (200, DATA))
        self.assertEqual(got.headers["ETag"], f'"{hashlib.sha256(DATA).hexdigest()}"')
        digest = base64.b64encode(hashlib.md5(DATA).digest()).decode()
        self.assertIn(f"md5={digest}", got.headers["Digest"])
        head = self.raw("HEAD", f"/data/{job}/0/out0")
        self.assertEqual((head.code, head.headers["Content-Length"], head.body),
                         (200, str(len(DATA)), b""))  # fmt: skip

    def test_an_empty_file_is_a_file(self) -> None:
        job, client, _ = self.leased(chain(2))
        answer = self.envelope(self.upload(job, "0", "out0", client, b""))["data"]
        self.assertEqual((answer["size"], answer["lines"]), (0, 0))
        got = self.raw("GET", f"/data/{job}/0/out0")
        self.assertEqual((got.code, got.body), (200, b""))

    def test_ranges_resume_a_download_unless_the_file_changed(self) -> None:
        job, client, _ = self.leased(chain(2))
        self.upload(job, "0", "out0", client, DATA)
        etag = f'"{hashlib.sha256(DATA).hexdigest()}"'
        part = self.raw("GET", f"/data/{job}/0/out0", Range="bytes=100-", **{"If-Range": etag})
        self.assertEqual((part.code, part.body), (206, DATA[100:]))
        self.assertEqual(part.headers["Content-Range"], f"bytes 100-{len(DATA) - 1}/{len(DATA)}")
        stale = self.raw("GET", f"/data/{job}/0/out0", Range="bytes=100-", **{"If-Range": '"x"'})
        self.assertEqual((stale.code, stale.body), (200, DATA))
        # a resume past the end of a file that changed meanwhile gets the new file, not a 416
        replaced = self.raw("GET", f"/data/{job}/0/out0", Range=f"bytes={len(DATA) + 5}-",
                            **{"If-Range": '"x"'})  # fmt: skip
        self.assertEqual((replaced.code, replaced.body), (200, DATA))
        past = self.raw("GET", f"/data/{job}/0/out0", Range=f"bytes={len(DATA)}-")
        self.assertEqual(past.code, 416)
        self.assertEqual(past.headers["Content-Range"], f"bytes */{len(DATA)}")
        self.assertIn("range not satisfiable", self.envelope(past)["error"][0])

    def test_a_checksum_mismatch_stores_nothing(self) -> None:
        job, client, _ = self.leased(chain(2))
        wrong = base64.b64encode(hashlib.md5(b"other").digest()).decode()
        answer = self.upload(job, "0", "out0", client, DATA, **{"Content-MD5": wrong})
        self.assertEqual(answer.code, 422)
        self.assertIn("checksum mismatch", self.envelope(answer)["error"][0])
        self.assertEqual(self.raw("GET", f"/data/{job}/0/out0").code, 404)
        self.assertEqual(list((self.tmp / "data/datastore" / job / "_incoming").iterdir()), [])

    def test_only_the_lease_holder_may_upload(self) -> None:
        job, _, _ = self.leased(chain(2))
        other = self.register("other")["id"]
        refused = self.upload(job, "0", "out0", other, DATA)  # with its own secret
        self.assertEqual(refused.code, 401)
        self.assertEqual(self.envelope(refused)["error"], ["User Unauthorized"])
        self.assertEqual(self.upload(job, "0", "out0", "", DATA).code, 400)
        self.assertEqual(self.upload(job, "0", "out0", "nobody", DATA).code, 400)  # not found
        self.assertEqual(self.raw("GET", f"/data/{job}/0/out0").code, 404)

    def test_a_file_over_the_cap_is_refused_before_and_while_it_streams(self) -> None:
        self.server.data.max_file_bytes = 1000
        job, client, _ = self.leased(chain(2))
        with_length = self.upload(job, "0", "out0", client, DATA)
        self.assertEqual(with_length.code, 413)

        def chunks(write):  # chunked: no Content-Length to refuse it by
            for i in range(0, len(DATA), 256):
                write(DATA[i : i + 256])

        path = f"/data/{job}/0/out0?client={client}"
        chunked = self.fetch(path, method="PUT", body_producer=chunks, request_timeout=30,
                             headers=self.worker_headers(client))  # fmt: skip
        self.assertEqual(chunked.code, 413)
        self.assertIn("over the limit", self.envelope(chunked)["error"][0])
        self.assertEqual(self.raw("GET", f"/data/{job}/0/out0").code, 404)

    def test_unknown_jobs_and_files_are_404_and_bad_names_400(self) -> None:
        job, _, _ = self.leased(chain(2))
        self.assertEqual(self.raw("GET", "/data/no-such-job/0/x").code, 404)
        self.assertEqual(self.raw("GET", f"/data/{job}/0/missing").code, 404)
        for bad in ("..%2Fx", "%2E%2E", "a%00b"):
            answer = self.raw("GET", f"/data/{job}/0/{bad}")
            self.assertEqual(answer.code, 400, bad)
            self.assertIsNone(self.envelope(answer)["data"])


class CrossJobTest(DataCase):
    """Issue 10 item 4: a job's worker can never write another job's folder (second wall)."""

    def test_encoded_dot_dot_names_cannot_reach_another_jobs_folder(self) -> None:
        victim, vclient, _ = self.leased(chain(1))
        self.upload(victim, "0", "out0", vclient, b"victim's result\n")
        attacker = self.submit(chain(1))["id"]
        aclient = self.register("attacker")["id"]
        self.assertEqual(self.checkout(aclient)["data"]["wuid"], f"{attacker}_0_0")
        attempts = [
            (attacker, "..", f"{victim}/0/out0"),
            (attacker, "0", f"../../{victim}/0/out0"),
            (attacker, "..%2F" + victim, "out0"),
            (victim, "0", "out0"),  # straight at it: not the lease holder
        ]
        for job, task, name in attempts:
            path = f"/data/{job}/{task}/{quote(name, safe='')}?client={aclient}"
            answer = self.raw("PUT", path, b"overwritten\n", **self.worker_headers(aclient))
            self.assertIn(answer.code, (400, 401, 404), (task, name))
        stored = self.tmp / "data/datastore" / victim / "0" / "out0"
        self.assertEqual(stored.read_bytes(), b"victim's result\n")

    def test_a_job_with_a_dot_dot_task_cannot_overwrite_another_jobs_result(self) -> None:
        """The job script parser refuses such names; this is the wall behind it."""
        victim, vclient, _ = self.leased(chain(1))
        self.upload(victim, "0", "out0", vclient, b"victim's result\n")
        attacker = parse_job_script(json.dumps(chain(1)), job_id=str(uuid.uuid4()), now=now())
        attacker.tasks[0].id = f"{attacker.id}_.."  # injected past the parser
        attacker.tasks[0].outputs[0]["filename"] = f"{victim}/0/out0"
        ask_sync(self.server.queue, SubmitJob(job=attacker, reply=new_reply()))
        aclient = self.register("attacker")["id"]
        work = self.checkout(aclient)["data"]
        self.assertEqual(work["wuid"], f"{attacker.id}_.._0")
        name = quote(f"{victim}/0/out0", safe="")
        answer = self.raw("PUT", f"/data/{attacker.id}/../{name}?client={aclient}", b"pwned\n")
        self.assertEqual(answer.code, 400)
        self.assertIn("invalid task id", self.envelope(answer)["error"][0])
        stored = self.tmp / "data/datastore" / victim / "0" / "out0"
        self.assertEqual(stored.read_bytes(), b"victim's result\n")


class ShareAndJoinTest(DataCase):
    def test_ranks_read_their_shares_and_upload_parts_that_the_server_joins(self) -> None:
        job, client, work = self.leased(split_script())
        self.upload(job, "0", "out0", client, DATA)
        self.report(work["wuid"], client)
        ranks = []
        for _ in range(3):
            ranks.append(self.checkout(client)["data"])
        self.assertEqual(sorted(w["rank"] for w in ranks), [1, 2, 3])
        for unit in ranks:
            rank = unit["rank"]
            meta = self.envelope(
                self.raw("GET", f"/data/{job}/0/out0?meta&rank={rank}&totalwork=3")
            )
            share = meta["data"]["share"]
            expected = line_share(DATA, rank, 3)
            self.assertEqual(share["md5"], hashlib.md5(expected).hexdigest())
            got = self.raw("GET", f"/data/{job}/0/out0",
                           Range=f"bytes={share['start']}-{share['end'] - 1}")  # fmt: skip
            self.assertEqual(got.body, expected)
            answer = self.upload(job, "1", "out1", client, f"rank {rank}\n".encode(), rank=rank)
            self.assertEqual(self.envelope(answer)["data"]["part"], rank)
        for unit in reversed(ranks):
            self.report(unit["wuid"], client)
        done = self.wait_for_job(job, lambda j: j["tasks"][1]["state"] == "completed")
        self.assertEqual(done["tasks"][1]["outputs"][0]["size"], 21)
        joined = self.raw("GET", f"/data/{job}/1/out1")
        self.assertEqual(joined.body, b"rank 1\nrank 2\nrank 3\n")
        self.assertEqual(self.checkout(client)["data"]["wuid"], f"{job}_2_0")
        listing = self.envelope(self.raw("GET", f"/data/{job}"))["data"]
        self.assertEqual(
            [(f["task"], f["filename"]) for f in listing], [("0", "out0"), ("1", "out1")]
        )

    def test_done_ranks_whose_parts_are_missing_suspend_the_job_with_the_reason(self) -> None:
        job, client, work = self.leased(split_script())
        self.upload(job, "0", "out0", client, DATA)
        self.report(work["wuid"], client)
        for _ in range(3):
            unit = self.checkout(client)["data"]
            self.report(unit["wuid"], client)
        found = self.wait_state(job, "suspend")
        self.assertIn(f"failed joining the parts of task {job}_1", found["notes"])


class LifecycleTest(DataCase):
    def test_deleting_a_job_deletes_its_files(self) -> None:
        job, client, _ = self.leased(chain(2))
        self.upload(job, "0", "out0", client, DATA)
        folder = self.tmp / "data/datastore" / job
        self.assertTrue(folder.is_dir())
        self.call("DELETE", f"/job/{job}", expect=200)
        deadline = time.monotonic() + 10
        while folder.exists() and time.monotonic() < deadline:
            self.io_loop.run_sync(lambda: __import__("asyncio").sleep(0.02))
        self.assertFalse(folder.exists())

    def test_retention_removes_finished_jobs_files_only(self) -> None:
        self.config.datastore.retention = "1h"
        done, client, work = self.leased(chain(1))
        self.upload(done, "0", "out0", client, DATA)
        self.report(work["wuid"], client)
        self.wait_state(done, "completed")
        running, client2, _ = self.leased(chain(2))
        self.upload(running, "0", "out0", client2, DATA)
        self.flush()
        self.assertEqual(self.server.expire_data(time.time() + 60), [])  # not yet
        self.assertEqual(self.server.expire_data(time.time() + 3601), [done])
        self.assertEqual(self.raw("GET", f"/data/{done}/0/out0").code, 404)
        self.assertEqual(self.raw("GET", f"/data/{running}/0/out0").code, 200)

    def test_an_expired_job_leaves_with_its_files(self) -> None:
        job, client, work = self.leased(chain(1))
        self.upload(job, "0", "out0", client, DATA)
        self.call("PUT", f"/job/{job}?expiration=1M", expect=200)
        self.report(work["wuid"], client)
        self.wait_state(job, "completed")
        self.flush()
        self.assertEqual(self.server.reap(later(3600)), [job])
        self.assertFalse((self.tmp / "data/datastore" / job).exists())


class DataRightsTest(DataCase):
    config_overrides = {
        "anonymous": {"read": False, "write": True, "delete": False},
        "auth": {
            "tokens": {"t-ana": "ana", "t-bob": "bob"},
            "clientgroup_tokens": {"default": "cg-d"},
        },  # workers need one once auth is on
    }

    def test_owner_and_lease_holder_read_others_do_not(self) -> None:
        job = self.submit(chain(2), {"Authorization": "Bearer t-ana"})["id"]
        client = self.register()["id"]
        self.checkout(client)
        self.upload(job, "0", "out0", client, DATA)
        ana = self.raw("GET", f"/data/{job}/0/out0", Authorization="Bearer t-ana")
        self.assertEqual((ana.code, ana.body), (200, DATA))
        self.assertEqual(
            self.raw("GET", f"/data/{job}/0/out0", Authorization="Bearer t-bob").code, 401
        )
        self.assertEqual(self.raw("GET", f"/data/{job}/0/out0").code, 401)
        holder = self.raw("GET", f"/data/{job}/0/out0?client={client}",
                          **self.worker_headers(client))  # fmt: skip
        self.assertEqual((holder.code, holder.body), (200, DATA))
        stranger = self.register("stranger")["id"]
        self.assertEqual(self.raw("GET", f"/data/{job}/0/out0?client={stranger}",
                                  **self.worker_headers(stranger)).code, 401)  # fmt: skip
