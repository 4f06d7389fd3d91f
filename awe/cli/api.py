"""The CLI's HTTP side: one urllib3 pool, the AWE envelope unwrapped, errors typed for exit codes."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlencode

import urllib3

from awe import envelope

DEFAULT_SERVER = "http://127.0.0.1:8001"


class ApiError(envelope.ApiError):
    """The server answered with an error (or with something that is no envelope): exit 1."""

    def __init__(self, status: int, message: str, request: str) -> None:
        super().__init__(message, status)
        self.request = request


class Unreachable(envelope.Unreachable):
    """No answer from the server at all (refused, reset, timed out): exit 2."""

    def __init__(self, url: str, reason: str = "") -> None:
        super().__init__(f"cannot reach the awe server at {url}: is awe-server running?")
        self.url = url
        self.reason = reason


@dataclass
class Answer:
    """A successful envelope: `data`, plus the paging fields that lists carry."""

    data: Any
    offset: int | None = None
    total_count: int | None = None


def query_string(params: dict[str, Any] | list[tuple[str, Any]] | None) -> str:
    """AWE flags are bare keys (`?suspend`, `?query&state=a`): `None` values render without `=`."""
    if not params:
        return ""
    items = params.items() if isinstance(params, dict) else params
    parts = []
    for key, value in items:
        if value is None:
            parts.append(quote(str(key), safe="."))
        else:
            parts.append(urlencode({key: value}, safe=",."))
    return "?" + "&".join(parts)


def resource_path(kind: str, ident: str) -> str:
    """`/job/<id>`, `/client/<id>`, `/work/<wuid>`: the id as one segment, whatever was typed."""
    return f"/{kind}/" + quote(ident, safe="")


def job_path(job_id: str) -> str:
    return resource_path("job", job_id)


class Api:
    """A thin AWE client: every call returns the envelope's `data` or raises ApiError/Unreachable."""

    def __init__(
        self, server: str = DEFAULT_SERVER, token: str | None = None, timeout: float = 30.0
    ) -> None:
        self.server = server.rstrip("/")
        self.token = token or None
        self.timeout = urllib3.Timeout(connect=min(timeout, 10.0), read=timeout)
        self.pool = urllib3.PoolManager(retries=False)

    def request(
        self,
        method: str,
        path: str,
        params: dict[str, Any] | list[tuple[str, Any]] | None = None,
        *,
        body: bytes | None = None,
        headers: dict[str, str] | None = None,
    ) -> Answer:
        """Send one request and unwrap the envelope; the error's text is the server's own."""
        target = path + query_string(params)
        all_headers = {"Accept": "application/json", **(headers or {})}
        if self.token:
            all_headers["Authorization"] = f"Bearer {self.token}"
        try:
            response = self.pool.request(
                method,
                self.server + target,
                body=body,
                headers=all_headers,
                timeout=self.timeout,
                redirect=False,
            )
        except urllib3.exceptions.HTTPError as err:
            raise Unreachable(self.server, str(err)) from None
        return self._unwrap(method, target, response)

    def _unwrap(self, method: str, target: str, response: urllib3.BaseHTTPResponse) -> Answer:
        request = f"{method} {target}"
        try:
            answer = envelope.read_envelope(response.status, response.data)
        except envelope.ApiError as err:
            raise ApiError(response.status, err.message, request) from None
        except envelope.Unreachable:  # a non-JSON 5xx, e.g. a proxy's page: show its text
            text = response.data.decode(errors="replace").strip()[:300]
            raise ApiError(response.status, text or "empty answer", request) from None
        return Answer(answer.get("data"), answer.get("offset"), answer.get("total_count"))

    def get(self, path: str, params: Any = None) -> Answer:
        """GET, for the read commands."""
        return self.request("GET", path, params)

    def put(self, path: str, params: Any = None) -> Answer:
        """PUT, for every AWE operation (`?suspend`, `?resume`, …)."""
        return self.request("PUT", path, params)

    def delete(self, path: str, params: Any = None) -> Answer:
        """DELETE, for jobs and clients."""
        return self.request("DELETE", path, params)

    def upload(
        self, path: str, fields: dict[str, Any], headers: dict[str, str] | None = None
    ) -> Answer:
        """POST a multipart form (`upload` for a job script, `profile` for a client)."""
        body, content_type = urllib3.encode_multipart_formdata(fields)
        return self.request(
            "POST", path, body=body, headers={"Content-Type": content_type, **(headers or {})}
        )
