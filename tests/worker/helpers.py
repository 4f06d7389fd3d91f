"""Small helpers shared by worker unit tests and the worker end-to-end tests."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable
from typing import Any

import tornado.web

from tests.worker.httpthread import ServerThread


def wait_for(condition: Callable[[], Any], timeout: float = 10.0, what: str = "condition") -> Any:
    """Poll `condition` (bounded) until it is truthy; return its value."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(0.02)


def workunit_doc(
    name: str,
    args: str = "",
    *,
    task: str = "0",
    rank: int = 0,
    totalwork: int = 1,
    job: str | None = None,
    **fields: Any,
) -> dict[str, Any]:
    """A workunit as the server hands it out (spec 3.3, 14)."""
    job = job or str(uuid.uuid4())
    doc: dict[str, Any] = {
        "wuid": f"{job}_{task}_{rank}",
        "info": {"name": "test", "auth": False, "clientgroups": "", "userattr": {}},
        "cmd": {"name": name, "args": args, "environ": {"public": {}}, "has_private_env": False},
        "inputs": [],
        "outputs": [],
        "predata": [],
        "rank": rank,
        "totalwork": totalwork,
        "part": None,
        "state": "checkout",
        "failed": 0,
        "userattr": {},
    }
    doc.update(fields)
    return doc


class FileServer:
    """Serves bytes by path on GET; records PUT bodies; counts requests."""

    def __init__(self) -> None:
        self.files: dict[str, bytes] = {}
        self.puts: dict[str, bytes] = {}
        self.gets: list[str] = []
        self.auth_seen: list[str] = []
        self.lock = threading.Lock()
        self.server = ServerThread(tornado.web.Application([(r"(/.*)", FileHandler, {"fs": self})]))

    def start(self) -> FileServer:
        self.server.start()
        return self

    def url(self, path: str) -> str:
        return self.server.url + path


class FileHandler(tornado.web.RequestHandler):
    def initialize(self, fs: FileServer) -> None:
        self.fs = fs

    def get(self, path: str) -> None:
        with self.fs.lock:
            self.fs.gets.append(path)
            self.fs.auth_seen.append(self.request.headers.get("Authorization", ""))
        if path not in self.fs.files:
            self.set_status(404)
            self.finish("not found")
            return
        self.finish(self.fs.files[path])

    def put(self, path: str) -> None:
        with self.fs.lock:
            self.fs.puts[path] = self.request.body
        self.set_status(201)
        self.finish("stored")
