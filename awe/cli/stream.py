"""`GET /events` for the CLI: open a job's event stream, and read it as JSON events.

sseclient-py parses the stream; this module only opens it (with the CLI's token, in the
header) and tells a server without a stream from one with it.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import urlencode

import sseclient
import urllib3

from awe.cli.api import Api

RELOAD = {"kind": "reload"}  # the server lost events: re-read everything


class StreamUnavailable(Exception):
    """The server has no event stream for us (an older awe, a proxy, an error): poll instead."""


class EventStream:
    """An open `GET /events` response on a connection of its own (never back to a pool)."""

    def __init__(self, pool: urllib3.PoolManager, response: urllib3.BaseHTTPResponse) -> None:
        self.pool = pool
        self.response = response

    def close(self) -> None:
        self.response.close()
        self.pool.clear()


def open_events(
    api: Api, job_id: str, read_timeout: float, last_id: str | None = None
) -> EventStream:
    """An open `GET /events?job=…` stream, or StreamUnavailable saying why not."""
    headers = {"Accept": "text/event-stream"}
    if api.token:
        headers["Authorization"] = f"Bearer {api.token}"
    if last_id:
        headers["Last-Event-ID"] = last_id
    pool = urllib3.PoolManager(retries=False)
    try:
        response = pool.request(
            "GET",
            f"{api.server}/events?{urlencode({'job': job_id})}",
            headers=headers,
            preload_content=False,
            timeout=urllib3.Timeout(connect=10.0, read=read_timeout),
            redirect=False,
        )
    except urllib3.exceptions.HTTPError as err:
        raise StreamUnavailable(str(err)) from None
    kind = response.headers.get("Content-Type", "")
    if response.status != 200 or not kind.startswith("text/event-stream"):
        EventStream(pool, response).close()
        raise StreamUnavailable(f"GET /events answered {response.status} {kind}")
    return EventStream(pool, response)


def read_events(
    stream: EventStream, on_quiet: Callable[[], bool]
) -> Iterator[tuple[str, dict[str, Any]]]:
    """(event id, event) as they come; `on_quiet()` at each keep-alive, True stops reading."""

    def chunks() -> Iterator[bytes]:
        for chunk in stream.response.stream(65536):
            if all(line.startswith(b":") for line in chunk.splitlines() if line.strip()):
                if on_quiet():
                    return
            yield chunk

    for message in sseclient.SSEClient(chunks()).events():
        if message.event == "reload":
            yield message.id or "", RELOAD
        elif message.data:
            yield message.id or "", json.loads(message.data)
