"""An in-process awe server for HTTP tests: real actors, real embedded store, real HTTP."""

from __future__ import annotations

import asyncio
import json
import shutil
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from unittest import mock

import mongomock
import urllib3
from tornado.testing import AsyncHTTPTestCase

from awe.actors.base import ask_sync, new_reply
from awe.actors.messages import Flush, Sweep
from awe.config import ServerConfig, from_mapping
from awe.http.app import make_app, make_http_server
from awe.model.times import format_time
from awe.model.workerauth import ASK_FOR_SECRET, SECRET_HEADER
from awe.server import AweServer
from awe.store.base import Store
from awe.store.embedded import EmbeddedStore
from awe.store.mongo import MongoStore
from tests.mongo_double import sort_patches


def multipart(fields: dict[str, bytes | str]) -> tuple[bytes, str]:
    """Encode file parts the way AWE clients send them (urllib3 does the encoding)."""
    parts = {
        name: (f"{name}.txt", value.encode() if isinstance(value, str) else value)
        for name, value in fields.items()
    }
    return urllib3.encode_multipart_formdata(parts)


def later(seconds: float) -> str:
    """A time `seconds` from now, to run a sweep as if that time had come."""
    return format_time(datetime.now(UTC) + timedelta(seconds=seconds))


class AweTestCase(AsyncHTTPTestCase):
    """Each test gets a fresh server (actors + a store in a temp dir) on a real socket.

    `backend = "mongomock"` runs the same test on the pymongo store over mongomock.
    """

    config_overrides: dict[str, Any] = {}
    backend = "embedded"

    def setUp(self) -> None:
        self.tmp = Path(tempfile.mkdtemp(prefix="awe-test-"))
        self.config = self.make_config()
        self._mongo_client = None
        if self.backend == "mongomock":
            for name, wrapper in sort_patches().items():
                patcher = mock.patch.object(
                    mongomock.collection.BulkOperationBuilder, name, wrapper
                )
                patcher.start()
                self.addCleanup(patcher.stop)
            self._mongo_client = mongomock.MongoClient()
        self.store = self.open_store()
        self.deaths: list[str] = []  # what the supervisor would have exited the process for
        self.server = AweServer(self.config, self.store, fatal=self.deaths.append)
        self.server.recover()
        self.secrets: dict[str, str] = {}  # client id -> its secret (awe.model.workerauth)
        self.groups: dict[str, str] = {}  # client id -> its clientgroup
        super().setUp()

    def open_store(self) -> Store:
        if self._mongo_client is not None:
            return MongoStore("mongodb://mongomock", client=self._mongo_client)
        return EmbeddedStore(self.config.embedded_path, "normal")

    def make_config(self) -> ServerConfig:
        overrides = json.loads(json.dumps(self.config_overrides))
        overrides.setdefault("paths", {})["data"] = str(self.tmp / "data")
        return from_mapping(ServerConfig, overrides)

    def get_app(self):  # noqa: ANN201 - tornado's hook
        return make_app(self.server.services)

    def get_http_server(self):  # noqa: ANN201 - tornado's hook: the server awe-server runs
        return make_http_server(self._app, self.config)

    def tearDown(self) -> None:
        super().tearDown()
        self.server.stop()
        shutil.rmtree(self.tmp, ignore_errors=True)
        self.assertEqual(self.deaths, [], "a singleton actor died during the test")

    def restart(self) -> None:
        """Stop the actors and the store, then start a new server on the same data dir."""
        self.server.stop()
        self.store = self.open_store()
        self.server = AweServer(self.config, self.store, fatal=self.deaths.append)
        self.server.recover()
        self._app = self.get_app()
        self.http_server.request_callback = self._app

    # ---- requests -------------------------------------------------------------------------

    def call(
        self,
        method: str,
        path: str,
        files: dict[str, bytes | str] | None = None,
        headers: dict[str, str] | None = None,
        expect: int | None = None,
    ) -> dict[str, Any]:
        """One request; returns the decoded envelope (plus `_code` and `_headers`)."""
        body, all_headers = None, dict(headers or {})
        if files is not None:
            body, content_type = multipart(files)
            all_headers["Content-Type"] = content_type
        elif method in ("POST", "PUT"):
            body = b""
        response = self.fetch(path, method=method, body=body, headers=all_headers,
                              allow_nonstandard_methods=True, request_timeout=60)  # fmt: skip
        envelope = json.loads(response.body) if response.body else {}
        if isinstance(envelope, dict):
            envelope["_code"] = response.code
            envelope["_headers"] = response.headers
        if expect is not None:
            assert response.code == expect, (response.code, envelope)
        return envelope

    def submit(self, script: dict[str, Any], headers: dict[str, str] | None = None) -> dict:
        return self.call("POST", "/job", {"upload": json.dumps(script)}, headers, 200)["data"]

    def register(self, name: str = "w", group: str = "default", apps: Any = ("*",), **more: Any):
        """Register as awe's worker does: asking for a secret, with the group's CG token if any."""
        profile = {"name": name, "group": group, "apps": list(apps), **more}
        headers = {SECRET_HEADER: self.secrets.get(more.get("id", ""), ASK_FOR_SECRET)}
        token = self.config.auth.clientgroup_tokens.get(group)
        if token:
            headers["Authorization"] = f"CG_TOKEN {token}"
        answer = self.call("POST", "/client", {"profile": json.dumps(profile)}, headers, 200)
        record = answer["data"]
        self.secrets[record["id"]] = answer["_headers"][SECRET_HEADER]
        self.groups[record["id"]] = group
        return record

    def worker_headers(self, client_id: str) -> dict[str, str]:
        """What a registered worker sends with every call: its secret and its group's token."""
        headers = {SECRET_HEADER: self.secrets.get(client_id, "")}
        token = self.config.auth.clientgroup_tokens.get(self.groups.get(client_id, ""))
        if token:
            headers["Authorization"] = f"CG_TOKEN {token}"
        return headers

    def heartbeat(self, client_id: str) -> dict[str, Any]:
        return self.call("GET", f"/client/{client_id}?heartbeat",
                         headers=self.worker_headers(client_id))  # fmt: skip

    def checkout(self, client_id: str, query: str = "") -> dict[str, Any]:
        return self.call("GET", f"/work?client={client_id}{query}",
                         headers=self.worker_headers(client_id))  # fmt: skip

    def report(
        self, wuid: str, client_id: str, status: str = "done", files: dict | None = None,
        query: str = "",
    ) -> dict[str, Any]:  # fmt: skip
        path = f"/work/{wuid}?status={status}&client={client_id}{query}"
        if files is not None:
            path += "&report"
        headers = self.worker_headers(client_id)
        return self.call("PUT", path, files if files is not None else {}, headers)

    def job(self, job_id: str) -> dict[str, Any]:
        return self.call("GET", f"/job/{job_id}", expect=200)["data"]

    def wait_for_job(self, job_id: str, done: Any, timeout: float = 10.0) -> dict[str, Any]:
        """GET the job until `done(job)` holds — for what happens off the request path (Shock)."""
        deadline = time.monotonic() + timeout
        while True:
            job = self.job(job_id)
            if done(job) or time.monotonic() > deadline:
                return job
            self.io_loop.run_sync(lambda: asyncio.sleep(0.05))

    def flush(self) -> None:
        """Wait until every message in flight reached the store (job actors, then snapshots)."""
        ask_sync(self.server.snapshots, Flush(reply=new_reply()))

    def sweep(self, seconds_ahead: float) -> None:
        """Run the sweep as if `seconds_ahead` seconds had passed; returns when it is done."""
        at = later(seconds_ahead)
        ask_sync(self.server.registry, Sweep(at=at, reply=new_reply()))
        ask_sync(self.server.queue, Sweep(at=at, reply=new_reply()))

    def sweep_leases(self, seconds_ahead: float) -> None:
        """Only the queue's sweep: leases left by a restart whose worker did not re-attach."""
        ask_sync(self.server.queue, Sweep(at=later(seconds_ahead), reply=new_reply()))
