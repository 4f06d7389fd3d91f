"""What every handler shares: the AWE envelope, errors as JSON, auth, query flags, body limits.

Handlers are thin: parse the request, ask one actor (through `ask`, which never blocks the
IOLoop), turn the answer into the envelope.
"""

from __future__ import annotations

import base64
import json
import logging
import secrets
import traceback
from dataclasses import dataclass, field
from typing import Any

import tornado.httputil
import tornado.web

from awe.actors.base import ask, new_reply
from awe.actors.messages import QueueStatus
from awe.config import ServerConfig
from awe.errors import AweError, TooLarge, Unauthorized, Unavailable
from awe.events import EventBus
from awe.model import origins, rights
from awe.model.access import Caller
from awe.model.redact import redact_uri
from awe.model.workerauth import SECRET_HEADER, Proof, new_key, proof
from awe.store.base import Store, StoreUnavailable

log = logging.getLogger("awe.http")

PUBLIC = "public"


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
    policy: rights.Policy = field(default_factory=rights.Policy)  # who may what (config)
    client_key: bytes = field(default_factory=new_key, repr=False)  # worker secrets' key
    origins: origins.OriginPolicy = field(default_factory=origins.OriginPolicy)


def new_request_id() -> str:
    """The stimulus of everything a request causes; sent back as `X-Request-Id`."""
    return f"req-{secrets.token_hex(6)}"


class APIHandler(tornado.web.RequestHandler):
    """Base of every awe handler: one `write_error` makes every failure an AWE envelope."""

    def initialize(self, services: Services) -> None:
        self.services = services
        self.config = services.config

    # ---- response -------------------------------------------------------------------------

    def set_default_headers(self) -> None:
        if not hasattr(self, "request_id"):
            self.request_id = new_request_id()
        self.set_header("X-Request-Id", self.request_id)
        self.set_header("Content-Type", "application/json")
        self.set_header("Vary", "Origin")
        if hasattr(self, "services"):  # not yet in __init__; again after an error's clear()
            self._cors()

    def _cors(self) -> None:
        """CORS headers for configured origins only (`api.allowed_origins`), never `*` by default."""
        allow = origins.allow_origin_header(
            self.request.headers.get("Origin"), self.services.origins
        )
        if allow:
            self.set_header("Access-Control-Allow-Origin", allow)
            self.set_header("Access-Control-Allow-Methods", "POST, GET, PUT, DELETE, OPTIONS")
            self.set_header("Access-Control-Allow-Headers", "Authorization, Datatoken")
            self.set_header("Access-Control-Expose-Headers", "X-Request-Id")

    def prepare(self) -> None:
        """Refuse other sites' pages before any handler runs (awe.model.origins)."""
        self._cors()
        request = self.request
        why = origins.refusal(request.method or "", request.host, request.headers,
                              request.query_arguments, self.services.origins)  # fmt: skip
        if why:
            raise AweError(why, 403)

    def reply(self, data: Any, status: int = 200, error: list[str] | None = None, **extra: Any):
        """Write the envelope `{"status", "data", "error", ...}` (spec 8.1)."""
        body = {"status": status, "data": data, "error": error, **extra}
        if "always200" in self.request.uri:
            status = 200
        self.set_status(status)
        text = json.dumps(body)
        callback = self.get_query_argument("callback", None)
        if callback and callback.replace("_", "").replace(".", "").isalnum():
            self.set_header("Content-Type", "text/javascript")
            text = f"{callback}({text})"
        self.finish(text)

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
        return values[0].decode() if values else default

    def int_arg(self, name: str, default: int) -> int:
        value = self.arg(name)
        if value is None or value == "":
            return default
        try:
            return int(value)
        except ValueError:
            raise AweError(f"{name} must be an integer, got {value!r}") from None

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

    # ---- auth (the rights themselves: awe/model/rights.py) --------------------------------

    def user(self) -> str:
        """The caller's name from a bearer/basic token, or `public` when anonymous (spec 8.2)."""
        header = self.request.headers.get("Authorization", "")
        if not header or header.startswith("CG_TOKEN "):
            return PUBLIC
        scheme, _, credential = header.partition(" ")
        tokens = self.config.auth.tokens
        bearers = ("bearer", "oauth", *self.config.auth.oauth_bearers)  # AWE's oauth_bearers
        if scheme.lower() in bearers and credential in tokens:
            return tokens[credential]
        if scheme.lower() == "basic":
            try:
                name, _, secret = base64.b64decode(credential).decode().partition(":")
            except ValueError:
                raise Unauthorized("Invalid Auth Header") from None
            if tokens.get(secret) == name:
                return name
        raise Unauthorized("Invalid Auth Header")

    def is_admin(self, user: str) -> bool:
        return user in self.config.auth.admin_users

    def caller(self) -> Caller:
        """Who asks, as a user (`public` when anonymous); a bad token is a 401 here."""
        user = self.user()
        return Caller(user, self.is_admin(user))

    def authorize(self, key: str, **facts: Any) -> Caller:
        """Check `key` of the rights table for this caller (and the facts known here)."""
        caller = self.caller()
        rights.authorize(key, self.services.policy, caller, **facts)
        return caller

    def allowed(self, key: str, caller: Caller, **facts: Any) -> bool:
        return rights.allowed(key, self.services.policy, caller, **facts)

    def cg_token(self) -> str | None:
        header = self.request.headers.get("Authorization", "")
        return header[len("CG_TOKEN ") :] if header.startswith("CG_TOKEN ") else None

    def proof(self, client_id: str) -> Proof:
        """What the request's worker secret says about `client_id` (checked in constant time)."""
        return proof(self.services.client_key, client_id, self.request.headers.get(SECRET_HEADER))


def loggable_uri(uri: str | None) -> str:
    """A request's URI as logs may show it (a stream ticket, a token put in a query: masked)."""
    return redact_uri(uri or "")


@tornado.web.stream_request_body
class UploadHandler(APIHandler):
    """A handler whose multipart body is capped: past `body_limit()` it answers a JSON 413.

    The body streams in (chunked or not, as AWE workers send it) and is parsed by Tornado's own
    multipart parser; an oversized body is read to its end and then refused, cleanly.
    """

    def body_limit(self) -> int:
        return self.config.api.max_body_bytes

    def prepare(self) -> None:
        super().prepare()
        self._chunks: list[bytes] = []
        self._size = 0
        self._too_large = False
        limit = self.body_limit()
        self.request.connection.set_max_body_size(max(limit, self.config.api.max_body_bytes))
        length = self.request.headers.get("Content-Length")
        if length and length.isdigit() and int(length) > limit:
            raise TooLarge(f"request body of {length} bytes is over the limit of {limit} bytes")

    def data_received(self, chunk: bytes) -> None:
        self._size += len(chunk)
        if self._size > self.body_limit():
            self._too_large = True
            self._chunks = []
        elif not self._too_large:
            self._chunks.append(chunk)

    def parse_body(self) -> None:
        """Fill `request.files` / `request.body_arguments`; 413 when the body was too large."""
        if self._too_large:
            limit = self.body_limit()
            raise TooLarge(f"request body of {self._size} bytes is over the limit of {limit} bytes")
        self.request.body = b"".join(self._chunks)
        self._chunks = []
        content_type = self.request.headers.get("Content-Type", "")
        tornado.httputil.parse_body_arguments(
            content_type,
            self.request.body,
            self.request.body_arguments,
            self.request.files,
            self.request.headers,
        )

    def file(self, name: str) -> bytes | None:
        files = self.request.files.get(name)
        if files:
            return files[0]["body"]
        values = self.request.body_arguments.get(name)
        return values[0] if values else None


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
