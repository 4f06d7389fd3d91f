"""Issue 10's attacks, each against a real server and a real awe-worker: each must now fail.

The setup is the issue's: anonymous access off, users A and B, an admin, a clientgroup `secure`
with a CG token (`client_auth_required` left false). Our worker runs A's jobs in `secure`; the
attacker knows the worker's id, which `GET /client` shows to any reader.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import urllib3

from tests.e2e.serverproc import ServerProcess
from tests.worker.workerproc import cluster, py_task

CONFIG = {
    "anonymous": {"read": False, "write": False, "delete": False},
    "auth": {"tokens": {"t-a": "ana", "t-b": "bob", "t-root": "root"}, "admin_users": ["root"],
             "clientgroup_tokens": {"secure": "cg-secure"}},
    "queue": {"client_timeout_s": 60},
}  # fmt: skip
ANON: dict[str, str] = {}
A = {"Authorization": "Bearer t-a"}
B = {"Authorization": "Bearer t-b"}
ROOT = {"Authorization": "Bearer t-root"}
GROUP = {"Authorization": "CG_TOKEN cg-secure"}  # a stolen group token, for the worst case
# waits for its marker file (at most a minute), then says whether its private env arrived
WAIT = (
    "import os, sys, time; [time.sleep(0.05) for _ in range(1200) if not os.path.exists(sys.argv[1])];"
    'print("A-STDOUT", os.environ.get("PE") == "pe-of-ana")'
)


class Site:
    """The running cluster, as an attacker and as its users see it."""

    def __init__(self, server: ServerProcess, worker: Any, root: Path) -> None:
        self.server, self.worker, self.root = server, worker, root
        self.http = urllib3.PoolManager(retries=False, timeout=urllib3.Timeout(total=30))
        clients = self.call("GET", "/client", B)[1]["data"]  # ids are public to any reader
        self.worker_id = next(c["id"] for c in clients if c["name"] == worker.name)
        self.jobs = 0
        self.markers: list[Path] = []

    def release_all(self) -> None:
        """Let every command end, so that a failed test leaves the worker's slots free."""
        for marker in self.markers:
            marker.touch()

    def call(self, method: str, path: str, headers: dict[str, str],
             **kw: Any) -> tuple[int, dict[str, Any], Any]:  # fmt: skip
        response = self.http.request(method, self.server.url + path, headers=headers, **kw)
        return response.status, json.loads(response.data), response.headers

    def submit(self, group: str = "secure") -> tuple[str, str, Path]:
        """A job of A's (data token, private env) that waits for its marker: (job, wuid, marker)."""
        self.jobs += 1
        marker = self.root / f"release-{self.jobs}"
        self.markers.append(marker)
        task = py_task("0", WAIT, str(marker))
        task["cmd"]["environ"] = {"private": {"PE": "pe-of-ana"}}
        job = {"info": {"name": "a", "pipeline": "sec", "clientgroups": group}, "tasks": [task]}
        upload = {"upload": ("job.json", json.dumps(job).encode())}
        status, body, _ = self.call("POST", "/job", {**A, "Datatoken": "dt-of-ana"}, fields=upload)
        assert status == 200, body
        return body["data"]["id"], f"{body['data']['id']}_0_0", marker

    def running(self) -> tuple[str, str, Path]:
        """A job of A's whose workunit our worker holds (its command is running)."""
        job_id, wuid, marker = self.submit()
        self.worker.wait_log(rf"run .*{marker.name}", timeout=30)
        return job_id, wuid, marker

    def state(self, job_id: str) -> str:
        return self.call("GET", f"/job/{job_id}", A)[1]["data"]["state"]

    def wait_state(self, job_id: str, state: str, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while self.state(job_id) != state:
            assert time.monotonic() < deadline, f"job {job_id} not {state}"
            time.sleep(0.05)

    def finish(self, job_id: str, marker: Path) -> None:
        """Let the command end; the worker reports, the job completes (its lease was intact)."""
        marker.touch()
        self.wait_state(job_id, "completed")


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    root = tmp_path_factory.mktemp("attacks")
    config = {"group": "secure", "clientgroup_token": "cg-secure", "slots": 2}
    with cluster(root, CONFIG, workers=1, **config) as (server, _, workers):
        yield Site(server, workers[0], root)


@pytest.fixture(autouse=True)
def _release(request: pytest.FixtureRequest) -> Iterator[None]:
    yield
    if "site" in request.fixturenames:
        request.getfixturevalue("site").release_all()


def test_a_worker_id_alone_gets_no_data_token_nor_private_env(site: Site) -> None:
    job_id, wuid, marker = site.running()
    for who in (ANON, B, GROUP):
        for kind, header in (("datatoken", "Datatoken"), ("privateenv", "Privateenv")):
            status, body, headers = site.call(
                "GET", f"/work/{wuid}?{kind}&client={site.worker_id}", who
            )
            assert (status, header in headers) == (401, False), (who, kind, body)
    site.finish(job_id, marker)
    status, body, _ = site.call("GET", f"/work/{wuid}?report=stdout", A)
    assert body["data"] == "A-STDOUT True\n"  # the real holder got its private env


def test_a_worker_id_alone_cannot_report_a_workunit(site: Site) -> None:
    job_id, wuid, marker = site.running()
    for who in (ANON, B, GROUP):
        status, body, _ = site.call("PUT", f"/work/{wuid}?status=done&client={site.worker_id}",
                                    who, fields={"stdout": ("s.txt", b"forged")})  # fmt: skip
        assert status == 401, (who, body)
    assert site.state(job_id) == "in-progress"
    site.finish(job_id, marker)
    assert site.call("GET", f"/work/{wuid}?report=stdout", A)[1]["data"] != "forged"


def test_a_heartbeat_without_the_secret_does_not_take_the_workers_discard_orders(
    site: Site,
) -> None:
    job_id, wuid, _ = site.running()
    assert site.call("PUT", f"/job/{job_id}?suspend", A)[0] == 200  # the worker must drop it
    status, body, _ = site.call("GET", f"/client/{site.worker_id}?heartbeat", GROUP)
    assert status == 401 and "discard" not in json.dumps(body), body
    site.worker.wait_log(rf"server discards {wuid}", timeout=15)
    site.worker.wait_log(rf"reported {wuid} discarded", timeout=15)
    assert site.call("DELETE", f"/job/{job_id}", A)[0] == 200


def test_registering_with_the_victims_id_neither_replaces_it_nor_takes_its_work(
    site: Site,
) -> None:
    job_id, wuid, marker = site.running()
    profile = {"id": site.worker_id, "name": "evil", "group": "secure",
               "current_work": {wuid: True}}  # fmt: skip
    upload = {"profile": ("clientprofile.json", json.dumps(profile).encode())}
    for who in (ANON, B, GROUP):
        status, body, _ = site.call("POST", "/client", who, fields=upload)
        assert status in (400, 401) and body["data"] is None, (who, body)
    record = site.call("GET", f"/client/{site.worker_id}", B)[1]["data"]
    assert record["name"] == site.worker.name and wuid in record["current_work"]
    site.finish(job_id, marker)


def test_nobody_without_a_clientgroup_token_registers_a_worker(site: Site) -> None:
    profile = {"name": "rogue", "group": "default", "apps": ["*"]}
    upload = {"profile": ("clientprofile.json", json.dumps(profile).encode())}
    for who in (ANON, B, ROOT):
        status, body, _ = site.call("POST", "/client", who, fields=upload)
        assert (status, body["error"]) == (401, ["No Authorization"]), who
    names = [c["name"] for c in site.call("GET", "/client", ROOT)[1]["data"]]
    assert "rogue" not in names


def test_another_user_reads_neither_the_workunits_nor_the_reports_of_a_job(site: Site) -> None:
    job_id, wuid, marker = site.running()
    assert wuid in [w["wuid"] for w in site.call("GET", "/work", A)[1]["data"]]
    assert wuid not in [w["wuid"] for w in site.call("GET", "/work", B)[1]["data"]]
    assert site.call("GET", f"/work/{wuid}", B)[0] == 401
    site.finish(job_id, marker)
    status, body, _ = site.call("GET", f"/work/{wuid}?report=stdout", B)
    assert (status, body["data"]) == (401, None)
    assert site.call("GET", f"/work/{wuid}?report=stdout", A)[1]["data"].startswith("A-STDOUT")


def test_bulk_job_operations_of_another_user_leave_the_job_alone(site: Site) -> None:
    job_id, _, _ = site.submit(group="nobody")
    assert site.call("PUT", f"/job/{job_id}?suspend", A)[0] == 200
    assert site.call("PUT", "/job?resumeall", B)[1]["data"] == "0 suspended jobs resumed"
    assert site.call("DELETE", "/job?suspend", B)[1]["data"] == "deleted 0 suspended jobs"
    assert site.state(job_id) == "suspend"
    assert site.call("PUT", "/job?resumeall", A)[0] == 200  # its owner can
    assert site.state(job_id) == "queued"


def test_a_user_who_is_not_an_admin_cannot_suspend_or_delete_workers(site: Site) -> None:
    for method, path in (("PUT", "/client?suspendall"), ("DELETE", f"/client/{site.worker_id}"),
                         ("PUT", f"/client/{site.worker_id}?suspend")):  # fmt: skip
        status, body, _ = site.call(method, path, B)
        assert (status, body["error"]) == (401, ["User Unauthorized"]), path
    record = site.call("GET", f"/client/{site.worker_id}", B)[1]["data"]
    assert record["Status"].startswith("active")
    job_id, _, marker = site.running()  # and it still works
    site.finish(job_id, marker)


def test_a_web_page_of_another_site_cannot_submit_a_job_to_a_default_install(tmp_path) -> None:
    server = ServerProcess(tmp_path / "default").start()
    http = urllib3.PoolManager(retries=False)
    job = json.dumps({"info": {"name": "x"}, "tasks": [{"taskid": "0", "cmd": {"name": "id"}}]})
    upload = {"upload": ("job.json", job.encode())}
    try:
        evil = http.request("POST", f"{server.url}/job", fields=upload,
                            headers={"Origin": "http://evil.example"})  # fmt: skip
        assert evil.status == 403 and "Access-Control-Allow-Origin" not in evil.headers
        assert json.loads(evil.data)["error"][0].startswith("cross-origin request")
        listed = http.request("GET", f"{server.url}/job", headers={"Origin": "http://evil.example"})
        assert json.loads(listed.data)["total_count"] == 0
        assert "Access-Control-Allow-Origin" not in listed.headers
        rebound = http.request("POST", f"{server.url}/job", fields=upload,
                               headers={"Host": f"evil.example:{server.port}"})  # fmt: skip
        assert rebound.status == 403  # DNS rebinding: another name for 127.0.0.1
        own = http.request("POST", f"{server.url}/job", fields=upload,
                           headers={"Origin": server.url})  # the page at /ui/  # fmt: skip
        assert own.status == 200
        assert http.request("POST", f"{server.url}/job", fields=upload).status == 200  # curl
    finally:
        server.stop()
