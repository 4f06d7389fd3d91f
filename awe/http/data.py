"""`/data`: a job's files in the server's datastore, over HTTP, streamed both ways (issue 13).

    GET  /data                                  this datastore's id, URL and file size cap (a
                                                worker that shares its path checks the id in the
                                                marker file; an uploader checks the cap first)
    GET  /data/{job}                            the job's files: task, filename, size, checksums
    GET  /data/{job}/{task}/{file}              the file; `Range: bytes=a-b` gives 206
    HEAD /data/{job}/{task}/{file}              its headers only
    GET  /data/{job}/{task}/{file}?meta[&rank=R&totalwork=N]
                                                size, md5, sha256, lines; with R and N also the
                                                byte range of rank R's line share, and its checksums
    PUT  /data/{job}/{task}/{file}?client=C[&rank=R]
                                                the body becomes the file (a split task: rank R's
                                                part); only from the client holding <job>_<task>_<R>

Downloads carry `ETag: "<sha256>"` and `Digest: md5=<base64>,sha-256=<base64>` (of the whole
file, also on a 206), so whoever downloads can verify. An upload may send `Content-MD5` (base64)
and is refused with 422, and not stored, when the bytes that arrived differ. Every answer that is
not file data is AWE's JSON envelope. Who may do what is decided in one place,
`awe.model.data_access.decide`: `authorize` below asks the job's actor (through the client
registry when a worker acts), or applies it to the stored job when the job is not live.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import time
from typing import Any
from urllib.parse import quote

import tornado.iostream
import tornado.web

from awe.actors.messages import ClientDataRights, DataRights
from awe.dataplane import DataService
from awe.datastore import Sink, public
from awe.errors import AweError, NotFound, TooLarge
from awe.http.base import APIHandler
from awe.model import data_access
from awe.model.byteranges import RangeNotSatisfiable, content_range, parse_range
from awe.model.data_access import READ, WRITE, DataAsk, Grant

BLOCK = 1 << 20  # bytes per disk read or write: memory stays flat whatever the file size
CHECKSUM_MISMATCH = 422


class DataHandler(APIHandler):
    """What the /data handlers share: rights, the datastore's pool, URLs, pacing."""

    def initialize(self, services: Any) -> None:
        super().initialize(services)
        self.data: DataService = services.datastore
        self._paced = 0
        self._pace_start = 0.0

    async def io(self, fn: Any, *args: Any) -> Any:
        """A blocking datastore call, on its own pool: the IOLoop never waits for a disk."""
        return await asyncio.get_running_loop().run_in_executor(self.data.pool, fn, *args)

    async def data_rights(
        self, op: str, job_id: str, task: str = "", filename: str = "", rank: int = 0
    ) -> Grant:
        """May the caller do `op` on this job's files? Raises the error to answer if not.

        The rights are `data.read` / `data.write` of awe/model/rights.py, applied by
        `model.data_access` where the job is (its ACL, its leases)."""
        data_access.check_names(task, filename)
        self.data.store.job_dir(job_id)  # a job id that is no safe folder name: 400
        user = self.user()
        client = self.arg("client") or ""
        ask = DataAsk(
            op, user=user, admin=self.is_admin(user), anonymous_read=self.config.anonymous.read,
            client=client, task=task, filename=filename, rank=rank,
        )  # fmt: skip
        # the job's actor decides, or the queue from the stored job when it has no actor;
        # a worker goes through the registry first, which checks who it is
        if client:
            return await self.ask(self.services.registry, ClientDataRights, client_id=client,
                                  token=self.cg_token(), proof=self.proof(client), job_id=job_id,
                                  ask=ask)  # fmt: skip
        return await self.ask(self.services.queue, DataRights, job_id=job_id, ask=ask)

    def file_url(self, job_id: str, task: str, filename: str) -> str:
        """The stable download URL of a file: what a job's output `url` holds."""
        base = self.config.api.external_url or f"{self.request.protocol}://{self.request.host}"
        names = "/".join(quote(n, safe="") for n in (job_id, task, filename))
        return f"{base.rstrip('/')}/data/{names}"

    async def pace(self, size: int) -> None:
        """Keep a transfer at `datastore.throttle_bytes_per_s` (for slow links, and tests)."""
        rate = self.data.throttle_bytes_per_s
        if rate <= 0:
            return
        if not self._pace_start:
            self._pace_start = time.monotonic()
        self._paced += size
        ahead = self._pace_start + self._paced / rate - time.monotonic()
        if ahead > 0:
            await asyncio.sleep(ahead)

    def block_size(self) -> int:
        rate = self.data.throttle_bytes_per_s
        return BLOCK if rate <= 0 else max(4096, min(BLOCK, rate // 20))


class DataRootHandler(DataHandler):
    """`GET /data`: this datastore's id, so that a worker can tell whether it shares the path."""

    async def get(self) -> None:
        base = self.config.api.external_url or f"{self.request.protocol}://{self.request.host}"
        self.reply({"id": self.data.ident, "url": f"{base.rstrip('/')}/data",
                    "max_file_bytes": self.data.max_file_bytes})  # fmt: skip


class DataJobHandler(DataHandler):
    """`GET /data/{job}`: the job's files in the datastore."""

    async def get(self, job_id: str) -> None:
        await self.data_rights(READ, job_id)
        files = await self.io(self.data.store.list_job, job_id)
        for entry in files:
            entry["url"] = self.file_url(job_id, entry["task"], entry["filename"])
        self.reply(files)


@tornado.web.stream_request_body
class DataFileHandler(DataHandler):
    """`/data/{job}/{task}/{file}`: download (ranges, shares) and upload of one file."""

    def initialize(self, services: Any) -> None:
        super().initialize(services)
        self._sink: Sink | None = None
        self._grant: Grant | None = None
        self._up_chunks: list[bytes] = []
        self._up_bytes = 0
        self._up_received = 0
        self._up_writing: asyncio.Future | None = None
        self._up_error: OSError | None = None
        self._expected_md5 = ""

    # ---- upload ------------------------------------------------------------------------------

    async def prepare(self) -> None:
        """A PUT is checked before its body streams in: rights, size, the file to write."""
        self.size_reads()
        if self.refuse_other_origins() or self.request.method != "PUT":
            return
        job_id, task, filename = self.path_args
        limit = self.data.max_file_bytes
        self.request.connection.set_max_body_size(limit + BLOCK)  # past that Tornado hangs up
        rank = self.int_arg("rank", 0)
        length = self.request.headers.get("Content-Length", "")
        try:
            self._grant = await self.data_rights(WRITE, job_id, task, filename, rank)
        except AweError as refused:  # answered before the body, so the uploader reads why
            self._refuse_before_body(refused, int(length) if length.isdigit() else limit)
            return
        if length.isdigit() and int(length) > limit:
            raise TooLarge(f"file of {length} bytes is over the limit of {limit} bytes")
        self._expected_md5 = _md5_header(self.request.headers.get("Content-MD5"))
        self._sink = await self.io(self.data.store.sink, job_id)

    async def data_received(self, chunk: bytes) -> None:
        if self._sink is None:
            return  # refused in prepare, or already too large: the rest is read and dropped
        self._up_received += len(chunk)
        if self._up_received > self.data.max_file_bytes:
            self._drop()
            return
        self._up_chunks.append(chunk)
        self._up_bytes += len(chunk)
        if self._up_bytes >= BLOCK:
            try:
                await self._store_buffer()
            except OSError as err:  # a full disk: the rest is read and dropped, put() says why
                self._up_error = err
                self._drop()
                return
        await self.pace(len(chunk))

    async def put(self, job_id: str, task: str, filename: str) -> None:
        if self._up_error is not None:
            raise AweError(f"cannot store {filename}: {self._up_error}", 507)
        if self._sink is None:
            limit = self.data.max_file_bytes
            raise TooLarge(f"file of {self._up_received} bytes is over the limit of {limit} bytes")
        await self._store_buffer(last=True)
        sink, self._sink = self._sink, None
        md5 = sink.digest.md5.hexdigest()
        if self._expected_md5 and md5 != self._expected_md5:
            await self.io(sink.discard)
            raise AweError(
                f"checksum mismatch: {filename} arrived with md5 {md5}, "
                f"the sender said {self._expected_md5}; nothing stored",
                CHECKSUM_MISMATCH,
            )
        if self._grant is None:  # prepare refused: put() is not reached then
            raise AweError("upload refused before its body")
        try:
            meta = await self.io(self.data.store.commit, sink, job_id, task, filename,
                                 self._grant.part)  # fmt: skip
        except BaseException:
            await self.io(sink.discard)
            raise
        self.reply({
            "task": task, "filename": filename, "part": self._grant.part, **public(meta),
            "url": self.file_url(job_id, task, filename),
        })  # fmt: skip

    async def _store_buffer(self, last: bool = False) -> None:
        """Hand the buffered block to the pool; the next block arrives while it is written.

        At most one block is being written (and hashed) at a time, so blocks stay in order and
        memory stays at about two blocks; `last` waits for everything to be written.
        """
        if self._up_writing is not None:
            await self._up_writing
            self._up_writing = None
        if self._sink is not None and self._up_chunks:
            data, self._up_chunks, self._up_bytes = b"".join(self._up_chunks), [], 0
            self._up_writing = asyncio.ensure_future(self.io(self._sink.write, data))
        if last and self._up_writing is not None:
            await self._up_writing
            self._up_writing = None

    def _drop(self) -> None:
        """Forget an upload that will not be stored; its temporary file goes."""
        sink, self._sink, self._up_chunks = self._sink, None, []
        if sink is not None:
            try:
                self.data.pool.submit(sink.discard)
            except RuntimeError:  # the server is stopping: the start-up sweep removes it
                pass

    def on_connection_close(self) -> None:
        self._drop()  # the sender went away mid-upload: nothing half-written stays

    def on_finish(self) -> None:
        self._drop()

    # ---- download ----------------------------------------------------------------------------

    async def get(self, job_id: str, task: str, filename: str) -> None:
        await self._download(job_id, task, filename, body=True)

    async def head(self, job_id: str, task: str, filename: str) -> None:
        await self._download(job_id, task, filename, body=False)

    async def _download(self, job_id: str, task: str, filename: str, body: bool) -> None:
        await self.data_rights(READ, job_id, task, filename)
        opened = await self.io(self.data.store.open_file, job_id, task, filename)
        if opened is None:
            raise NotFound(f"file not found: {job_id}/{task}/{filename}")
        source, meta = opened
        try:
            if self.flag("meta"):
                self.reply(await self._meta(job_id, task, filename, meta))
            else:
                await self._send(source, meta, body)
        finally:
            source.close()

    async def _meta(self, job_id: str, task: str, filename: str, meta: dict) -> dict[str, Any]:
        doc = {"job": job_id, "task": task, "filename": filename, **public(meta),
               "url": self.file_url(job_id, task, filename)}  # fmt: skip
        if self.arg("rank") is not None:
            rank, totalwork = self.int_arg("rank", 0), self.int_arg("totalwork", 1)
            if totalwork < 1 or not 0 <= rank <= totalwork:
                raise AweError(
                    f"rank must be in 0..totalwork and totalwork >= 1 ({rank}/{totalwork})"
                )
            store = self.data.store
            doc["share"] = await self.io(store.share, job_id, task, filename, rank, totalwork, meta)
        return doc

    async def _send(self, source: Any, meta: dict[str, Any], body: bool) -> None:
        size, etag = meta["size"], f'"{meta["sha256"]}"'
        asked = self.request.headers.get("Range")
        if self.request.headers.get("If-Range", etag) != etag:
            asked = None  # the file changed since the client started: it gets the whole new one
        try:
            wanted = parse_range(asked, size)
        except RangeNotSatisfiable as err:
            self.set_header("Content-Range", f"bytes */{size}")
            self.reply(None, status=416, error=[f"range not satisfiable: {err}"])
            return
        start, end = wanted or (0, size)
        self.set_header("Content-Type", "application/octet-stream")
        self.set_header("Accept-Ranges", "bytes")
        self.set_header("ETag", etag)
        self.set_header("Digest", f"md5={_b64(meta['md5'])},sha-256={_b64(meta['sha256'])}")
        self.set_header("Content-Length", str(end - start))
        if wanted:
            self.set_status(206)
            self.set_header("Content-Range", content_range(start, end, size))
        if not body:
            self.finish()
            return
        await self.io(source.seek, start)
        left, block = end - start, self.block_size()
        try:
            while left > 0:
                chunk = await self.io(source.read, min(block, left))
                if not chunk:
                    break
                self.write(chunk)
                await self.flush()  # waits for the socket: one block in memory at a time
                left -= len(chunk)
                await self.pace(len(chunk))
        except tornado.iostream.StreamClosedError:
            return  # the reader went away; it resumes with a Range
        self.finish()

    def compute_etag(self) -> str | None:
        return None  # ours is the sha256, set above; Tornado's would hash the whole body


def _md5_header(value: str | None) -> str:
    """`Content-MD5` (RFC 1864: base64 of the digest) as hex; "" when absent."""
    if not value:
        return ""
    try:
        digest = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        digest = b""
    if len(digest) != 16:
        raise AweError(f"Content-MD5 is not a base64 md5 digest: {value!r}")
    return digest.hex()


def _b64(hex_digest: str) -> str:
    return base64.b64encode(bytes.fromhex(hex_digest)).decode()


routes = [
    (r"/data/?", DataRootHandler),
    (r"/data/([^/]+)/?", DataJobHandler),
    (r"/data/([^/]+)/([^/]+)/([^/]+)", DataFileHandler),
]
