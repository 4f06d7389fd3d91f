"""The server's datastore as a worker reaches it: transfers that survive cuts and say what broke.

Every transfer is verified. An upload sends its md5 (`Content-MD5`), so the server stores nothing
that arrived changed, and checks what the server says it stored. A download checks the md5 of
the whole file, or of the rank's line share, before the file takes its name. An interrupted
download resumes where it stopped (`Range` + `If-Range`: a file replaced meanwhile is fetched
again from the start); an interrupted upload is sent again. Connection errors, 5xx, 422 (bytes
changed on the way) and `Client not found` (the server restarted; the heartbeat re-registers)
are retried with backoff, `transfer.attempts` times; any other refusal stops at once with the
server's reason. A worker that shares the datastore's path reads the bytes from there instead,
and checks them against the same metadata.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import json
import logging
import os
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any
from urllib.parse import quote

import urllib3

from awe import errors
from awe.paths import PathEscape, inside
from awe.worker.dataref import DataRef

log = logging.getLogger("awe.worker")
CHUNK = 1 << 20
RETRY_STATUS = (422, 500, 502, 503, 504)


class TransferError(Exception):
    """A transfer failed for good; the message goes to the workunit's notes."""

    def __init__(self, message: str, unreachable: bool = False) -> None:
        super().__init__(message)
        self.unreachable = unreachable  # no answer at all (refused, timed out), not a refusal


class Cancelled(Exception):
    """The workunit was discarded while its data was moving."""


class _Retry(Exception):
    """This attempt failed in a way another attempt may not."""

    def __init__(self, message: str, unreachable: bool = False) -> None:
        super().__init__(message)
        self.unreachable = unreachable


class _Changed(Exception):
    """The file was replaced on the server while it was fetched: fetch the new one."""


def temp_name(path: Path) -> Path:
    """A sibling name no other thread or process writes to."""
    return path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.part")


class DatastoreClient:
    """Uploads to and downloads from the datastore of the server this worker works for."""

    def __init__(
        self,
        http: urllib3.PoolManager,
        server_url: str,
        headers: dict[str, str] | Callable[[], dict[str, str]],
        client_id: Callable[[], str],
        *,
        timeout_s: float = 60.0,
        attempts: int = 10,
        pause_s: float = 1.0,
        max_pause_s: float = 30.0,
    ) -> None:
        self.http = http
        self.base = server_url.rstrip("/")
        # a callable: the worker's credentials as they are now (its secret comes at registration)
        self._headers = headers if callable(headers) else (lambda: dict(headers))
        self.client_id = client_id
        self.timeout = urllib3.Timeout(connect=min(10.0, timeout_s), read=timeout_s)
        self.attempts = max(1, attempts)
        self.pause_s = pause_s
        self.max_pause_s = max_pause_s
        self._info: dict[str, Any] | None = None

    @property
    def headers(self) -> dict[str, str]:
        return dict(self._headers())

    # ---- the datastore itself ----------------------------------------------------------------

    def server_id(self) -> str:
        """The id the server's datastore keeps in its marker file (`GET /data`)."""
        return str(self._about(lambda: False).get("id") or "")

    def _about(self, cancelled: Callable[[], bool]) -> dict[str, Any]:
        """`GET /data`, asked once: the datastore's id and its file size cap."""
        if self._info is None:
            self._info = self._json("GET", "/data", cancelled)
        return self._info

    def meta(
        self, ref: DataRef, cancelled: Callable[[], bool], share: tuple[int, int] | None = None
    ) -> dict[str, Any]:
        """Size and checksums of a file, and with (rank, totalwork) the range of that share."""
        query = "meta" + (f"&rank={share[0]}&totalwork={share[1]}" if share else "")
        return self._json("GET", f"{ref.path}?{query}{self._as_client()}", cancelled)

    def _as_client(self) -> str:
        """`&client=<id>`: a worker reads a job's files by its lease (anonymous reads may be off)."""
        client = self.client_id()
        return f"&client={quote(client)}" if client else ""

    # ---- out ---------------------------------------------------------------------------------

    def upload(
        self, local: Path, ref: DataRef, rank: int, cancelled: Callable[[], bool]
    ) -> dict[str, Any]:
        """Send `local` as the file (rank > 0: that rank's part); what the server stored."""
        size = local.stat().st_size
        cap = self._about(cancelled).get("max_file_bytes")
        if isinstance(cap, int) and size > cap:  # refused before it is sent, and said plainly
            raise TransferError(
                f"{ref.filename} is {size} bytes, over the server's limit of {cap} bytes "
                "(datastore.max_file_bytes)"
            )
        md5 = file_md5(local, cancelled)
        headers = {
            **self.headers,
            "Content-Length": str(size),
            "Content-MD5": base64.b64encode(bytes.fromhex(md5)).decode(),
            "Content-Type": "application/octet-stream",
        }

        def attempt() -> dict[str, Any]:
            with open(local, "rb") as body:
                path = f"{ref.path}?client={quote(self.client_id())}&rank={rank}"
                response = self._request(
                    "PUT", path, body=_Reader(body, cancelled), headers=headers
                )
            stored = _answer(response, f"upload {ref.filename}")
            if stored.get("md5") != md5 or stored.get("size") != size:
                raise _Retry(
                    f"the server stored {stored.get('size')} bytes, md5 {stored.get('md5')}"
                )
            return stored

        return self._retrying(f"upload of {ref.filename}", attempt, cancelled)

    # ---- in ----------------------------------------------------------------------------------

    def download(
        self,
        ref: DataRef,
        dest: Path,
        cancelled: Callable[[], bool],
        share: tuple[int, int] | None = None,
        shared_root: Path | None = None,
        progress: Callable[[int, int], None] | None = None,
    ) -> int:
        """Save the file (or a rank's share of it) as `dest`, verified; its size in bytes.

        `progress(done, total)` is called as bytes arrive (the `awe get` bar).
        """
        problem = ""
        for number in (1, 2):
            size, problem = self._download_once(ref, dest, cancelled, share, shared_root, progress)
            if size is not None:
                return size
            if number == 1:
                log.warning("%s; fetching it again", problem)
        raise TransferError(problem)

    def _download_once(
        self,
        ref: DataRef,
        dest: Path,
        cancelled: Callable[[], bool],
        share: tuple[int, int] | None,
        shared_root: Path | None,
        progress: Callable[[int, int], None] | None = None,
    ) -> tuple[int | None, str]:
        """(size, "") when `dest` is complete and verified, else (None, what went wrong)."""
        meta = self.meta(ref, cancelled, share)
        span = meta["share"] if share else {"start": 0, "end": meta["size"], "md5": meta["md5"]}
        tmp = temp_name(dest)
        try:
            with open(tmp, "wb") as out:
                sink = _Sink(out, progress, span["end"] - span["start"])
                if shared_root is not None:
                    self._copy_shared(shared_root, ref, span, sink, cancelled)
                else:
                    etag = f'"{meta["sha256"]}"'
                    get = functools.partial(self._fetch_range, ref, span, etag, sink, cancelled)
                    self._retrying(f"download of {ref.filename}", get, cancelled)
            got, want = sink.md5.hexdigest(), span["end"] - span["start"]
            if sink.size == want and got == span["md5"]:
                os.replace(tmp, dest)
                return sink.size, ""
            return None, (
                f"checksum mismatch for {ref.filename}: expected md5 {span['md5']} ({want} "
                f"bytes), got {got} ({sink.size} bytes)"
            )
        except _Changed as err:
            return None, str(err)
        finally:
            tmp.unlink(missing_ok=True)

    def _fetch_range(
        self,
        ref: DataRef,
        span: dict[str, Any],
        etag: str,
        sink: _Sink,
        cancelled: Callable[[], bool],
    ) -> None:
        """One attempt: the bytes from where the last attempt stopped to the end of the span."""
        at, end = span["start"] + sink.size, span["end"]
        if at >= end:
            return
        headers = {**self.headers, "Range": f"bytes={at}-{end - 1}", "If-Range": etag}
        path = f"{ref.path}?{self._as_client().lstrip('&')}"
        response = self._request("GET", path, headers=headers, preload_content=False)
        try:
            if response.status == 200:  # If-Range: the file changed since we asked about it
                raise _Changed(f"{ref.filename} changed on the server while it was fetched")
            if response.status != 206:
                _answer(response, f"download {ref.filename}")
            expected = f"bytes {at}-{end - 1}/"
            if not response.headers.get("Content-Range", "").startswith(expected):
                raise _Retry(f"unexpected Content-Range {response.headers.get('Content-Range')!r}")
            # read1: whatever has arrived, so a cut loses nothing that reached us
            while chunk := response.read1(CHUNK):
                if cancelled():
                    raise Cancelled()
                sink.write(chunk)
        except urllib3.exceptions.HTTPError as err:
            raise _Retry(f"cut after {sink.size} bytes: {err}") from err
        finally:
            response.release_conn()

    def _copy_shared(
        self,
        root: Path,
        ref: DataRef,
        span: dict[str, Any],
        sink: _Sink,
        cancelled: Callable[[], bool],
    ) -> None:
        try:
            path = inside(root, ref.job, ref.task, ref.filename)
            with open(path, "rb") as source:
                source.seek(span["start"])
                left = span["end"] - span["start"]
                while left > 0 and (chunk := source.read(min(CHUNK, left))):
                    if cancelled():
                        raise Cancelled()
                    sink.write(chunk)
                    left -= len(chunk)
        except (OSError, PathEscape) as err:
            raise TransferError(
                f"cannot read {ref.filename} from the shared datastore: {err}"
            ) from err

    # ---- requests ----------------------------------------------------------------------------

    def _json(self, method: str, path: str, cancelled: Callable[[], bool]) -> dict[str, Any]:
        def attempt() -> dict[str, Any]:
            return _answer(self._request(method, path, headers=self.headers), f"{method} {path}")

        return self._retrying(f"{method} {path.split('?')[0]}", attempt, cancelled)

    def _request(self, method: str, path: str, **kw: Any) -> urllib3.BaseHTTPResponse:
        try:
            return self.http.request(
                method, self.base + path, timeout=self.timeout, redirect=False, **kw
            )
        except urllib3.exceptions.HTTPError as err:
            raise _Retry(str(err), unreachable=True) from err

    def _retrying(
        self, what: str, attempt: Callable[[], Any], cancelled: Callable[[], bool]
    ) -> Any:
        pause = self.pause_s
        for number in range(1, self.attempts + 1):
            if cancelled():
                raise Cancelled()
            try:
                return attempt()
            except _Retry as err:
                if number == self.attempts:
                    message = f"{what}: gave up after {number} attempts: {err}"
                    raise TransferError(message, err.unreachable) from err
                log.warning("%s: %s; retrying in %.1fs (%d/%d)", what, err, pause, number,
                            self.attempts)  # fmt: skip
            deadline = time.monotonic() + pause
            while time.monotonic() < deadline and not cancelled():
                time.sleep(min(0.05, pause))
            pause = min(pause * 2, self.max_pause_s)
        raise AssertionError("unreachable")


def _answer(response: urllib3.BaseHTTPResponse, what: str) -> dict[str, Any]:
    """The envelope's data; _Retry for what may pass, TransferError for a refusal."""
    body = response.data
    try:
        envelope = json.loads(body)
        message = ", ".join(str(e) for e in envelope.get("error") or [])
    except (ValueError, AttributeError):
        envelope, message = None, f"HTTP {response.status}: {body[:200]!r}"
    if response.status in RETRY_STATUS or message == errors.CLIENT_NOT_FOUND:
        raise _Retry(message or f"HTTP {response.status}")
    if response.status >= 300 or envelope is None or message:
        raise TransferError(f"{what}: {message or f'HTTP {response.status}'}")
    data = envelope.get("data")
    return data if isinstance(data, dict) else {}


class _Sink:
    """Where downloaded bytes go, with their md5, resumable and restartable."""

    def __init__(
        self, out: IO[bytes], progress: Callable[[int, int], None] | None = None, total: int = 0
    ) -> None:
        self.out = out
        self.md5 = hashlib.md5()  # noqa: S324 - a checksum
        self.size = 0
        self.progress = progress
        self.total = total

    def write(self, chunk: bytes) -> None:
        self.out.write(chunk)
        self.md5.update(chunk)
        self.size += len(chunk)
        if self.progress is not None:
            self.progress(self.size, self.total)


class _Reader:
    """A file body that stops the upload when the workunit is discarded."""

    def __init__(self, source: IO[bytes], cancelled: Callable[[], bool]) -> None:
        self.source = source
        self.cancelled = cancelled

    def read(self, size: int = -1) -> bytes:
        if self.cancelled():
            raise Cancelled()
        return self.source.read(size)


def file_md5(path: Path, cancelled: Callable[[], bool] = lambda: False) -> str:
    """md5 of a local file, read in chunks."""
    digest = hashlib.md5()  # noqa: S324 - a checksum
    with open(path, "rb") as source:
        while chunk := source.read(CHUNK):
            if cancelled():
                raise Cancelled()
            digest.update(chunk)
    return digest.hexdigest()
