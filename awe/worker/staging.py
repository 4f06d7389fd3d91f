"""Moving a workunit's data: inputs and predata in, outputs out (decision D11).

Back-ends, chosen per IO entry: the server's datastore (`datastore: true`, over HTTP or from a
shared path: `awe.worker.transfer`), a `file://` URL (only inside the worker's allowed roots),
an http(s) `url`, or Shock (`host` + `node`). Files are written under a temporary name and
renamed, so nobody ever sees half a file. Transfers check `cancelled` between chunks so a
discarded workunit stops moving data.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import logging
import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import IO, Any
from urllib.parse import unquote, urlparse

import urllib3

from awe.model.lineindex import scan_line_start
from awe.model.shares import share_range
from awe.paths import PathEscape, within
from awe.shock import ShockClient, node_url
from awe.worker.client import ApiError, Unreachable
from awe.worker.dataref import BadRef, datastore_ref
from awe.worker.transfer import Cancelled, DatastoreClient, TransferError, temp_name

__all__ = ["Cancelled", "Stager", "StagingError", "cut_share", "file_path", "temp_name"]

log = logging.getLogger("awe.worker")
CHUNK = 1 << 20


class StagingError(Exception):
    """A data step failed; the message goes to the workunit's notes."""


def has_node(io: dict[str, Any]) -> bool:
    return bool(io.get("host")) and io.get("node") not in (None, "", "-")


def file_path(url: str) -> Path:
    """The local path of a `file://` URL (its host part must be empty or localhost)."""
    parsed = urlparse(url)
    if parsed.netloc not in ("", "localhost"):
        raise StagingError(f"file URL names another host: {url}")
    return Path(unquote(parsed.path))


def allowed_file(url: str, roots: Sequence[Path], what: str) -> Path:
    """The path of a `file://` URL if it lies in one of `roots` (symlinks resolved)."""
    try:
        return within(file_path(url), roots)
    except PathEscape:
        names = ", ".join(str(r) for r in roots) or "none"
        raise StagingError(
            f"{what} {url} is outside the worker's file roots ({names}): refused"
        ) from None


class Stager:
    """Fetches and delivers files for one workunit."""

    def __init__(
        self,
        http: urllib3.PoolManager,
        shock: ShockClient,
        token: str | None = None,
        cancelled: Callable[[], bool] = lambda: False,
        timeout_s: float = 60.0,
        *,
        roots: Sequence[Path] = (),
        datastore: DatastoreClient | None = None,
        shared_datastore: Path | None = None,
    ) -> None:
        self.http = http
        self.shock = shock
        self.token = token
        self.cancelled = cancelled
        self.timeout = urllib3.Timeout(connect=min(10.0, timeout_s), read=timeout_s)
        self.roots = list(roots)  # file:// URLs may name nothing outside these
        self.datastore = datastore
        self.shared_datastore = shared_datastore

    # ---- in ----------------------------------------------------------------------------------

    def fetch(self, io: dict[str, Any], dest: Path, share: tuple[int, int] | None = None) -> int:
        """Save the IO's data as `dest` (gunzipped if asked); return its size in bytes.

        `share` (rank, totalwork): a datastore file gives only that rank's line share.
        """
        try:
            ref = datastore_ref(io)
        except BadRef as err:
            raise StagingError(str(err)) from err
        if ref is not None:
            return self._from_datastore(io, ref, dest, share)
        tmp = temp_name(dest)
        try:
            with self._open_source(io) as source, open(tmp, "wb") as out:
                stream: IO[bytes] = source
                if io.get("uncompress") == "gzip":
                    stream = gzip.GzipFile(fileobj=source, mode="rb")  # type: ignore[assignment]
                self._copy(stream, out)
            os.replace(tmp, dest)
        except (OSError, EOFError, urllib3.exceptions.HTTPError) as err:
            raise StagingError(f"cannot fetch {io.get('filename')}: {err}") from err
        finally:
            tmp.unlink(missing_ok=True)
        return dest.stat().st_size

    def _from_datastore(
        self, io: dict[str, Any], ref: Any, dest: Path, share: tuple[int, int] | None
    ) -> int:
        if self.datastore is None:
            raise StagingError(f"{io.get('filename')}: no datastore client to fetch it with")
        gz = io.get("uncompress") == "gzip"
        raw = dest.with_name(f".{dest.name}.gz") if gz else dest
        try:
            size = self.datastore.download(
                ref, raw, self.cancelled, share, shared_root=self.shared_datastore
            )
            if gz:
                size = self._gunzip(raw, dest)
        except (TransferError, OSError, EOFError) as err:
            raise StagingError(f"cannot fetch {io.get('filename')}: {err}") from err
        finally:
            if gz:
                raw.unlink(missing_ok=True)
        return size

    def _gunzip(self, source: Path, dest: Path) -> int:
        tmp = temp_name(dest)
        try:
            with gzip.open(source, "rb") as packed, open(tmp, "wb") as out:
                size = self._copy(packed, out)  # type: ignore[arg-type]
            os.replace(tmp, dest)
        finally:
            tmp.unlink(missing_ok=True)
        return size

    def fetch_predata(self, io: dict[str, Any], cache_dir: Path, link: Path) -> tuple[int, bool]:
        """Fetch into the cache unless it is there, symlink it as `link`; (size, cache hit)."""
        source = io.get("url") or (node_url(io["host"], io["node"]) if has_node(io) else "")
        if not source:
            raise StagingError(f"predata {io.get('filename')} has neither url nor host and node")
        name = f"{source}|{io.get('uncompress') or ''}".encode()
        key = hashlib.md5(name, usedforsecurity=False).hexdigest()  # a cache file name
        cached = cache_dir / key
        hit = cached.exists()
        if not hit:
            cache_dir.mkdir(parents=True, exist_ok=True)
            self.fetch(io, cached)
        link.unlink(missing_ok=True)
        link.symlink_to(cached)
        return cached.stat().st_size, hit

    def fetch_attributes(self, io: dict[str, Any], dest: Path) -> None:
        """Write the Shock node's attributes as JSON to `dest` (an input's `attrfile`)."""
        if not has_node(io):
            raise StagingError(f"attrfile {dest.name}: input {io.get('filename')} is no Shock node")
        try:
            attributes = self.shock.node(io["host"], io["node"], self.token).get("attributes")
        except (ApiError, Unreachable) as err:
            raise StagingError(f"cannot read attributes of node {io['node']}: {err}") from err
        dest.write_text(json.dumps(attributes or {}))

    def _open_source(self, io: dict[str, Any]) -> Any:
        url = io.get("url") or ""
        if url.startswith("file://"):
            return open(allowed_file(url, self.roots, f"input {io.get('filename')}"), "rb")
        if not url and has_node(io):
            url = node_url(io["host"], io["node"]) + "?download"
        if not url.startswith(("http://", "https://")):
            raise StagingError(f"{io.get('filename')}: no usable url, host or node ({url!r})")
        # The data token is a Shock credential: send it only to the IO's own Shock host.
        to_shock = bool(io.get("host")) and url.startswith(io["host"].rstrip("/"))
        try:
            response = self.shock.open_download(url, self.token if to_shock else None)
        except (ApiError, Unreachable) as err:
            raise StagingError(f"cannot download {url}: {err}") from err
        return _Closing(response)

    def _copy(self, source: IO[bytes], out: IO[bytes]) -> int:
        total = 0
        while chunk := source.read(CHUNK):
            if self.cancelled():
                raise Cancelled()
            out.write(chunk)
            total += len(chunk)
        return total

    # ---- out ---------------------------------------------------------------------------------

    def deliver(
        self, io: dict[str, Any], local: Path, rank: int, attributes: bytes | None
    ) -> dict[str, Any]:
        """Send one output where its IO says; return {filename, node, url, size} for the report."""
        size = local.stat().st_size
        record = {
            "filename": io["filename"],
            "node": io.get("node") or "-",
            "url": "",
            "size": size,
        }
        url = io.get("url") or ""
        try:
            ref = datastore_ref(io)
            if ref is not None:
                if self.datastore is None:
                    raise StagingError(f"output {io['filename']}: no datastore client")
                stored = self.datastore.upload(local, ref, rank, self.cancelled)
                record["url"] = url
                record["md5"] = stored.get("md5", "")
            elif io.get("host"):
                record.update(self._to_shock(io, local, rank, attributes))
            elif url.startswith("file://"):
                self._to_file(local, allowed_file(url, self.roots, f"output {io['filename']}"))
                record["url"] = url
            elif url.startswith(("http://", "https://")):
                self._put_http(local, url)
                record["url"] = url
            else:
                raise StagingError(f"output {io['filename']} has no destination (no host or url)")
        except (ApiError, Unreachable, OSError, TransferError, BadRef,
                urllib3.exceptions.HTTPError) as err:  # fmt: skip
            raise StagingError(f"cannot deliver {io['filename']}: {err}") from err
        return record

    def update_attributes(self, io: dict[str, Any], attributes: bytes) -> None:
        """Set the attributes of the existing Shock node an `update` output names."""
        if not has_node(io):
            raise StagingError(f"update output {io['filename']} names no Shock node to update")
        try:
            self.shock.set_attributes(io["host"], io["node"], attributes, self.token)
        except (ApiError, Unreachable) as err:
            raise StagingError(f"cannot update node {io['node']}: {err}") from err

    def _to_shock(
        self, io: dict[str, Any], local: Path, rank: int, attributes: bytes | None
    ) -> dict[str, Any]:
        host = io["host"]
        if has_node(io):
            part = None if rank == 0 else rank
            self.shock.upload(
                host, io["node"], local, part, attributes if rank <= 1 else None, self.token
            )
            node = io["node"]
        else:
            node = self.shock.create(host, local, attributes, self.token)["id"]
        return {"node": node, "url": node_url(host, node) + "?download"}

    def _to_file(self, local: Path, dest: Path) -> None:
        dest.parent.mkdir(parents=True, exist_ok=True)
        tmp = temp_name(dest)
        try:
            with open(local, "rb") as source, open(tmp, "wb") as out:
                self._copy(source, out)
            os.replace(tmp, dest)
        finally:
            tmp.unlink(missing_ok=True)

    def _put_http(self, local: Path, url: str) -> None:
        size = local.stat().st_size
        headers = {"Content-Length": str(size), "Content-Type": "application/octet-stream"}
        with open(local, "rb") as body:
            response = self.http.request(
                "PUT", url, body=body, headers=headers, timeout=self.timeout
            )
        if response.status >= 300:
            raise StagingError(f"PUT {url}: HTTP {response.status} {response.data[:200]!r}")


class _Closing:
    """Context manager that releases a streamed urllib3 response."""

    def __init__(self, response: urllib3.BaseHTTPResponse) -> None:
        self.response = response

    def __enter__(self) -> urllib3.BaseHTTPResponse:
        return self.response

    def __exit__(self, *exc: object) -> None:
        self.response.release_conn()


def cut_share(path: Path, rank: int, totalwork: int) -> int:
    """Keep only `rank`'s line share of the file (D18); return the bytes kept."""
    size = path.stat().st_size
    with open(path, "rb") as f:
        start, end = share_range(size, rank, totalwork, _file_line_start(f, size))
        tmp = temp_name(path)
        try:
            with open(tmp, "wb") as out:
                f.seek(start)
                left = end - start
                while left > 0 and (chunk := f.read(min(CHUNK, left))):
                    out.write(chunk)
                    left -= len(chunk)
            os.replace(tmp, path)
        finally:
            tmp.unlink(missing_ok=True)
    return end - start


def _file_line_start(f: IO[bytes], size: int) -> Callable[[int], int]:
    """`line_start(p)` over a local file with no line index: it scans forward from `p`."""

    def read_at(offset: int, length: int) -> bytes:
        f.seek(offset)
        return f.read(length)

    def line_start(pos: int) -> int:
        return 0 if pos <= 0 else size if pos >= size else scan_line_start(read_at, pos, size)

    return line_start
