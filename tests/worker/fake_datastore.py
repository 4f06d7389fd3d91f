"""A scripted stand-in for awe-server's /data routes, that cuts, corrupts and refuses on demand.

The real routes are tested in tests/http/test_data.py; this one lets the worker's transfer client
meet what networks and restarts do: a connection cut mid-body, bytes changed on the way, a file
replaced between two requests, a server that answers 503 for a while.
"""

from __future__ import annotations

import base64
import hashlib
import json
import threading
from dataclasses import dataclass, field
from typing import Any

import tornado.web

from awe.model.byteranges import parse_range
from awe.model.shares import line_share
from tests.worker.httpthread import ServerThread


@dataclass
class FakeDatastore:
    files: dict[str, bytes] = field(default_factory=dict)  # "/data/j/t/f" -> bytes
    cuts: list[int] = field(default_factory=list)  # next GETs: hang up after this many bytes
    corrupt: int = 0  # next GETs that flip their first byte
    replace_with: bytes | None = None  # after the first GET, the file becomes this
    put_failures: list[int] = field(default_factory=list)  # statuses answered to the next PUTs
    refusal: str = ""  # every PUT answered 403 with this error
    ranges: list[str] = field(default_factory=list)  # Range headers seen
    puts: list[str] = field(default_factory=list)  # queries of the PUTs seen
    metas: list[str] = field(default_factory=list)  # queries of the ?meta GETs seen
    ident: str = "ds-1"
    max_file_bytes: int = 1 << 40
    lock: threading.Lock = field(default_factory=threading.Lock)
    server: ServerThread | None = None

    def start(self) -> FakeDatastore:
        app = tornado.web.Application([
            (r"/data", RootHandler, {"ds": self}),
            (r"(/data/[^/]+/[^/]+/[^/]+)", FileHandler, {"ds": self}),
        ])  # fmt: skip
        self.server = ServerThread(app).start()
        return self

    @property
    def url(self) -> str:
        assert self.server is not None
        return self.server.url

    def stop(self) -> None:
        if self.server is not None:
            self.server.stop()


def envelope(handler: tornado.web.RequestHandler, data: Any, status: int = 200, error=None):
    handler.set_status(status)
    handler.set_header("Content-Type", "application/json")
    handler.finish(json.dumps({"status": status, "data": data, "error": error}))


class RootHandler(tornado.web.RequestHandler):
    def initialize(self, ds: FakeDatastore) -> None:
        self.ds = ds

    def get(self) -> None:
        envelope(self, {"id": self.ds.ident, "max_file_bytes": self.ds.max_file_bytes})


class FileHandler(tornado.web.RequestHandler):
    def initialize(self, ds: FakeDatastore) -> None:
        self.ds = ds

    def get(self, path: str) -> None:
        data = self.ds.files.get(path)
        if data is None:
            envelope(self, None, 404, ["file not found"])
            return
        if "meta" in self.request.query_arguments:
            self.ds.metas.append(self.request.query)
            envelope(self, self._meta(data))
            return
        etag = f'"{hashlib.sha256(data).hexdigest()}"'
        with self.ds.lock:
            self.ds.ranges.append(self.request.headers.get("Range", ""))
            if self.ds.replace_with is not None:
                self.ds.files[path], self.ds.replace_with = self.ds.replace_with, None
            cut = self.ds.cuts.pop(0) if self.ds.cuts else None
            corrupt = self.ds.corrupt > 0
            self.ds.corrupt -= 1 if corrupt else 0
        asked = self.request.headers.get("Range")
        if self.request.headers.get("If-Range", etag) != etag:
            asked = None
        wanted = parse_range(asked, len(data))
        start, end = wanted or (0, len(data))
        body = data[start:end]
        if corrupt and body:
            body = bytes([body[0] ^ 0xFF]) + body[1:]
        if wanted:
            self.set_status(206)
            self.set_header("Content-Range", f"bytes {start}-{end - 1}/{len(data)}")
        self.set_header("Content-Length", str(len(body)))
        if cut is not None:
            self.request.connection.stream.write(self._head(len(body)) + body[:cut])
            self.request.connection.stream.close()
            self._finished = True
            return
        self.finish(body)

    def _head(self, length: int) -> bytes:
        lines = [f"HTTP/1.1 {self.get_status()} X", f"Content-Length: {length}"]
        for name in ("Content-Range",):
            if self._headers.get(name):
                lines.append(f"{name}: {self._headers[name]}")
        return ("\r\n".join(lines) + "\r\n\r\n").encode()

    def _meta(self, data: bytes) -> dict[str, Any]:
        meta = {"size": len(data), "md5": hashlib.md5(data).hexdigest(),
                "sha256": hashlib.sha256(data).hexdigest()}  # fmt: skip
        if "rank" in self.request.query_arguments:
            rank = int(self.get_query_argument("rank"))
            total = int(self.get_query_argument("totalwork"))
            piece = line_share(data, rank, total)
            start = sum(len(line_share(data, r, total)) for r in range(1, rank))
            meta["share"] = {"start": start, "end": start + len(piece),
                             "md5": hashlib.md5(piece).hexdigest()}  # fmt: skip
        return meta

    def put(self, path: str) -> None:
        with self.ds.lock:
            self.ds.puts.append(self.request.query)
            status = self.ds.put_failures.pop(0) if self.ds.put_failures else 200
        if self.ds.refusal:
            envelope(self, None, 403, [self.ds.refusal])
            return
        if status != 200:
            envelope(self, None, status, [f"HTTP {status} on purpose"])
            return
        body = self.request.body
        sent = self.request.headers.get("Content-MD5", "")
        if sent and base64.b64decode(sent).hex() != hashlib.md5(body).hexdigest():
            envelope(self, None, 422, ["checksum mismatch"])
            return
        self.ds.files[path] = body
        envelope(self, {"size": len(body), "md5": hashlib.md5(body).hexdigest()})
