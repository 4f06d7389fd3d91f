"""A real server in the multi-user setup of `awe.model.rightsgrid`, and one request per right.

`World.exercise(right, identity)` sends the request that right describes, as that caller, and
says `allowed` or the status and message the server answered; where a right acts only on the
caller's own jobs, or only for the lease holder, it also checks that nothing else changed.
"""

from __future__ import annotations

import http.client
import json
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import urllib3

from awe.errors import NO_WORK
from awe.model.rights import Right
from awe.model.rightsgrid import ALLOWED, MULTI_USER, Identity, names_client
from awe.model.workerauth import ASK_FOR_SECRET, SECRET_HEADER, Proof
from tests.e2e.serverproc import ServerProcess

TOKENS = {"A": "t-user-a", "B": "t-user-b", "admin": "t-admin"}
CONFIG = {
    "anonymous": {"read": False, "write": False, "delete": False},
    "auth": {
        "tokens": {token: user for user, token in TOKENS.items()},
        "admin_users": sorted(MULTI_USER.admins),
        "clientgroup_tokens": dict(MULTI_USER.clientgroup_tokens),
    },
    "queue": {"max_client_failure": 0},
}
A = {"Authorization": f"Bearer {TOKENS['A']}"}
ADMIN = {"Authorization": f"Bearer {TOKENS['admin']}"}


def script(group: str, name: str = "m") -> bytes:
    """A one-task job for clientgroup `group` (`nobody`: no worker will ever take it), whose
    output `out.txt` goes to the server's datastore."""
    task = {
        "taskid": "0",
        "cmd": {"name": "true", "args": ""},
        "outputs": [{"filename": "out.txt"}],
    }
    return json.dumps({"info": {"name": name, "pipeline": "matrix", "clientgroups": group},
                       "tasks": [task]}).encode()  # fmt: skip


class World:
    """The server, its clients W and O, and jobs of user A."""

    def __init__(self, root: Path) -> None:
        self.server = ServerProcess(root / "server", CONFIG).start()
        self.http = urllib3.PoolManager(retries=False, timeout=urllib3.Timeout(total=30))
        self.ids: dict[str, str] = {}
        self.secrets: dict[str, str] = {}
        for name, group in (("W", "secure"), ("O", "other")):
            record, secret = self.register(group, self.cg(group), ASK_FOR_SECRET)
            self.ids[name], self.secrets[name] = record["id"], secret
        self.ids["X"] = str(uuid.uuid4())  # never registered
        self.a_job = self.submit("nobody")

    def stop(self) -> None:
        self.server.stop()

    # ---- plumbing ---------------------------------------------------------------------------

    def request(self, method: str, path: str, headers: dict[str, str] | None = None,
                **kw: Any) -> urllib3.BaseHTTPResponse:  # fmt: skip
        return self.http.request(method, self.server.url + path, headers=headers or {}, **kw)

    def envelope(self, method: str, path: str, headers: dict[str, str] | None = None,
                 **kw: Any) -> tuple[int, dict[str, Any], Any]:  # fmt: skip
        response = self.request(method, path, headers, **kw)
        return response.status, json.loads(response.data), response.headers

    def cg(self, group: str) -> dict[str, str]:
        token = MULTI_USER.clientgroup_tokens.get(group, "wrong-token" if group else "")
        return {"Authorization": f"CG_TOKEN {token}"} if group else {}

    def register(self, group: str, headers: dict[str, str], shown: str = "",
                 client_id: str = "") -> tuple[dict[str, Any], str]:  # fmt: skip
        profile = {
            "name": "m",
            "group": group,
            "apps": ["*"],
            **({"id": client_id} if client_id else {}),
        }
        upload = {"profile": ("clientprofile.json", json.dumps(profile).encode())}
        headers = {**headers, **({SECRET_HEADER: shown} if shown else {})}
        status, body, answer_headers = self.envelope("POST", "/client", headers, fields=upload)
        assert status == 200, body
        return body["data"], answer_headers.get(SECRET_HEADER, "")

    def submit(self, group: str, datatoken: str = "") -> str:
        headers = {**A, **({"Datatoken": datatoken} if datatoken else {})}
        status, body, _ = self.envelope("POST", "/job", headers,
                                        fields={"upload": ("job.json", script(group))})  # fmt: skip
        assert status == 200, body
        return body["data"]["id"]

    def job_state(self, job_id: str) -> str:
        return self.envelope("GET", f"/job/{job_id}", ADMIN)[1]["data"]["state"]

    def worker_headers(self, name: str) -> dict[str, str]:
        return {**self.cg("secure" if name == "W" else "other"), SECRET_HEADER: self.secrets[name]}

    def lease(self) -> str:
        """A workunit of A's (with a data token) that W holds now."""
        self.submit("secure", datatoken="matrix-data-token")
        status, body, _ = self.envelope("GET", f"/work?client={self.ids['W']}&wait=10",
                                        self.worker_headers("W"))  # fmt: skip
        assert status == 200, body
        return body["data"]["wuid"]

    def a_suspended_job(self) -> str:
        job_id = self.submit("nobody")
        assert self.envelope("PUT", f"/job/{job_id}?suspend", A)[0] == 200
        return job_id

    # ---- as whom ----------------------------------------------------------------------------

    def as_(self, identity: Identity, right: Right) -> tuple[dict[str, str], str]:
        """The headers this caller sends, and the client id it names (if it names one)."""
        headers: dict[str, str] = {}
        if identity.user != "public":
            headers["Authorization"] = f"Bearer {TOKENS[identity.user]}"
        if identity.group:
            headers.update(self.cg(identity.group))
        if identity.proof == Proof.VALID:
            headers[SECRET_HEADER] = self.secrets[identity.client]
        return headers, self.ids[identity.client] if names_client(right, identity) else ""

    # ---- one request per right -------------------------------------------------------------

    def exercise(self, right: Right, identity: Identity) -> str:
        headers, client = self.as_(identity, right)
        step: Callable[..., str] = getattr(self, "do_" + right.key.replace(".", "_"))
        return step(identity, headers, client)

    def answer(self, method: str, path: str, headers: dict[str, str], allowed_errors: tuple = (),
               **kw: Any) -> str:  # fmt: skip
        """`allowed` for a 2xx (or an error that means the rights were granted), else the error."""
        return self.outcome(self.request(method, path, headers, **kw), allowed_errors)

    def outcome(self, response: urllib3.BaseHTTPResponse, allowed_errors: tuple = ()) -> str:
        assert response.status < 500, (response.status, response.data[:300])
        if response.status < 300:
            return ALLOWED
        body = json.loads(response.data)
        if body["error"][0] in allowed_errors:
            return ALLOWED
        return f"{response.status} {body['error'][0]}"

    def scoped(self, outcome: str, changed: bool, should_change: bool, what: str) -> str:
        if outcome == ALLOWED and changed != should_change:
            return f"{ALLOWED}, but {what} {'changed' if changed else 'did not change'}"
        return outcome

    def do_root(self, _: Identity, headers: dict, __: str) -> str:
        response = self.request("GET", "/", headers)
        return ALLOWED if response.status == 200 and json.loads(response.data)["id"] == "AWE" \
            else f"{response.status}"  # fmt: skip

    def do_cors(self, _: Identity, headers: dict, __: str) -> str:
        return self.answer("OPTIONS", "/job", headers)

    def do_job_submit(self, _: Identity, headers: dict, __: str) -> str:
        return self.answer("POST", "/job", headers, fields={"upload": ("j.json", script("nobody"))})

    def do_job_list(self, identity: Identity, headers: dict, _: str) -> str:
        response = self.request("GET", f"/job?query&id={self.a_job}", headers)
        outcome = self.outcome(response)
        if outcome != ALLOWED:
            return outcome
        seen = [job["id"] for job in json.loads(response.data)["data"]]
        return self.scoped(outcome, seen == [self.a_job], identity.user in ("A", "admin"),
                           "the listing of A's job")  # fmt: skip

    def do_job_resumeall(self, identity: Identity, headers: dict, _: str) -> str:
        job_id = self.a_suspended_job()
        outcome = self.answer("PUT", "/job?resumeall", headers)
        resumed = self.job_state(job_id) != "suspend"
        return self.scoped(outcome, resumed, identity.user in ("A", "admin"), "A's job")

    def do_job_delete_many(self, identity: Identity, headers: dict, _: str) -> str:
        job_id = self.a_suspended_job()
        outcome = self.answer("DELETE", "/job?suspend", headers)
        deleted = self.job_state(job_id) == "deleted"
        return self.scoped(outcome, deleted, identity.user in ("A", "admin"), "A's job")

    def do_job_show(self, _: Identity, headers: dict, __: str) -> str:
        return self.answer("GET", f"/job/{self.a_job}?history", headers)

    def do_job_operate(self, _: Identity, headers: dict, __: str) -> str:
        return self.answer("PUT", f"/job/{self.submit('nobody')}?suspend", headers)

    def do_job_delete(self, _: Identity, headers: dict, __: str) -> str:
        return self.answer("DELETE", f"/job/{self.submit('nobody')}", headers)

    def do_work_list(self, identity: Identity, headers: dict, _: str) -> str:
        wuid = self.lease()
        response = self.request("GET", "/work", headers)
        outcome = self.outcome(response)
        if outcome != ALLOWED:
            return outcome
        listed = wuid in [unit["wuid"] for unit in json.loads(response.data)["data"]]
        return self.scoped(outcome, listed, identity.user in ("A", "admin"), "listing A's work")

    def do_work_checkout(self, _: Identity, headers: dict, client: str) -> str:
        self.submit("secure")
        return self.answer("GET", f"/work?client={client}", headers, allowed_errors=(NO_WORK,))

    def _unit_path(self, client: str, query: str = "") -> tuple[str, str]:
        wuid = self.lease()
        params = "&".join(p for p in (query, f"client={client}" if client else "") if p)
        return wuid, f"/work/{wuid}" + (f"?{params}" if params else "")

    def do_work_show(self, _: Identity, headers: dict, client: str) -> str:
        return self.answer("GET", self._unit_path(client)[1], headers)

    def do_work_report_file(self, _: Identity, headers: dict, client: str) -> str:
        # nothing reported yet: "not found" comes only after the rights were granted
        path = self._unit_path(client, "report=stdout")[1]
        return self.answer("GET", path, headers, allowed_errors=("log type 'stdout' not found",))

    def do_work_secret(self, _: Identity, headers: dict, client: str) -> str:
        response = self.request("GET", self._unit_path(client, "datatoken")[1], headers)
        if response.status == 200:
            got = response.headers.get("Datatoken")
            return ALLOWED if got == "matrix-data-token" else f"200 without the token: {got!r}"
        return f"{response.status} {json.loads(response.data)['error'][0]}"

    def do_work_report(self, identity: Identity, headers: dict, client: str) -> str:
        wuid, path = self._unit_path(client, "status=done")
        outcome = self.answer("PUT", path, headers)
        done = self.job_state(wuid.rsplit("_", 2)[0]) == "completed"
        return self.scoped(outcome, done, identity.client == "W", "the workunit")

    def do_client_register(self, identity: Identity, headers: dict, _: str) -> str:
        group = identity.group if identity.group in ("secure", "other") else "secure"
        profile = {"name": "new", "group": group, "apps": ["*"]}
        upload = {"profile": ("clientprofile.json", json.dumps(profile).encode())}
        return self.answer("POST", "/client", {**headers, SECRET_HEADER: ASK_FOR_SECRET},
                           fields=upload)  # fmt: skip

    def do_client_reregister(self, identity: Identity, headers: dict, _: str) -> str:
        claimed = self.ids["X"] if identity.client == "X" else self.ids["W"]
        group = "other" if identity.client == "O" else "secure"
        profile = {"id": claimed, "name": "again", "group": group, "apps": ["*"]}
        upload = {"profile": ("clientprofile.json", json.dumps(profile).encode())}
        outcome = self.answer("POST", "/client", headers, fields=upload)
        record = self.envelope("GET", f"/client/{self.ids['W']}", ADMIN)[1]["data"]
        replaced = record["name"] != "m" or record["group"] != "secure"
        if replaced:  # put W back as it was, for the cells that follow
            self.register("secure", self.worker_headers("W"), self.secrets["W"], self.ids["W"])
        return self.scoped(outcome, replaced, identity.client == "W", "W's record")

    def do_client_list(self, _: Identity, headers: dict, __: str) -> str:
        return self.answer("GET", "/client", headers)

    def do_client_control_all(self, _: Identity, headers: dict, __: str) -> str:
        return self.answer("PUT", "/client?resumeall", headers)

    def do_client_show(self, _: Identity, headers: dict, __: str) -> str:
        return self.answer("GET", f"/client/{self.ids['W']}", headers)

    def do_client_heartbeat(self, _: Identity, headers: dict, client: str) -> str:
        return self.answer("GET", f"/client/{client}?heartbeat", headers)

    def _victim(self) -> str:
        return self.register("secure", self.cg("secure"), ASK_FOR_SECRET)[0]["id"]

    def do_client_control(self, _: Identity, headers: dict, __: str) -> str:
        return self.answer("PUT", f"/client/{self._victim()}?suspend", headers)

    def do_client_delete(self, _: Identity, headers: dict, __: str) -> str:
        return self.answer("DELETE", f"/client/{self._victim()}", headers)

    def do_queue_show(self, _: Identity, headers: dict, __: str) -> str:
        return self.answer("GET", "/queue?json", headers)

    def do_queue_control(self, _: Identity, headers: dict, __: str) -> str:
        return self.answer("PUT", "/queue?resume", headers)

    def do_metrics(self, _: Identity, headers: dict, __: str) -> str:
        return self.answer("GET", "/metrics", headers)

    def do_events_stream(self, _: Identity, headers: dict, __: str) -> str:
        conn = http.client.HTTPConnection("127.0.0.1", self.server.port, timeout=30)
        try:  # a stream does not end: read its head, then hang up
            conn.request("GET", "/events", headers=headers)
            response = conn.getresponse()
            if response.status == 200:
                kind = response.headers.get("Content-Type", "")
                return ALLOWED if kind.startswith("text/event-stream") else kind
            return f"{response.status} {json.loads(response.read())['error'][0]}"
        finally:
            conn.close()

    def do_events_ticket(self, _: Identity, headers: dict, __: str) -> str:
        return self.answer("POST", "/events/ticket", headers)

    def do_data_root(self, _: Identity, headers: dict, __: str) -> str:
        return self.answer("GET", "/data", headers)

    def _data_path(self, client: str, stored: bool, rest: str = "/0/out.txt") -> str:
        """A path under /data of a job whose workunit W holds (its output stored if `stored`)."""
        wuid = self.lease()
        job_id = wuid.rsplit("_", 2)[0]
        if stored:
            response = self.request("PUT", f"/data/{job_id}/0/out.txt?client={self.ids['W']}",
                                    self.worker_headers("W"), body=b"made by W\n")  # fmt: skip
            assert response.status == 200, response.data
        return f"/data/{job_id}{rest}" + (f"?client={client}" if client else "")

    def do_data_list(self, _: Identity, headers: dict, client: str) -> str:
        return self.answer("GET", self._data_path(client, False, rest=""), headers)

    def do_data_read(self, _: Identity, headers: dict, client: str) -> str:
        response = self.request("GET", self._data_path(client, True), headers)
        if response.status == 200:
            return ALLOWED if response.data == b"made by W\n" else f"200 {response.data[:40]!r}"
        return self.outcome(response)

    def do_data_write(self, identity: Identity, headers: dict, client: str) -> str:
        path = self._data_path(client, False) + "&rank=0"
        outcome = self.answer("PUT", path, headers, body=b"written\n")
        stored = self.request("GET", path.split("?")[0], ADMIN).status == 200
        return self.scoped(outcome, stored, identity.client == "W", "the job's output file")

    def do_whoami(self, _: Identity, headers: dict, __: str) -> str:
        return self.answer("GET", "/whoami", headers)

    def do_ui(self, _: Identity, headers: dict, __: str) -> str:
        response = self.request("GET", "/ui/", headers)
        return ALLOWED if response.status == 200 and b"<html" in response.data.lower() \
            else f"{response.status}"  # fmt: skip

    def do_openapi(self, _: Identity, headers: dict, __: str) -> str:
        return self.answer("GET", "/openapi.json", headers)
