"""A raw-socket reader of `GET /events` for HTTP tests: what a browser's EventSource receives.

HTTP/1.0, so the body comes unchunked, exactly as written, until the server closes.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

from tornado.iostream import IOStream, StreamClosedError
from tornado.tcpclient import TCPClient


class SseConnection:
    def __init__(self, stream: IOStream, status: int, headers: str, body: bytes) -> None:
        self.stream = stream
        self.status = status
        self.headers = headers
        self.body = body  # the first bytes read after the headers
        self._pending = body
        self.closed_by_server = False

    @classmethod
    async def open(cls, port: int, target: str, headers: dict[str, str] | None = None):
        stream = await TCPClient().connect("127.0.0.1", port)
        lines = [f"GET {target} HTTP/1.0", "Host: 127.0.0.1"]
        lines += [f"{k}: {v}" for k, v in (headers or {}).items()]
        await stream.write(("\r\n".join(lines) + "\r\n\r\n").encode())
        head = await stream.read_until(b"\r\n\r\n")
        text = head.decode()
        status = int(text.split()[1])
        return cls(stream, status, text, b"")

    async def read_all(self, timeout: float = 5.0) -> bytes:
        """The rest of the body, for an answer that ends (an error envelope)."""
        rest = await asyncio.wait_for(self.stream.read_until_close(), timeout)
        return self._pending + rest

    async def next_block(self, timeout: float = 5.0) -> str:
        """The next SSE block (a message or a comment), without its blank line."""
        while b"\n\n" not in self._pending:
            try:
                chunk = await asyncio.wait_for(self.stream.read_bytes(65536, partial=True), timeout)
            except StreamClosedError:
                self.closed_by_server = True
                raise
            self._pending += chunk
        block, _, self._pending = self._pending.partition(b"\n\n")
        return block.decode()

    async def next_event(self, timeout: float = 5.0) -> dict[str, Any]:
        """The next block that carries data: `{"id", "event", "data"}` (comments skipped)."""
        while True:
            fields = parse_block(await self.next_block(timeout))
            if "data" in fields:
                fields["data"] = json.loads(fields["data"])
                return fields

    def close(self) -> None:
        self.stream.close()


def parse_block(block: str) -> dict[str, str]:
    """SSE fields of one block; comment lines (`: …`) under the key ":"."""
    fields: dict[str, str] = {}
    for line in block.split("\n"):
        name, _, value = line.partition(":")
        key = name or ":"
        fields[key] = (fields[key] + "\n" if key in fields else "") + value.removeprefix(" ")
    return fields
