"""The AWE server API as a worker uses it: register, heartbeat, checkout, tokens, report.

Every answer is the AWE envelope `{"status", "data", "error"}`; like AWE workers we decide by
`error` (spec 14), and keep the HTTP status only to tell "retry later" (5xx) from "refused" (4xx).
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

import urllib3

from awe import errors
from awe.envelope import ApiError, Unreachable, decode_envelope
from awe.model.workerauth import ASK_FOR_SECRET, CLIENT_SECRET, SECRET_HEADER

# Error strings the server sends that the worker reacts to (spec 5.3, 6.2, 14).
NO_WORK = (errors.NO_WORK, errors.QUEUE_EMPTY, errors.QUEUE_SUSPENDED)  # idle, try again
CLIENT_NOT_FOUND = errors.CLIENT_NOT_FOUND
CLIENT_SUSPENDED = errors.CLIENT_SUSPENDED
CLIENT_DELETED = errors.CLIENT_DELETED
__all__ = ["CLIENT_SECRET", "ApiError", "ServerApi", "Unreachable", "make_pool"]

# A file part of a multipart body: (filename, content, content type).
FilePart = tuple[str, bytes, str]


def make_pool(slots: int) -> urllib3.PoolManager:
    """One connection pool for the whole worker (thread-safe); never retries by itself."""
    # blocksize: a file body (an output upload) goes out 1 MiB per write, not 16 KiB
    return urllib3.PoolManager(num_pools=16, maxsize=slots + 4, retries=False, blocksize=1 << 20)


class ServerApi:
    """Requests to one awe-server on behalf of one client id.

    The secret the server gave at registration (`secret`) goes with every call, so that the
    client id is not a credential by itself (awe.model.workerauth). It is kept in memory only,
    across re-registrations: a restarted server recognises it and re-attaches our work.
    """

    def __init__(
        self,
        base_url: str,
        http: urllib3.PoolManager,
        clientgroup_token: str = "",
        timeout_s: float = 60.0,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.http = http
        self.timeout_s = timeout_s
        self.headers = (
            {"Authorization": f"CG_TOKEN {clientgroup_token}"} if clientgroup_token else {}
        )
        self.secret = ""

    def register(self, profile: dict[str, Any]) -> dict[str, Any]:
        """POST /client with the profile as file part `profile`; the answer is our record.

        With our `id` we show our secret; without, we ask for one. A server that gives none
        (AWE itself, or ours for an id it did not make) leaves us without.
        """
        part: FilePart = ("clientprofile.json", json.dumps(profile).encode(), "application/json")
        shown = self.secret if profile.get("id") and self.secret else ASK_FOR_SECRET
        response = self._request("POST", "/client", None, fields={"profile": part},
                                 headers={**self.headers, SECRET_HEADER: shown})  # fmt: skip
        data = decode_envelope(response.status, response.data)
        if not isinstance(data, dict) or not data.get("id"):
            raise ApiError(f"registration answer has no client id: {data!r}", 200)
        self.secret = response.headers.get(SECRET_HEADER, "")
        return data

    def heartbeat(self, client_id: str) -> dict[str, str]:
        """GET /client/<id>?heartbeat → instructions such as {"discard": "w1,w2"}."""
        data = self._call("GET", f"/client/{quote(client_id)}?heartbeat")
        return {str(k): str(v) for k, v in data.items()} if isinstance(data, dict) else {}

    def checkout(self, client_id: str, available: int, wait_s: float) -> dict[str, Any]:
        """GET /work?client=..&available=..&wait=.. (long poll, decision D7)."""
        query = f"client={quote(client_id)}&available={available}"
        if wait_s > 0:
            query += f"&wait={math.ceil(wait_s)}"  # whole seconds: AWE parameters are integers
        data = self._call("GET", f"/work?{query}", read_timeout=wait_s + self.timeout_s)
        if not isinstance(data, dict) or not data.get("wuid"):
            raise ApiError(f"checkout answer is not a workunit: {str(data)[:200]}", 200)
        return data

    def datatoken(self, wuid: str, client_id: str) -> str:
        """GET /work/<wuid>?datatoken → the job's data token (header `Datatoken`, D10)."""
        headers = self._call_headers(
            "GET", f"/work/{quote(wuid)}?datatoken&client={quote(client_id)}"
        )
        token = headers.get("Datatoken", "")
        if not token:
            raise ApiError(f"no Datatoken header in the answer for {wuid}", 200)
        return token

    def privateenv(self, wuid: str, client_id: str) -> dict[str, str]:
        """GET /work/<wuid>?privateenv → the private environment (header `Privateenv`, D10)."""
        path = f"/work/{quote(wuid)}?privateenv&client={quote(client_id)}"
        raw = self._call_headers("GET", path).get("Privateenv", "")
        try:
            env = json.loads(raw) if raw else {}
        except ValueError as err:
            raise ApiError(f"Privateenv header is not JSON: {err}", 200) from None
        if not isinstance(env, dict):
            raise ApiError("Privateenv header is not a JSON object", 200)
        return {str(k): str(v) for k, v in env.items()}

    def report(
        self,
        wuid: str,
        client_id: str,
        status: str,
        computetime: int,
        files: dict[str, FilePart],
    ) -> None:
        """PUT /work/<wuid>?status=..&client=..&computetime=..&report with file parts."""
        path = (
            f"/work/{quote(wuid)}?status={status}&client={quote(client_id)}"
            f"&computetime={computetime}&report"
        )
        self._call("PUT", path, fields=dict(files))

    def auth_headers(self) -> dict[str, str]:
        """What proves who we are: the clientgroup token, and our secret once we have one."""
        return {**self.headers, SECRET_HEADER: self.secret} if self.secret else dict(self.headers)

    def _call(self, method: str, path: str, read_timeout: float | None = None, **kw: Any) -> Any:
        response = self._request(method, path, read_timeout, **kw)
        return decode_envelope(response.status, response.data)

    def _call_headers(self, method: str, path: str) -> Mapping[str, str]:
        response = self._request(method, path, None)
        decode_envelope(response.status, response.data)
        return response.headers  # case-insensitive

    def _request(
        self, method: str, path: str, read_timeout: float | None, **kw: Any
    ) -> urllib3.BaseHTTPResponse:
        timeout = urllib3.Timeout(
            connect=min(10.0, self.timeout_s), read=read_timeout or self.timeout_s
        )
        kw.setdefault("headers", self.auth_headers())
        try:
            return self.http.request(method, self.base_url + path, timeout=timeout, **kw)
        except urllib3.exceptions.HTTPError as err:
            raise Unreachable(f"{method} {path.split('?')[0]}: {err}") from err
