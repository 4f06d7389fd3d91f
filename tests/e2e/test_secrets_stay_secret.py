"""Issue 10 item 6: tokens, data tokens, private environments and worker secrets are used, and
then found nowhere: not in the server's whole log (debug level), the worker's log, any listing,
any error, the event stream or /metrics."""

from __future__ import annotations

import hashlib
import http.client
import json
import time
from pathlib import Path

import urllib3

from awe.model.workerauth import SECRET_HEADER, derive_secret
from tests.e2e.serverproc import ServerProcess, console_script
from tests.worker.workerproc import AweApi, WorkerProcess, py_task

PLANTED = {
    "user token": "tok-PLANTED-ana-7f3a",
    "admin token": "tok-PLANTED-root-91c2",
    "CG token": "cg-PLANTED-secure-5d0e",
    "data token": "dt-PLANTED-data-44b1",
    "private env": "pe-PLANTED-env-a8e9",
    "wrong secret": "ws-PLANTED-wrong-0c6d",
}
CONFIG = {
    "anonymous": {"read": False, "write": False, "delete": False},
    "auth": {"tokens": {PLANTED["user token"]: "ana", PLANTED["admin token"]: "root"},
             "admin_users": ["root"], "clientgroup_tokens": {"secure": PLANTED["CG token"]}},
    "queue": {"max_work_failure": 1},  # one failure suspends the job
}  # fmt: skip
ANA = {"Authorization": f"Bearer {PLANTED['user token']}"}
ROOT = {"Authorization": f"Bearer {PLANTED['admin token']}"}
# uses its private env (exit 0 only if it arrived) without ever printing it; a second task fails
CHECK_ENV = (
    'import hashlib, os, sys; pe = os.environ.get("PE", "").encode(); '
    "sys.exit(0 if hashlib.sha256(pe).hexdigest() == sys.argv[1] else 3)"
)
FAIL = 'import sys; print("failing on purpose", file=sys.stderr); sys.exit(1)'


def job_script() -> dict:
    uses = py_task("0", CHECK_ENV, hashlib.sha256(PLANTED["private env"].encode()).hexdigest())
    uses["cmd"]["environ"] = {"private": {"PE": PLANTED["private env"]}}
    fails = py_task("1", FAIL, dependsOn=["0"])
    return {"info": {"name": "secrets", "pipeline": "sec", "clientgroups": "secure"},
            "tasks": [uses, fails]}  # fmt: skip


def stream_until(url: str, path: str, headers: dict[str, str], needle: str,
                 timeout: float = 15) -> str:  # fmt: skip
    """The event stream from its start (Last-Event-ID: 0) up to `needle`."""
    host, port = url.removeprefix("http://").split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=timeout)
    conn.request("GET", path, headers={**headers, "Last-Event-ID": "0"})
    response, seen, deadline = conn.getresponse(), "", time.monotonic() + timeout
    while needle not in seen and time.monotonic() < deadline:
        seen += response.readline().decode()
    conn.close()
    assert needle in seen, seen[-2000:]
    return seen


def test_planted_secrets_appear_in_no_log_listing_error_event_or_metric(tmp_path: Path) -> None:
    command = [*console_script("awe-server"), "--log-level", "debug"]
    server = ServerProcess(tmp_path / "server", CONFIG, command=command).start()
    worker = None
    seen: list[str] = []  # every answer read, headers and body
    http = urllib3.PoolManager(retries=False)

    def get(path: str, headers: dict[str, str], method: str = "GET", **kw: object) -> str:
        response = http.request(method, server.url + path, headers=headers, **kw)
        text = f"{response.status} {dict(response.headers)} {response.data.decode()}"
        seen.append(text)  # the answer only: the request itself may carry what it sends
        return response.data.decode()

    try:
        worker = WorkerProcess(server.url, tmp_path, "w1", group="secure",
                               clientgroup_token=PLANTED["CG token"]).start()  # fmt: skip
        upload = {"upload": ("job.json", json.dumps(job_script()).encode())}
        job = json.loads(get("/job", {**ANA, "Datatoken": PLANTED["data token"]}, "POST",
                             fields=upload))["data"]  # fmt: skip
        api = AweApi(server.url)
        api.http = urllib3.PoolManager(headers=ANA, retries=False)
        api.wait_state(job["id"], "suspend")  # task 0 ran with its env, task 1 failed
        assert api.job(job["id"])["tasks"][0]["state"] == "completed"
        clients = json.loads(get("/client", ROOT))["data"]
        worker_id = next(c["id"] for c in clients if c["name"] == "w1")
        key = bytes.fromhex((tmp_path / "server" / "client-secret.key").read_text())
        PLANTED["worker secret"] = derive_secret(key, worker_id)
        answer = http.request("POST", f"{server.url}/events/ticket", headers=ANA)
        ticket = json.loads(answer.data)["data"]["ticket"]  # its own answer: the one place
        PLANTED["stream ticket"] = ticket
        # every listing and view, as the owner and as an admin
        for who in (ANA, ROOT):
            for path in ("/job", f"/job/{job['id']}", f"/job/{job['id']}?history",
                         f"/job/{job['id']}?perf", "/work", "/work?query", "/client",
                         f"/client/{worker_id}", "/queue", "/queue?json", "/metrics", "/whoami",
                         "/job?query&info.name=secrets", "/job?distinct=pipeline",
                         f"/work/{job['id']}_0_0", f"/work/{job['id']}_1_0",
                         f"/work/{job['id']}_1_0?report=stderr",
                         f"/work/{job['id']}_1_0?report=worknotes", "/openapi.json"):  # fmt: skip
                get(path, who)
        seen.append(stream_until(server.url, "/events", ANA, '"new":"suspend"'))
        seen.append(stream_until(server.url, f"/events?ticket={ticket}", {}, '"new":"suspend"'))
        # errors where a secret was sent wrong or where it is looked for
        for path, headers in (
            ("/job", {"Authorization": f"Bearer {PLANTED['wrong secret']}"}),
            (f"/client/{worker_id}?heartbeat", {"Authorization": f"CG_TOKEN {PLANTED['wrong secret']}"}),
            (f"/client/{worker_id}?heartbeat", {"Authorization": f"CG_TOKEN {PLANTED['CG token']}",
                                               SECRET_HEADER: PLANTED["wrong secret"]}),
            (f"/work/{job['id']}_0_0?datatoken&client={worker_id}", ANA),
            (f"/job?query&info.datatoken={PLANTED['data token']}", ANA),
            (f"/events?ticket={ticket}x", {}),
        ):  # fmt: skip
            get(path, headers)
        bad_env = py_task("0", "pass")
        bad_env["cmd"]["environ"] = {"private": {"PE": {"nested": PLANTED["private env"]}}}
        bad = {"upload": ("job.json", json.dumps({"tasks": [bad_env]}).encode())}
        assert "must be a string" in get("/job", ANA, "POST", fields=bad)
    finally:
        if worker is not None:
            worker.stop()
        server.stop()
    logs = {"server log": "\n".join(server.log_lines), "worker log": worker.log if worker else ""}
    assert "DEBUG" in logs["server log"] and "datatoken&client" in logs["server log"]
    for name, text in {**logs, **{f"answer {i}": a for i, a in enumerate(seen)}}.items():
        for what, secret in PLANTED.items():
            assert secret not in text, (
                f"the {what} is in the {name}: ...{text[text.find(secret) - 200 :][:400]}"
            )
