"""What every handler shares: the AWE envelope, errors as JSON, auth, query flags, body limits.

Handlers are thin: parse the request, ask one actor (through `ask`, which never blocks the
IOLoop), turn the answer into the envelope.
"""

from __future__ import annotations

import asyncio
import io
import json
import logging
import secrets
import socket
import threading
import time
import traceback
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import tornado.httputil
import tornado.ioloop
import tornado.iostream
import tornado.web

from awe.actors.base import ask, new_reply
from awe.actors.messages import QueueStatus
from awe.config import ServerConfig
from awe.errors import NO_WORK, AweError, TooLarge, Unavailable
from awe.events import EventBus
from awe.http.auth import AuthMixin
from awe.model.clientbook import ClientBook
from awe.model.jsontext import INT64_MAX
from awe.model.origins import OriginPolicy
from awe.model.redact import redact_uri
from awe.model.rights import Policy
from awe.model.workerauth import new_key
from awe.store.base import Store, StoreUnavailable

log = logging.getLogger("awe.http")

PUBLIC = "public"
IGNORED_BODY_BYTES = 1024 * 1024  # endpoints that take no body still read (and drop) this much
SMALL_READ_BYTES = 16 * 1024  # a socket read of a request without a large body (see app.py)
BODY_READ_BYTES = 1 << 20  # one read, and one `data_received`, of a large body
LINGER_S = 10.0  # after an early 413, how long the unwanted body is drained before closing


@dataclass
class Services:
    """What handlers reach (through `initialize`): config, actor refs, the store's reader, and
    the server's one event bus (every state change, with its stimulus; see awe/events.py)."""

    config: ServerConfig
    queue: Any  # pykka ActorRef of the QueueActor: ask it with typed commands
    registry: Any  # pykka ActorRef of the ClientRegistryActor
    store: Store
    executor: Any  # runs blocking store reads off the IOLoop
    snapshots: Any = None  # the store's one writer: full deletion and imports go through it
    events: EventBus = field(default_factory=EventBus)  # every state change, for streams/metrics
    datastore: Any = None  # awe.dataplane.DataService: the job files served under /data
    policy: Policy = field(default_factory=Policy)  # who may what (config)
    client_key: bytes = field(default_factory=new_key, repr=False)  # worker secrets' key
    origins: OriginPolicy = field(default_factory=OriginPolicy)
    # read without a hand-off by the worker's hot paths (awe/http/fastpath.py): client cards
    # and last-seen times, and the live job actors by job id (the QueueActor writes it)
    clients: ClientBook = field(default_factory=ClientBook)
    live_jobs: Mapping[str, Any] = field(default_factory=dict)


def new_request_id() -> str:
    """The stimulus of everything a request causes; sent back as `X-Request-Id`.

    12 random hex digits, as before, but cut from a block of random bytes read once per 1,000
    requests: reading them one id at a time was a system call on every request.
    """
    with _ids_lock:
        chunk = _random_ids.read(6)
        if len(chunk) < 6:
            _random_ids.seek(0)
            _random_ids.truncate()
            _random_ids.write(secrets.token_bytes(6000))
            _random_ids.seek(0)
            chunk = _random_ids.read(6)
    return f"req-{chunk.hex()}"


_random_ids = io.BytesIO()
_ids_lock = threading.Lock()


@tornado.web.stream_request_body
class APIHandler(AuthMixin, tornado.web.RequestHandler):
    """Base of every awe handler: one `write_error` makes every failure an AWE envelope.

    Every body streams in under a cap (`body_limit`), so the cap is known before any byte of
    the body is read: a `Content-Length` over it is answered 413 at once (see `prepare`).
    Tornado's own multipart parser reads what is kept (`parse_body`).
    """

    def initialize(self, services: Services) -> None:
        self.services = services
        self.config = services.config

    # ---- response -------------------------------------------------------------------------

    def clear(self) -> None:
        """Tornado's `clear` with awe's default headers, in the same order, set at once.

        Tornado formats `Date` anew and checks each header value of `set_default_headers` on
        every response; the date changes once a second and awe's own values are known safe.
        """
        if not hasattr(self, "request_id"):
            self.request_id = new_request_id()
        self._headers = tornado.httputil.HTTPHeaders(
            {
                "Server": SERVER_HEADER,
                "Content-Type": "application/json",
                "Date": http_date(),
                "X-Request-Id": self.request_id,
                "Vary": "Origin",
            }
        )
        self.set_default_headers()
        self._write_buffer: list[bytes] = []
        self._status_code = 200
        self._reason = "OK"

    def set_default_headers(self) -> None:
        if hasattr(self, "services"):  # not yet in __init__; again after an error's clear()
            self._cors()

    def reply(self, data: Any, status: int = 200, error: list[str] | None = None, **extra: Any):
        """Write the envelope `{"status", "data", "error", ...}` (spec 8.1)."""
        text = _constant_envelope(data, status, error) if not extra else None
        if text is None:
            text = json.dumps({"status": status, "data": data, "error": error, **extra})
        if "always200" in self.request.uri:
            status = 200
        self.set_status(status)
        raw_callback = self.request.query_arguments.get("callback")
        callback = raw_callback[0].decode(errors="replace") if raw_callback else ""
        if (
            callback
            and callback.replace("_", "").replace(".", "").isascii()
            and (callback.replace("_", "").replace(".", "").isalnum())
        ):
            self.set_header("Content-Type", "text/javascript")
            text = f"{callback}({text})"
        self.finish(text)

    def compute_etag(self) -> str | None:
        """No ETag: API answers are not cached, and hashing every body cost ~1% of dispatch."""
        return None

    def check_etag_header(self) -> bool:
        """Without an `Etag` nothing matches `If-None-Match`: Tornado's answer, unparsed."""
        if "Etag" not in self._headers:
            return False
        return super().check_etag_header()

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        exc = kwargs.get("exc_info", (None, None, None))[1]
        if isinstance(exc, AweError):
            status, message = exc.status, exc.message
        elif isinstance(exc, StoreUnavailable):
            status, message = 503, f"store unavailable: {exc}"
        elif isinstance(exc, tornado.web.HTTPError):
            status, message = exc.status_code, exc.log_message or self._reason
        else:
            status = 500
            message = f"internal error (request {self.request_id}); it is in the server log"
        self.clear_header("Content-Disposition")
        self.set_header("Content-Type", "application/json")
        self.reply(None, status=status, error=[message])

    def log_exception(self, typ: Any, value: Any, tb: Any) -> None:
        if isinstance(value, AweError | StoreUnavailable | tornado.web.HTTPError):
            log.info("%s %s -> %s", self.request.method, loggable_uri(self.request.uri), value)
        else:
            log.error("%s %s failed (request %s):\n%s", self.request.method, self.request.path,
                      self.request_id,
                      "".join(traceback.format_exception(typ, value, tb)))  # fmt: skip

    def options(self, *args: Any) -> None:
        self.reply(None)

    # ---- request --------------------------------------------------------------------------

    def flag(self, name: str) -> bool:
        """A query parameter is present even without a value (`?active`, spec 8.3)."""
        return name in self.request.query_arguments

    def arg(self, name: str, default: str | None = None) -> str | None:
        values = self.request.query_arguments.get(name)
        return decode_arg(name, values[0]) if values else default

    def int_arg(self, name: str, default: int, low: int = -INT64_MAX - 1, high: int = INT64_MAX):
        """An integer query parameter within [low, high] (by default what a store can hold)."""
        value = self.arg(name)
        if value is None or value == "":
            return default
        try:
            number = int(value) if len(value) <= 40 else None
        except ValueError:
            number = None
        if number is None:
            raise AweError(f"{name} must be an integer, got {value[:40]!r}")
        if not low <= number <= high:
            raise AweError(f"{name} must be an integer from {low} to {high}, got {value!r}")
        return number

    def listing_page(self) -> tuple[int, int]:
        """(limit as asked, rows to return): `limit=0` is AWE's "all", up to the listing limit."""
        most = self.config.limits.listing_limit
        limit = self.int_arg("limit", self.config.queue.page_size, low=0)
        if limit > most:
            raise AweError(f"limit {limit} is over limits.listing_limit ({most})")
        return limit, (limit or most)

    def check_all_fit(self, limit: int, matching: int, page: int, what: str) -> None:
        """`limit=0` that would return more than the listing limit: say so, not a cut list."""
        if limit == 0 and matching > page:
            raise AweError(
                f"limit=0 asks for all {matching} matching {what}, over "
                f"limits.listing_limit ({page}): page through them with limit and offset"
            )

    def number_arg(self, name: str, default: float) -> float:
        value = self.arg(name)
        if value is None or value == "":
            return default
        try:
            number = float(value)
        except ValueError:
            number = float("nan")
        if number != number or number in (float("inf"), float("-inf")):
            raise AweError(f"{name} must be a number, got {value!r}")
        return number

    # ---- body -----------------------------------------------------------------------------

    def body_limit(self) -> tuple[int, str]:
        """(bytes, config key) this endpoint accepts; endpoints without a body keep a little."""
        return smaller_cap((IGNORED_BODY_BYTES, ""), self._server_cap())

    def _server_cap(self) -> tuple[int, str]:
        return self.config.api.max_body_bytes, "api.max_body_bytes"

    def _too_large(self, size: int | str) -> TooLarge:
        limit, key = self.body_limit()
        over = f"over {key} ({limit})" if key else f"over the limit of {limit} bytes"
        return TooLarge(f"request body of {size} bytes is {over}")

    def size_reads(self) -> None:
        """Read this request's body in 1 MiB blocks when it declares a large one, else in small
        reads: Tornado allocates and zeroes a buffer of the read size on every socket read."""
        stream = getattr(self.request.connection, "stream", None)
        if stream is None:
            return
        headers = self.request.headers
        length = headers.get("Content-Length", "")
        large = length.isdigit() and int(length) > SMALL_READ_BYTES
        if large or "Transfer-Encoding" in headers:
            stream.read_chunk_size = BODY_READ_BYTES
        elif stream.read_chunk_size != SMALL_READ_BYTES:
            stream.read_chunk_size = SMALL_READ_BYTES  # after a large body on this connection

    def prepare(self) -> None:
        self.size_reads()
        self._chunks: list[bytes] = []
        self._size = 0
        self._over = False
        limit, _ = self.body_limit()
        self.request.connection.set_max_body_size(max(limit, self.config.api.max_body_bytes))
        if self.refuse_other_origins():
            return
        length = self.request.headers.get("Content-Length", "")
        if length.isdigit() and int(length) > limit:
            self._refuse_before_body(self._too_large(length), int(length))

    def _refuse_before_body(self, error: AweError, length: int) -> None:
        """Answer now, before reading the body (HTTP/1.1 lets a server do that), then close."""
        status = 200 if "always200" in self.request.uri else error.status
        body = json.dumps({"status": error.status, "data": None, "error": [error.message]})
        headers = tornado.httputil.HTTPHeaders(self._headers)
        headers["Content-Type"] = "application/json"
        headers["Content-Length"] = str(len(body))
        headers["Connection"] = "close"
        lines = [f"HTTP/1.1 {status} {tornado.httputil.responses.get(status, 'Error')}"]
        lines += [f"{name}: {value}" for name, value in headers.get_all()]
        answer = ("\r\n".join(lines) + "\r\n\r\n" + body).encode("latin1", "replace")
        method, uri = self.request.method, loggable_uri(self.request.uri)
        logging.getLogger("awe.access").warning("%s %s %d (before the body): %s", method, uri,
                                                error.status, error.message)  # fmt: skip
        stream = self.detach()
        tornado.ioloop.IOLoop.current().spawn_callback(_linger, stream, answer, length)

    def data_received(self, chunk: bytes) -> None:
        self._size += len(chunk)
        if self._size > self.body_limit()[0]:
            self._over = True
            self._chunks = []
        elif not self._over:
            self._chunks.append(chunk)

    def parse_body(self) -> None:
        """Fill `request.files` / `request.body_arguments`; 413 over the cap, 400 if malformed."""
        if self._over:
            raise self._too_large(self._size)
        self.request.body = b"".join(self._chunks)
        self._chunks = []
        content_type = self.request.headers.get("Content-Type", "")
        try:
            tornado.httputil.parse_body_arguments(
                content_type,
                self.request.body,
                self.request.body_arguments,
                self.request.files,
                self.request.headers,
            )
        except tornado.httputil.HTTPInputError as err:
            raise AweError(f"invalid request body: {err}") from None

    async def ask(self, target: Any, command_type: type, /, **fields: Any) -> Any:
        """Ask an actor (an ActorRef in `services`) with a typed command of this request.

        The command carries the request id as its stimulus; past `api.ask_timeout_s` the
        answer is a JSON 504.
        """
        command = command_type(stimulus=self.request_id, reply=new_reply(), **fields)
        return await ask(target, command, self.config.api.ask_timeout_s)

    async def read_store(self, fn: Any, *args: Any) -> Any:
        """A blocking store read, run on the executor so the IOLoop stays free."""
        loop = tornado.ioloop.IOLoop.current()
        try:
            return await loop.run_in_executor(self.services.executor, fn, *args)
        except StoreUnavailable as err:
            raise Unavailable(f"store unavailable: {err}") from err


def loggable_uri(uri: str | None) -> str:
    """A request's URI as logs may show it (a stream ticket, a token put in a query: masked)."""
    return redact_uri(uri or "")


class UploadHandler(APIHandler):
    """A handler that takes files (multipart/form-data), up to `api.max_body_bytes`."""

    def body_limit(self) -> tuple[int, str]:
        return self.config.api.max_body_bytes, "api.max_body_bytes"

    def file(self, name: str) -> bytes | None:
        files = self.request.files.get(name)
        if files:
            return files[0]["body"]
        values = self.request.body_arguments.get(name)
        return values[0] if values else None


def decode_arg(name: str, value: bytes) -> str:
    """A query parameter's text; bytes that are not UTF-8 are the caller's error (400)."""
    try:
        return value.decode()
    except UnicodeDecodeError:
        raise AweError(f"query parameter {name} is not valid UTF-8") from None


def smaller_cap(*caps: tuple[int, str]) -> tuple[int, str]:
    """The tightest of several (bytes, config key) caps, so a 413 names the key that bit."""
    tightest = caps[0]
    for cap in caps[1:]:  # min(key=lambda) without a call per cap: asked on every request
        if cap[0] < tightest[0]:
            tightest = cap
    return tightest


SERVER_HEADER = f"TornadoServer/{tornado.version}"
_date: tuple[int, str] = (0, "")


def http_date() -> str:
    """The `Date` header (RFC 7231), formatted once per second rather than per response."""
    global _date
    now = int(time.time())
    if _date[0] != now:
        _date = (now, tornado.httputil.format_timestamp(now))
    return _date[1]


# envelopes answered again and again (a heartbeat's `{}`, a report's "ok", "no work"): their
# JSON text is kept, not encoded anew on every request
_ENVELOPE_ERRORS = (NO_WORK,)
_envelopes: dict[tuple[int, str, str], str] = {}


def _constant_envelope(data: Any, status: int, error: list[str] | None) -> str | None:
    """The kept JSON of an envelope without variable parts; None for any other envelope."""
    if data is None:
        shape = "null"
    elif type(data) is str and data == "ok":
        shape = "ok"
    elif type(data) is dict and not data:
        shape = "{}"
    else:
        return None
    if error is None:
        said = ""
    elif type(error) is list and len(error) == 1 and error[0] in _ENVELOPE_ERRORS:
        said = error[0]
    else:
        return None
    key = (status, shape, said)
    text = _envelopes.get(key)
    if text is None:
        text = _envelopes[key] = json.dumps({"status": status, "data": data, "error": error})
    return text


async def _linger(stream: tornado.iostream.IOStream, answer: bytes, unread: int) -> None:
    """Send `answer`, then read and drop the body the client may still be sending.

    Closing a socket with unread data makes the kernel send a reset, and a client that is
    still writing then loses the answer it has not read yet; draining first (for a while, at
    most the declared length) lets it read the 413. A client that sent `Expect: 100-continue`
    never gets a `100` and sends nothing: it reads the answer and closes.
    """
    loop = asyncio.get_running_loop()
    deadline = loop.time() + LINGER_S
    try:
        await stream.write(answer)
        stream.socket.shutdown(socket.SHUT_WR)  # the answer is complete
        while unread > 0:
            read = stream.read_bytes(min(unread, 64 * 1024), partial=True)
            chunk = await asyncio.wait_for(read, max(0.0, deadline - loop.time()))
            unread -= len(chunk)
    except (tornado.iostream.StreamClosedError, TimeoutError, OSError):
        pass
    finally:
        stream.close()


class ResourceHandler(APIHandler):
    """`GET /` and any unmatched GET: what this server is (spec 8.1, no envelope)."""

    async def get(self, *args: Any) -> None:
        from awe import __version__

        status = await self.ask(self.services.queue, QueueStatus)
        self.finish(
            {
                "resources": ["job", "work", "client", "queue", "metrics"],
                "url": self.config.api.external_url
                or f"{self.request.protocol}://{self.request.host}",
                "documentation": "https://github.com/MG-RAST/AWE",
                "title": self.config.title,
                "contact": self.config.auth.admin_email,
                "id": "AWE",
                "type": "server",
                "queue_status": status["queue_status"],
                "version": __version__,
                "git_commit_hash": "",
            }
        )

    def _no_route(self, *args: Any) -> None:
        method, path = self.request.method, self.request.path
        self.reply(None, status=404, error=[f"No route found for {method} {path}"])

    post = put = delete = _no_route
