"""The server's datastore on disk: a job's files, written atomically, checksummed and indexed.

Layout under the root (every path through `awe.paths.inside`, inside the job's own folder):

    <job>/<task>/<file>             the file, visible only once complete and fsynced
    <job>/_meta/<task>/<file>.json  size, md5, sha256, line count, line index (`LineIndex`)
    <job>/_parts/<task>/<file>/<r>  rank r's part of a split task's output, until joined
    <job>/_incoming/<random>        uploads and joins in progress (removed at start-up)

Task ids never contain `_`, so the `_` folders cannot be a task's. Everything here blocks:
callers run it on an executor, never on the IOLoop or a job actor's turn.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import secrets
import shutil
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, BinaryIO

from awe.errors import AweError
from awe.model.data_access import check_names
from awe.model.lineindex import DEFAULT_CHUNK, LineIndex, LineIndexer, share_bounds
from awe.model.names import filename_problem
from awe.paths import inside

log = logging.getLogger("awe.datastore")

COPY_CHUNK = 1 << 20
PARALLEL_BYTES = 256 * 1024
_HASHERS = ThreadPoolExecutor(2, thread_name_prefix="md5")
MARKER = ".awe-datastore"  # holds this datastore's id: a worker that shares the path checks it
PUBLIC_KEYS = ("size", "md5", "sha256", "lines")


class Digest:
    """Size, md5 (as AWE and Shock report it), sha256 and line index of bytes fed in order."""

    def __init__(self, chunk: int = DEFAULT_CHUNK) -> None:
        self.md5 = hashlib.md5()  # noqa: S324 - a checksum, not a security measure
        self.sha256 = hashlib.sha256()
        self.indexer = LineIndexer(chunk)
        self.size = 0

    def update(self, data: bytes) -> None:
        if len(data) >= PARALLEL_BYTES:  # md5 on another core meanwhile (hashlib drops the GIL)
            md5 = _HASHERS.submit(self.md5.update, data)
            self.sha256.update(data)
            self.indexer.feed(data)
            md5.result()
        else:
            self.md5.update(data)
            self.sha256.update(data)
            self.indexer.feed(data)
        self.size += len(data)

    def result(self) -> dict[str, Any]:
        index = self.indexer.finish()
        return {
            "size": self.size,
            "md5": self.md5.hexdigest(),
            "sha256": self.sha256.hexdigest(),
            "lines": index.lines,
            "index": index.to_doc(),
        }


class Sink:
    """A file being written: a temporary name until `Datastore.commit` moves it into place."""

    def __init__(self, path: Path, chunk: int) -> None:
        self.path = path
        self.file: BinaryIO = open(path, "xb")  # closed by finish or discard
        self.digest = Digest(chunk)
        self._lock = threading.Lock()  # a discard from another thread waits for a write

    @property
    def size(self) -> int:
        return self.digest.size

    def write(self, data: bytes) -> None:
        with self._lock:
            self.file.write(data)
            self.digest.update(data)

    def finish(self) -> dict[str, Any]:
        """Flush and fsync; the checksums and index of what was written."""
        self.file.flush()
        os.fsync(self.file.fileno())
        self.file.close()
        return self.digest.result()

    def discard(self) -> None:
        """Drop a write that will not complete (client gone, too large, bad checksum)."""
        with self._lock:
            if not self.file.closed:
                self.file.close()
            self.path.unlink(missing_ok=True)


def public(meta: dict[str, Any]) -> dict[str, Any]:
    """What clients see of a file's metadata: no index, no inode numbers."""
    return {key: meta[key] for key in PUBLIC_KEYS if key in meta}


class Datastore:
    """One datastore root; paths from requests are checked before they touch the disk."""

    def __init__(self, root: str | os.PathLike[str], index_chunk: int = DEFAULT_CHUNK) -> None:
        self.root = Path(root).resolve()
        self.index_chunk = index_chunk

    def ensure(self) -> str:
        """Create the root if needed; this datastore's id (kept in the marker file)."""
        self.root.mkdir(parents=True, exist_ok=True)
        marker = self.root / MARKER
        try:
            return marker.read_text().strip()
        except FileNotFoundError:
            ident = secrets.token_hex(16)
            tmp = self.root / f"{MARKER}.{ident}"
            tmp.write_text(ident + "\n")
            os.replace(tmp, marker)
            return marker.read_text().strip()

    # ---- paths -------------------------------------------------------------------------------

    def job_dir(self, job_id: str) -> Path:
        problem = filename_problem(job_id)
        if problem or job_id.startswith(("_", ".")):
            raise AweError(f"invalid job id {job_id!r}: {problem or 'reserved name'}")
        return inside(self.root, job_id)

    def file_path(self, job_id: str, task: str, filename: str) -> Path:
        check_names(task, filename, required=True)
        return inside(self.job_dir(job_id), task, filename)

    def part_path(self, job_id: str, task: str, filename: str, rank: int) -> Path:
        check_names(task, filename, required=True)
        return inside(self.job_dir(job_id), "_parts", task, filename, str(int(rank)))

    def _meta_path(self, job_id: str, task: str, filename: str) -> Path:
        check_names(task, filename, required=True)
        return inside(self.job_dir(job_id), "_meta", task, filename + ".json")

    # ---- writing -----------------------------------------------------------------------------

    def sink(self, job_id: str) -> Sink:
        """A new temporary file in the job's `_incoming` folder."""
        incoming = inside(self.job_dir(job_id), "_incoming")
        incoming.mkdir(parents=True, exist_ok=True)
        return Sink(incoming / secrets.token_hex(8), self.index_chunk)

    def commit(
        self, sink: Sink, job_id: str, task: str, filename: str, part: int | None = None
    ) -> dict[str, Any]:
        """Make a finished sink visible under its final name (or as a part); its metadata."""
        meta = sink.finish()
        # the inode keeps its identity through the rename; and if the job's folder went away
        # meanwhile (the job was deleted), this fails before anything is made again
        meta["stat"] = _identity(sink.path)
        if part is not None:
            target = self.part_path(job_id, task, filename, part)
            target.parent.mkdir(parents=True, exist_ok=True)
            os.replace(sink.path, target)
            _fsync_dir(target.parent)
            return meta
        target = self.file_path(job_id, task, filename)
        target.parent.mkdir(parents=True, exist_ok=True)
        self._write_meta(job_id, task, filename, meta)
        os.replace(sink.path, target)
        _fsync_dir(target.parent)
        return meta

    def _write_meta(self, job_id: str, task: str, filename: str, meta: dict[str, Any]) -> None:
        path = self._meta_path(job_id, task, filename)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}")
        with open(tmp, "w") as f:
            json.dump(meta, f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)

    def join_parts(self, job_id: str, task: str, filename: str, ranks: list[int]) -> dict[str, Any]:
        """Join a split task's parts in rank order into its output, as one stream (D18)."""
        parts = [self.part_path(job_id, task, filename, rank) for rank in ranks]
        missing = [rank for rank, path in zip(ranks, parts, strict=True) if not path.exists()]
        if missing:
            joined = self.meta(job_id, task, filename)
            if joined is not None and len(missing) == len(ranks):
                return joined  # joined before (a repeated join after a restart)
            raise FileNotFoundError(f"{filename}: part(s) {missing} of task {task} are missing")
        sink = self.sink(job_id)
        try:
            for path in parts:
                with open(path, "rb") as source:
                    while chunk := source.read(COPY_CHUNK):
                        sink.write(chunk)
            meta = self.commit(sink, job_id, task, filename)
        except BaseException:
            sink.discard()
            raise
        for path in parts:
            path.unlink(missing_ok=True)
        shutil.rmtree(parts[0].parent, ignore_errors=True)
        return meta

    # ---- reading -----------------------------------------------------------------------------

    def meta(self, job_id: str, task: str, filename: str) -> dict[str, Any] | None:
        """The file's metadata, or None when there is no such file."""
        opened = self.open_file(job_id, task, filename)
        if opened is None:
            return None
        opened[0].close()
        return opened[1]

    def open_file(
        self, job_id: str, task: str, filename: str
    ) -> tuple[BinaryIO, dict[str, Any]] | None:
        """The file, open for reading, with the metadata of exactly that file (made if stale)."""
        path = self.file_path(job_id, task, filename)
        try:
            source = open(path, "rb")  # the caller closes it
        except (FileNotFoundError, NotADirectoryError, IsADirectoryError):
            return None
        try:
            st = os.fstat(source.fileno())
            identity = [st.st_ino, st.st_mtime_ns, st.st_size]
            try:
                meta = json.loads(self._meta_path(job_id, task, filename).read_text())
            except (OSError, ValueError):
                meta = None
            if not isinstance(meta, dict) or meta.get("stat") != identity:
                # placed by hand, or a crash between the two renames of a commit: index it again
                digest = Digest(self.index_chunk)
                while chunk := source.read(COPY_CHUNK):
                    digest.update(chunk)
                source.seek(0)
                meta = {**digest.result(), "stat": identity}
                self._write_meta(job_id, task, filename, meta)
        except BaseException:
            source.close()
            raise
        return source, meta

    def share(
        self, job_id: str, task: str, filename: str, rank: int, totalwork: int, meta: dict[str, Any]
    ) -> dict[str, Any]:
        """Byte range and checksums of `rank`'s line share of a stored file."""
        path = self.file_path(job_id, task, filename)
        index = LineIndex.from_doc(meta["index"])
        with open(path, "rb") as source:

            def read_at(offset: int, length: int) -> bytes:
                source.seek(offset)
                return source.read(length)

            start, end = share_bounds(index, rank, totalwork, read_at)
            md5, sha256 = hashlib.md5(), hashlib.sha256()  # noqa: S324 - a checksum
            source.seek(start)
            left = end - start
            while left > 0 and (chunk := source.read(min(COPY_CHUNK, left))):
                md5.update(chunk)
                sha256.update(chunk)
                left -= len(chunk)
        return {
            "rank": rank,
            "totalwork": totalwork,
            "start": start,
            "end": end,
            "size": end - start,
            "md5": md5.hexdigest(),
            "sha256": sha256.hexdigest(),
        }

    def list_job(self, job_id: str) -> list[dict[str, Any]]:
        """Every complete file of a job, with its metadata."""
        job_dir = self.job_dir(job_id)
        found = []
        if not job_dir.is_dir():
            return found
        for task_dir in sorted(job_dir.iterdir()):
            if task_dir.name.startswith("_") or not task_dir.is_dir():
                continue
            for path in sorted(task_dir.iterdir()):
                meta = self.meta(job_id, task_dir.name, path.name) if path.is_file() else None
                if meta is not None:
                    found.append({"task": task_dir.name, "filename": path.name, **public(meta)})
        return found

    # ---- lifecycle ---------------------------------------------------------------------------

    def delete_job(self, job_id: str) -> bool:
        """Remove a job's folder; False when it had none. Renamed away first, then removed."""
        job_dir = self.job_dir(job_id)
        if not job_dir.exists():
            return False
        trash = inside(self.root, "_trash")
        trash.mkdir(exist_ok=True)
        doomed = trash / f"{job_id}.{secrets.token_hex(4)}"
        os.rename(job_dir, doomed)
        shutil.rmtree(doomed, ignore_errors=True)
        return True

    def job_ids(self) -> list[str]:
        """Jobs that have a folder here."""
        if not self.root.is_dir():
            return []
        return sorted(
            p.name for p in self.root.iterdir() if p.is_dir() and not p.name.startswith(("_", "."))
        )

    def folder_mtime(self, job_id: str) -> float | None:
        try:
            return self.job_dir(job_id).stat().st_mtime
        except FileNotFoundError:
            return None

    def sweep_incoming(self) -> int:
        """At start-up nothing is being written: remove what writes cut short left behind."""
        removed = 0
        for job_id in self.job_ids():
            incoming = self.root / job_id / "_incoming"
            if incoming.is_dir():
                removed += sum(1 for _ in incoming.iterdir())
                shutil.rmtree(incoming, ignore_errors=True)
        shutil.rmtree(self.root / "_trash", ignore_errors=True)
        return removed


def _identity(path: Path) -> list[int]:
    st = path.stat()
    return [st.st_ino, st.st_mtime_ns, st.st_size]


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
