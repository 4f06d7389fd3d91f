"""Issue 14, items 8 and 9: what AWE's monitor page and `awe_qstat.pl` ask of the server."""

from __future__ import annotations

import asyncio
import base64
import json
import re
import time
from typing import Any
from urllib.parse import quote

from tests.http.compat_scripts import mgrast_like
from tests.http.harness import AweTestCase
from tests.http.scripts import HELLO
from tests.worker.shock_fixture import ShockFixture

ANA, BOB = {"Authorization": "Bearer t-ana"}, {"Authorization": "Bearer t-bob"}


def b64(wuid: str) -> str:
    return "base64:" + base64.b64encode(wuid.encode()).decode()


class MonitorTest(AweTestCase):
    config_overrides = {"auth": {"tokens": {"t-ana": "ana", "t-bob": "bob"}}}

    def setUp(self) -> None:
        super().setUp()
        self.shock = ShockFixture(self.tmp / "shock").start()
        self.addCleanup(self.shock.stop)
        self.upload = self.shock.add_node(b"@r1\nACGT\n+\nIIII\n", name="upload.fastq")

    def wait_until(self, done: Any, timeout: float = 10.0) -> None:
        """Bounded wait for what happens off the request path (the Shock node of task 1)."""
        deadline = time.monotonic() + timeout
        while not done():
            self.assertLess(time.monotonic(), deadline, "condition not met in time")
            self.io_loop.run_sync(lambda: asyncio.sleep(0.05))

    def busy_queue(self) -> dict[str, Any]:
        """An MG-RAST-shaped job with one task running, a suspended job, a suspended client."""
        ana = self.call("POST", "/job", {"upload": json.dumps(mgrast_like(self.shock.url, self.upload))},
                        headers=ANA, expect=200)["data"]  # fmt: skip
        worker = self.register("w1", host="10.0.0.7")["id"]
        work = self.checkout(worker, "&wait=10")["data"]

        def both_first_stages_out() -> bool:
            tasks = self.call("GET", f"/job/{ana['id']}", headers=ANA)["data"]["tasks"]
            return sorted(t["state"] for t in tasks[:2]) == ["in-progress", "queued"]

        self.wait_until(both_first_stages_out)
        bob = self.submit({**HELLO, "info": {**HELLO["info"], "pipeline": "inbox"}}, headers=BOB)
        self.call("PUT", f"/job/{bob['id']}?suspend", headers=BOB, expect=200)
        idle = self.register("w2", hostname="node2.example.org", host_ip="10.0.0.8")["id"]
        self.call("PUT", f"/client/{idle}?suspend", expect=200)
        return {"ana": ana["id"], "bob": bob["id"], "work": work, "worker": worker}

    def test_queue_json_has_awes_counts(self) -> None:
        self.busy_queue()
        status = self.call("GET", "/queue?json")["data"]
        self.assertEqual(status["jobs"], {"total": 2, "active": 1, "suspended": 1})
        self.assertEqual(status["tasks"], {"total": 5, "queuing": 1, "in-progress": 1,
                                           "pending": 2, "completed": 0, "suspended": 1,
                                           "failed": 0})  # fmt: skip
        self.assertEqual(status["workunits"], {"total": 3, "queuing": 1, "checkout": 1,
                                               "suspended": 1})  # fmt: skip
        self.assertEqual(status["clients"], {"total": 2, "busy": 1, "idle": 0, "suspended": 1})

    def test_queue_text_is_what_awe_qstat_cuts_out(self) -> None:
        self.busy_queue()
        body = self.fetch("/queue").body.decode()
        # awe_qstat.pl: curl .../queue | cut -d '"' -f 6, then split on the two characters \n
        lines = body.split('"')[5].split("\\n")
        self.assertEqual(lines[:4], ["++++++++AWE server queue status++++++++",
                                     "total jobs ............... 2", "    active:           (1)",
                                     "    suspended:        (1)"])  # fmt: skip
        self.assertIn("total workunits .......... 3", lines)
        self.assertIn("    suspend:          (1)", lines)
        self.assertRegex(
            lines[-3], r"^---last update: \d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d+ \+0000 UTC$"
        )
        self.assertEqual(lines[-2:], ["", ""])

    def test_distinct_lists_the_values_the_caller_may_read(self) -> None:
        self.busy_queue()
        self.assertEqual(self.call("GET", "/job?distinct=pipeline")["data"], [])  # both private
        self.assertEqual(
            self.call("GET", "/job?distinct=pipeline", headers=ANA)["data"], ["mgrast-prod"]
        )
        self.assertEqual(
            self.call("GET", "/job?distinct=project", headers=BOB)["data"], ["sandbox"]
        )
        bad = self.call("GET", "/job?distinct=info.pipeline", headers=ANA)
        self.assertEqual(
            (bad["_code"], bad["error"]),
            (400, ["unable to run distinct query on non-indexed info field: info.pipeline"]),
        )
        filtered = self.call("GET", "/job?query&state=suspend&distinct=user", headers=BOB)["data"]
        self.assertEqual(filtered, ["ana"])  # HELLO's info.user

    def test_work_query_pages_with_total_count(self) -> None:
        self.busy_queue()
        page = self.call(
            "GET", "/work?query&limit=2&offset=0&order=wuid&direction=asc", headers=ANA
        )
        self.assertEqual((page["limit"], page["offset"], page["total_count"]), (2, 0, 2))
        rest = self.call(
            "GET", "/work?query&limit=1&offset=1&order=wuid&direction=asc", headers=ANA
        )
        self.assertEqual([w["wuid"] for w in rest["data"]], [page["data"][1]["wuid"]])
        for work in page["data"]:  # what the monitor's table reads
            self.assertTrue(work["cmd"]["name"].startswith("awe_"))
            self.assertTrue(work["info"]["submittime"])
            self.assertEqual(work["info"]["priority"], 3)
        mine = self.call("GET", "/work?query&state=checkout", headers=ANA)
        self.assertEqual([w["state"] for w in mine["data"]], ["checkout"])
        everyone = self.call("GET", "/work")  # anonymous: public jobs only, a plain list
        self.assertEqual((everyone["data"], "total_count" in everyone), ([], False))

    def test_ios_carry_size_and_perf_has_resp_and_file_sizes(self) -> None:
        queue = self.busy_queue()
        job = self.call("GET", f"/job/{queue['ana']}", headers=ANA)["data"]
        for task in job["tasks"]:
            for io in task["inputs"] + task["outputs"] + task["predata"]:
                self.assertIsInstance(io["size"], int, io)
        self.assertTrue(
            all("size" in io for io in queue["work"]["inputs"] + queue["work"]["outputs"])
        )
        self.report(queue["work"]["wuid"], queue["worker"])
        perf = self.call("GET", f"/job/{queue['ana']}?perf", headers=ANA)["data"]
        self.assertGreater(perf["queued"], 1_600_000_000)
        self.assertEqual((perf["end"], perf["resp"]), (0, 0))  # not completed yet
        done = perf["task_stats"][job["tasks"][int(queue["work"]["wuid"].split("_")[1])]["taskid"]]
        self.assertEqual(done["resp"], done["end"] - done["queued"])
        self.assertEqual((len(done["size_infile"]), len(done["size_outfile"])), (1, 1))

    def test_base64_work_ids_work_for_viewing_and_reporting(self) -> None:
        queue = self.busy_queue()
        wuid, worker = queue["work"]["wuid"], queue["worker"]
        for path in (b64(wuid), quote(b64(wuid), safe="")):
            seen = self.call("GET", f"/work/{path}", headers=ANA, expect=200)["data"]
            self.assertEqual(seen["wuid"], wuid)
        self.assertEqual(self.report(b64(wuid), worker)["data"], "ok")
        job = self.call("GET", f"/job/{queue['ana']}", headers=ANA)["data"]
        states = {t["taskid"]: t["state"] for t in job["tasks"]}
        self.assertEqual(states[wuid.rsplit("_", 1)[0]], "completed")
        bad = self.call("GET", "/work/base64:%25%25", headers=ANA)
        self.assertEqual((bad["_code"], bad["error"]), (400, ["invalid work id: base64:%%"]))

    def test_clients_have_host_ip_and_hostname(self) -> None:
        self.busy_queue()
        clients = {c["name"]: c for c in self.call("GET", "/client")["data"]}
        self.assertEqual((clients["w1"]["host_ip"], clients["w1"]["hostname"]), ("10.0.0.7", ""))
        self.assertEqual(
            (clients["w2"]["host_ip"], clients["w2"]["hostname"]), ("10.0.0.8", "node2.example.org")
        )
        self.assertTrue(re.fullmatch(r"\d+h\d+m", clients["w1"]["serve_time"]))
