"""An AWE v0.9 worker, byte for byte as it talks (spec 14), served by the real awe-server.

Chunked multipart bodies with no Content-Length, `Connection: close` on every request, the
profile with null maps and an empty Status, report parts named like the Go worker's files.
"""

from __future__ import annotations

import http.client
import json
from collections.abc import Iterator
from urllib.parse import urlparse

import urllib3

from tests.e2e.serverproc import ServerProcess


class GoWorker:
    """What AWE's Go client sends, and only what it reads back: the envelope."""

    def __init__(self, base: str, token: str = "") -> None:
        url = urlparse(base)
        self.host, self.port = url.hostname, url.port
        self.id = ""
        # AWE v0.9's `clientgroup_token` setting: the only credential such a worker can send
        self.auth = {"Authorization": f"CG_TOKEN {token}"} if token else {}

    def request(self, method: str, path: str, parts: dict[str, tuple[str, bytes]] | None = None):
        conn = http.client.HTTPConnection(self.host, self.port, timeout=30)
        headers = {"Connection": "close", "User-Agent": "Go-http-client/1.1", **self.auth}
        body: Iterator[bytes] | None = None
        if parts is not None:
            payload, content_type = urllib3.encode_multipart_formdata(parts)
            headers["Content-Type"] = content_type
            headers["Transfer-Encoding"] = "chunked"
            body = (payload[i : i + 1000] for i in range(0, len(payload), 1000))
        conn.request(method, path, body=body, headers=headers, encode_chunked=body is not None)
        response = conn.getresponse()
        envelope = json.loads(response.read())
        conn.close()
        return envelope

    def register(self) -> dict:
        profile = {
            "id": "", "name": "go-node", "group": "default", "user": "", "domain": "default",
            "instance_id": "", "instance_type": "", "host": "10.0.0.7", "cores": 8,
            "apps": ["*"], "regtime": "0001-01-01T00:00:00Z", "serve_time": "", "idle_time": 0,
            "Status": "", "total_checkout": 0, "total_completed": 0, "total_failed": 0,
            "current_work": None, "skip_work": None, "proxy": False, "subclients": 0,
            "version": "0.9.24", "git_commit_hash": "",
        }  # fmt: skip
        answer = self.request(
            "POST", "/client", {"profile": ("clientprofile.json", json.dumps(profile).encode())}
        )
        self.id = answer["data"]["id"]
        return answer


def test_a_v09_worker_registers_checks_out_reports_and_reads_instructions(tmp_path) -> None:
    server = ServerProcess(tmp_path / "srv").start()
    try:
        go = GoWorker(server.url)
        registered = go.register()
        assert registered["error"] is None
        assert registered["data"]["current_work"] == {}  # a null here crashes the Go worker
        assert registered["data"]["Status"] == "active-idle"
        assert go.request("GET", f"/client/{go.id}?heartbeat")["data"] == {}
        idle = go.request("GET", f"/work?client={go.id}&available=52428800000")
        assert idle["error"] == ["No eligible workunit found"]

        script = {"info": {"name": "v09", "project": "wire"},
                  "tasks": [{"taskid": "0", "cmd": {"name": "echo", "args": "hi"}}]}  # fmt: skip
        job = go.request("POST", "/job", {"upload": ("job.json", json.dumps(script).encode())})[
            "data"
        ]
        work = go.request("GET", f"/work?client={go.id}&available=52428800000")["data"]
        assert len(work["wuid"]) >= 6 and work["info"] is not None
        assert work["cmd"]["name"] == "echo" and work["cmd"]["args"] == "hi"
        assert work["info"]["auth"] is False and work["cmd"]["has_private_env"] is False
        assert work["inputs"] == [] and work["outputs"] == [] and work["predata"] == []

        perf = {"id": work["wuid"], "checkout": 1, "deliver": 3, "runtime": 2}
        parts = {
            "perf": (f"{work['wuid']}.perf", json.dumps(perf).encode()),
            "stdout": ("awe_stdout.txt", b"hi\n"),
            "stderr": ("awe_stderr.txt", b""),
            "worknotes": ("awe_worknotes.txt", b"###[run]ok\n"),
        }
        path = f"/work/{work['wuid']}?status=done&client={go.id}&computetime=2&report"
        assert go.request("PUT", path, parts)["data"] == "ok"
        assert go.request("GET", f"/work/{work['wuid']}?report=stdout")["data"] == "hi\n"
        assert go.request("GET", f"/work/{work['wuid']}?report=worknotes")["data"] == "###[run]ok\n"
        done = go.request("GET", f"/job/{job['id']}")["data"]
        assert done["state"] == "completed"
        assert done["tasks"][0]["computetime"] == 2
        perf_doc = go.request("GET", f"/job/{job['id']}?perf")["data"]
        assert perf_doc["work_stats"][work["wuid"]]["runtime"] == 2

        # after a restart the server no longer knows the worker: it says so, and the worker
        # re-registers with its whole record, same id
        server.restart()
        assert go.request("GET", f"/client/{go.id}?heartbeat")["error"] == ["Client not found"]
        again = go.request("POST", "/client", {"profile": ("clientprofile.json", json.dumps(
            {**registered["data"], "current_work": {}}).encode())})  # fmt: skip
        assert again["data"]["id"] == go.id
        go.request("DELETE", f"/client/{go.id}")
        assert go.request("GET", f"/client/{go.id}?heartbeat")["data"] == {"stop": go.id}
    finally:
        server.stop()


LEGACY = {
    "anonymous": {"read": False, "write": False, "delete": False},
    "auth": {"tokens": {"t-ana": "ana"}, "clientgroup_tokens": {"default": "cg-v09"},
             "legacy_clients": True},
}  # fmt: skip


def test_with_auth_on_a_v09_worker_runs_only_behind_legacy_clients(tmp_path) -> None:
    """It cannot show a secret: refused once auth is on, served with `auth.legacy_clients`."""
    strict = {**LEGACY, "auth": {**LEGACY["auth"], "legacy_clients": False}}
    server = ServerProcess(tmp_path / "strict", strict).start()
    try:
        refused = GoWorker(server.url, "cg-v09").request(
            "POST", "/client", {"profile": ("clientprofile.json", b'{"group": "default"}')}
        )
        assert refused["error"] == ["Client secret missing or wrong"]
    finally:
        server.stop()
    server = ServerProcess(tmp_path / "legacy", LEGACY).start()
    try:
        go = GoWorker(server.url, "cg-v09")
        assert go.register()["error"] is None
        ana = {"Authorization": "Bearer t-ana", "Datatoken": "ana-data-token"}
        script = {"info": {"name": "v09", "pipeline": "p"},
                  "tasks": [{"taskid": "0", "cmd": {"name": "echo", "args": "hi"}}]}  # fmt: skip
        upload = urllib3.encode_multipart_formdata(
            {"upload": ("job.json", json.dumps(script).encode())}
        )
        submitted = urllib3.request("POST", f"{server.url}/job", body=upload[0],
                                    headers={**ana, "Content-Type": upload[1]}).json()  # fmt: skip
        work = go.request("GET", f"/work?client={go.id}&available=52428800000")["data"]
        assert work["info"]["auth"] is True
        conn = http.client.HTTPConnection(go.host, go.port, timeout=30)
        conn.request("GET", f"/work/{work['wuid']}?datatoken&client={go.id}", headers=go.auth)
        assert conn.getresponse().headers["Datatoken"] == "ana-data-token"
        conn.close()
        path = f"/work/{work['wuid']}?status=done&client={go.id}&computetime=1&report"
        assert go.request("PUT", path, {"stdout": ("awe_stdout.txt", b"hi\n")})["data"] == "ok"
        done = urllib3.request("GET", f"{server.url}/job/{submitted['data']['id']}",
                               headers=ana).json()  # fmt: skip
        assert done["data"]["state"] == "completed"
        # the CG token is that worker's credential: without it, its id is not enough
        stranger = GoWorker(server.url)
        stranger.id = go.id
        assert stranger.request("GET", f"/client/{go.id}?heartbeat")["error"] == [
            "No Authorization"
        ]
    finally:
        server.stop()
