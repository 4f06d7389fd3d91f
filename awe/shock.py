"""The Shock object store API: download a node, read its attributes, upload, create nodes.

Shock answers in the same envelope as AWE (`{"status", "data", "error"}`). The job's data token
goes along as `Authorization: OAuth <token>` (spec 9.3).
"""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any
from urllib.parse import quote

import urllib3

from awe.envelope import ApiError, Unreachable, decode_envelope

log = logging.getLogger("awe.shock")


def auth_headers(token: str | None) -> dict[str, str]:
    """`OAuth <token>`, or the token as given when it already names its type (has a space)."""
    if not token:
        return {}
    return {"Authorization": token if " " in token else f"OAuth {token}"}


def node_url(host: str, node: str) -> str:
    return f"{host.rstrip('/')}/node/{quote(node)}"


class ShockClient:
    """Calls to Shock servers; `host` is given per call since every IO names its own."""

    def __init__(
        self, http: urllib3.PoolManager, timeout_s: float = 60.0, retry_pause_s: float = 3.0
    ) -> None:
        self.http = http
        self.timeout = urllib3.Timeout(connect=min(10.0, timeout_s), read=timeout_s)
        self.retry_pause_s = retry_pause_s

    def open_download(self, url: str, token: str | None) -> urllib3.BaseHTTPResponse:
        """Start streaming a node's file (`<host>/node/<id>?download`); the caller reads it."""
        try:
            response = self.http.request(
                "GET", url, headers=auth_headers(token), timeout=self.timeout, preload_content=False
            )
        except urllib3.exceptions.HTTPError as err:
            raise Unreachable(f"GET {url}: {err}") from err
        if response.status >= 300:
            body = response.read()
            response.release_conn()
            decode_envelope(response.status, body)  # raises with Shock's message
            raise ApiError(f"GET {url}: HTTP {response.status}", response.status)
        return response

    def node(self, host: str, node: str, token: str | None) -> dict[str, Any]:
        """The node document: id, file {name, size, checksum}, attributes."""
        data = self._call("GET", node_url(host, node), token)
        if not isinstance(data, dict):
            raise ApiError(f"node {node} on {host}: unexpected answer {data!r}", 200)
        return data

    def upload(
        self,
        host: str,
        node: str,
        path: Path,
        part: int | None,
        attributes: bytes | None,
        token: str | None,
    ) -> dict[str, Any]:
        """PUT the file into an existing node: whole (`upload`) or as part number `part`."""
        fields: dict[str, Any] = {}
        if part is None:
            fields["upload"] = (path.name, path.read_bytes())
        else:
            fields[str(part)] = (path.name, path.read_bytes())
        if attributes is not None:
            fields["attributes"] = ("attributes.json", attributes, "application/json")
        return self._with_retry("PUT", node_url(host, node), token, fields)

    def set_attributes(
        self, host: str, node: str, attributes: bytes, token: str | None
    ) -> dict[str, Any]:
        """PUT only new attributes into an existing node (an `update` output)."""
        fields = {"attributes": ("attributes.json", attributes, "application/json")}
        return self._with_retry("PUT", node_url(host, node), token, fields)

    def create(
        self, host: str, path: Path, attributes: bytes | None, token: str | None
    ) -> dict[str, Any]:
        """POST a new node holding the file; its `id` is in the answer."""
        fields: dict[str, Any] = {"upload": (path.name, path.read_bytes())}
        if attributes is not None:
            fields["attributes"] = ("attributes.json", attributes, "application/json")
        data = self._with_retry("POST", f"{host.rstrip('/')}/node", token, fields)
        if not data.get("id"):
            raise ApiError(f"new node on {host} has no id: {data!r}", 200)
        return data

    def create_empty(self, host: str, filename: str, parts: int, token: str | None) -> str:
        """A node to upload into later; `parts` > 1 makes it a multi-part node (spec 5.1)."""
        fields: dict[str, Any] = {"file_name": filename}
        if parts > 1:
            fields["parts"] = str(parts)
        data = self._call("POST", f"{host.rstrip('/')}/node", token, fields=fields)
        node = data.get("id") if isinstance(data, dict) else None
        if not node:
            raise ApiError(f"new node on {host} has no id: {data!r}", 200)
        return str(node)

    def _with_retry(
        self, method: str, url: str, token: str | None, fields: dict[str, Any]
    ) -> dict[str, Any]:
        """Uploads get one retry after a short pause (spec 11, step 6a)."""
        try:
            data = self._call(method, url, token, fields=fields)
        except (Unreachable, ApiError) as err:
            log.warning("upload %s %s failed (%s), retrying once", method, url, err)
            time.sleep(self.retry_pause_s)
            data = self._call(method, url, token, fields=fields)
        return data if isinstance(data, dict) else {}

    def _call(self, method: str, url: str, token: str | None, **kw: Any) -> Any:
        try:
            response = self.http.request(
                method, url, headers=auth_headers(token), timeout=self.timeout, **kw
            )
        except urllib3.exceptions.HTTPError as err:
            raise Unreachable(f"{method} {url}: {err}") from err
        return decode_envelope(response.status, response.data)
