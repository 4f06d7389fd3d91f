"""A small asyncio HTTP/1.1 client: one keep-alive socket per simulated client, cheap per request.

The bench drives awe and its baselines with the same client, so the client's own cost is the
same in every ratio; it is kept small (no pooling, no redirects, no TLS) so that one process can
hold thousands of connections.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

NO_WORK = "No eligible workunit found"


@dataclass
class Response:
    status: int
    body: bytes

    def json(self) -> Any:
        """The decoded body, or the text when it is not JSON."""
        try:
            return json.loads(self.body)
        except ValueError:
            return self.body.decode(errors="replace")

    def error(self) -> str:
        """AWE's error message of the envelope, or '' when there is none."""
        doc = self.json()
        if isinstance(doc, dict) and doc.get("error"):
            return "; ".join(str(e) for e in doc["error"])
        return ""


class _Protocol(asyncio.Protocol):
    """Reads one response at a time (Content-Length or chunked) into a waiting future."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.buf = bytearray()
        self.waiter: asyncio.Future[Response] | None = None
        self.close_after = False
        self.lost: Exception | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        self.buf += data
        if self.waiter is not None and not self.waiter.done():
            response = self._parse()
            if response is not None:
                self.waiter.set_result(response)

    def connection_lost(self, exc: Exception | None) -> None:
        self.lost = exc or ConnectionResetError("connection closed by the server")
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_exception(self.lost)

    def _parse(self) -> Response | None:
        end = self.buf.find(b"\r\n\r\n")
        if end < 0:
            return None
        head = bytes(self.buf[:end]).decode("latin-1").split("\r\n")
        status = int(head[0].split(" ", 2)[1])
        headers = {}
        for line in head[1:]:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        start = end + 4
        if headers.get("transfer-encoding", "").lower() == "chunked":
            body, used = _dechunk(self.buf, start)
            if body is None:
                return None
        else:
            length = int(headers.get("content-length", "0"))
            if len(self.buf) < start + length:
                return None
            body, used = bytes(self.buf[start : start + length]), start + length
        del self.buf[:used]
        self.close_after = headers.get("connection", "").lower() == "close"
        return Response(status, body)


def _dechunk(buf: bytearray, pos: int) -> tuple[bytes | None, int]:
    """A complete chunked body from `pos`, and where it ends; (None, 0) while incomplete."""
    parts = []
    while True:
        eol = buf.find(b"\r\n", pos)
        if eol < 0:
            return None, 0
        size = int(bytes(buf[pos:eol]).split(b";")[0], 16)
        if size == 0:
            trailer_end = buf.find(b"\r\n\r\n", eol)
            if trailer_end < 0:
                return None, 0
            return b"".join(parts), trailer_end + 4
        if len(buf) < eol + 2 + size + 2:
            return None, 0
        parts.append(bytes(buf[eol + 2 : eol + 2 + size]))
        pos = eol + 2 + size + 2


class Connection:
    """One keep-alive HTTP/1.1 connection to one server, reopened after a close."""

    def __init__(self, url: str) -> None:
        parts = urlsplit(url)
        self.host = parts.hostname or "127.0.0.1"
        self.port = parts.port or 80
        self._host_header = f"{self.host}:{self.port}".encode()
        self._proto: _Protocol | None = None

    async def connect(self) -> None:
        """Open the socket now (otherwise the first request does)."""
        if self._proto is None or self._proto.lost is not None:
            loop = asyncio.get_running_loop()
            _, proto = await loop.create_connection(_Protocol, self.host, self.port)
            self._proto = proto

    async def request(
        self,
        method: str,
        path: str,
        body: bytes = b"",
        headers: dict[str, str] | None = None,
        timeout: float | None = 60.0,
    ) -> Response:
        """Send one request and wait for its response; transport errors raise OSError."""
        await self.connect()
        proto = self._proto
        assert proto is not None and proto.transport is not None
        lines = [f"{method} {path} HTTP/1.1".encode(), b"Host: " + self._host_header]
        for name, value in (headers or {}).items():
            lines.append(f"{name}: {value}".encode())
        if body or method in ("POST", "PUT"):
            lines.append(b"Content-Length: " + str(len(body)).encode())
        proto.waiter = asyncio.get_running_loop().create_future()
        proto.transport.write(b"\r\n".join(lines) + b"\r\n\r\n" + body)
        try:
            if timeout is None:
                response = await proto.waiter
            else:
                response = await asyncio.wait_for(proto.waiter, timeout)
        except BaseException:
            self.close()  # a half-read response would poison the next one
            raise
        finally:
            proto.waiter = None
        if proto.close_after:
            self.close()
        return response

    def close(self) -> None:
        """Drop the socket; the next request opens a new one."""
        if self._proto is not None and self._proto.transport is not None:
            self._proto.transport.close()
        self._proto = None


def multipart(fields: dict[str, tuple[str, bytes]]) -> tuple[str, bytes]:
    """(content type, body) of a multipart/form-data upload of {field: (filename, content)}."""
    boundary = uuid.uuid4().hex
    out = bytearray()
    for name, (filename, content) in fields.items():
        out += f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; '.encode()
        out += f'filename="{filename}"\r\nContent-Type: application/json\r\n\r\n'.encode()
        out += content + b"\r\n"
    out += f"--{boundary}--\r\n".encode()
    return f"multipart/form-data; boundary={boundary}", bytes(out)


def job_script(name: str, tasks: int = 1, totalwork: int = 1, project: str = "bench") -> bytes:
    """A job of `tasks` independent no-op tasks, each split into `totalwork` workunits."""
    cmd = {"name": "true", "args": ""}
    task_list = [{"taskid": str(i), "cmd": cmd, "totalwork": totalwork} for i in range(tasks)]
    return json.dumps({"info": {"name": name, "project": project}, "tasks": task_list}).encode()


class HTTPError(Exception):
    """A response that was not the one expected; carries status and AWE's error text."""

    def __init__(self, what: str, response: Response) -> None:
        self.status = response.status
        self.message = response.error() or response.body[:200].decode(errors="replace")
        super().__init__(f"{what} -> {self.status} {self.message}")


class AweClient:
    """A simulated AWE worker (or user) speaking awe's REST API over one connection."""

    def __init__(self, url: str) -> None:
        self.conn = Connection(url)
        self.id = ""

    async def register(self, name: str, group: str = "default") -> str:
        """POST /client; remembers and returns the client id."""
        profile = json.dumps({"name": name, "group": group, "apps": ["*"]}).encode()
        ctype, body = multipart({"profile": ("profile.json", profile)})
        response = await self.conn.request("POST", "/client", body, {"Content-Type": ctype})
        if response.status != 200:
            raise HTTPError("POST /client", response)
        self.id = response.json()["data"]["id"]
        return self.id

    async def submit(self, script: bytes, timeout: float = 120.0) -> str:
        """POST /job; the new job's id."""
        ctype, body = multipart({"upload": ("job.json", script)})
        headers = {"Content-Type": ctype}
        response = await self.conn.request("POST", "/job", body, headers, timeout=timeout)
        if response.status != 200:
            raise HTTPError("POST /job", response)
        return response.json()["data"]["id"]

    async def checkout(self, wait: float = 0.0, timeout: float = 60.0) -> str | None:
        """GET /work?client=ID[&wait=S]: a workunit id, or None for 'no eligible workunit'."""
        path = f"/work?client={self.id}" + (f"&wait={wait:.3f}" if wait > 0 else "")
        response = await self.conn.request("GET", path, timeout=wait + timeout)
        if response.status == 200:
            return response.json()["data"]["wuid"]
        if response.error() == NO_WORK:
            return None
        raise HTTPError("GET /work", response)

    async def report(self, wuid: str, status: str = "done") -> None:
        """PUT /work/WUID?status=done: the workunit is finished (no report files)."""
        path = f"/work/{wuid}?status={status}&client={self.id}"
        response = await self.conn.request("PUT", path)
        if response.status != 200:
            raise HTTPError("PUT /work", response)

    async def heartbeat(self) -> Any:
        """GET /client/ID?heartbeat: the server's instructions."""
        response = await self.conn.request("GET", f"/client/{self.id}?heartbeat")
        if response.status != 200:
            raise HTTPError("heartbeat", response)
        return response.json()["data"]

    async def get_json(self, path: str, timeout: float = 120.0) -> Any:
        """GET a path, raising on anything but 200; the envelope's data."""
        response = await self.conn.request("GET", path, timeout=timeout)
        if response.status != 200:
            raise HTTPError(f"GET {path}", response)
        return response.json()["data"]

    def close(self) -> None:
        self.conn.close()
