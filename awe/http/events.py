"""`GET /events`: every state change as server-sent events, filtered by job and by rights.

Auth: the `Authorization` header as everywhere, or `?ticket=` for browsers, whose EventSource
cannot send headers. A ticket comes from `POST /events/ticket` (sent with the header): it names
the caller, is signed with a secret made at server start, opens a stream only within
`events.ticket_ttl_s`, grants nothing else, and is left out of the access log. The bearer token
itself never goes into a URL.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import tornado.iostream
import tornado.web
from tornado.ioloop import IOLoop

from awe import eventstream, metrics
from awe.errors import AweError, Unauthorized
from awe.events import Event
from awe.http.base import APIHandler
from awe.model import rights
from awe.model.access import Caller

TICKET_NAME = "awe-events"


class EventsHandler(APIHandler):
    """A long-lived response: replay after Last-Event-ID, then live events, keep-alives."""

    def initialize(self, services: Any) -> None:
        super().initialize(services)
        self._wake = asyncio.Event()
        self._gone = asyncio.Event()  # closed by the reader or dropped by us
        self._closed = False
        self._buffer = eventstream.StreamBuffer(self.config.events.buffer)

    async def get(self) -> None:
        caller = self._caller()
        policy = self.services.policy
        job = self.arg("job") or ""
        try:
            last_id = eventstream.parse_last_id(
                self.request.headers.get("Last-Event-ID") or self.arg("last_event_id")
            )
        except ValueError as err:
            raise AweError(str(err)) from None
        bus = self.services.events
        loop = IOLoop.current()

        def offer(event: Event) -> None:  # on the IOLoop: filter, buffer, drop a slow reader
            if self._closed or not eventstream.wanted(event, job):
                return
            if not eventstream.may_see(event, caller, policy):
                return
            if not self._buffer.push(event):
                self._drop()
            self._wake.set()

        unsubscribe = bus.subscribe(lambda event: loop.add_callback(offer, event))
        metrics.EVENT_STREAMS.inc()
        try:
            self._start_stream()
            if last_id is not None:
                backlog = bus.since(last_id)
                if backlog is None:
                    self._buffer.last_id = bus.last_id
                    reason = f"events after {last_id} are no longer kept: reload"
                    self.write(eventstream.reload_message(bus.last_id, reason))
                else:
                    for event in backlog:
                        offer(event)
            else:
                self._buffer.last_id = bus.last_id
            await self._pump()
        finally:
            unsubscribe()
            metrics.EVENT_STREAMS.dec()

    def _start_stream(self) -> None:
        self.set_header("Content-Type", "text/event-stream; charset=utf-8")
        self.set_header("Cache-Control", "no-cache")
        self.set_header("X-Accel-Buffering", "no")  # nginx: pass each event on at once
        self.write("retry: 2000\n")
        self.write(eventstream.comment("awe events"))

    async def _pump(self) -> None:
        """Write what is buffered, flush, wait for more (or a keep-alive tick)."""
        keepalive = max(0.05, self.config.events.keepalive_s)
        try:
            while not self._closed:
                for event in self._buffer.drain():
                    self.write(eventstream.message(event))
                await self._flush_unless_gone()
                if self._closed:
                    break
                if len(self._buffer):
                    continue
                self._wake.clear()
                try:
                    await asyncio.wait_for(self._wake.wait(), timeout=keepalive)
                except TimeoutError:
                    self.write(eventstream.comment("keep-alive"))
        except tornado.iostream.StreamClosedError:
            self._closed = True
        if not self._closed:
            self.finish()

    async def _flush_unless_gone(self) -> None:
        """Wait until the reader took what was written, or the connection went away.

        A flush still pending when the connection closes is never resolved by Tornado, so
        waiting on it alone would keep this stream (and its bus listener) forever.
        """
        flushed = asyncio.ensure_future(self.flush())
        gone = asyncio.ensure_future(self._gone.wait())
        try:
            await asyncio.wait({flushed, gone}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            gone.cancel()
        if flushed.done():
            flushed.result()  # StreamClosedError, if that is how it ended
        else:
            flushed.cancel()
            self._closed = True

    def _drop(self) -> None:
        """The reader is too far behind: close, so that it reconnects with Last-Event-ID."""
        metrics.EVENT_STREAMS_DROPPED.inc()
        self._closed = True
        self._gone.set()
        self.request.connection.close()

    def on_connection_close(self) -> None:
        self._closed = True
        self._gone.set()
        self._wake.set()

    def _caller(self) -> Caller:
        """The user from `?ticket=` or from the Authorization header; anonymous rules apply."""
        ticket = self.arg("ticket")
        if ticket is None:
            return self.authorize("events.stream")
        ttl_days = self.config.events.ticket_ttl_s / 86400
        secret = self.application.settings["cookie_secret"]
        user = tornado.web.decode_signed_value(secret, TICKET_NAME, ticket, max_age_days=ttl_days)
        if user is None:
            raise Unauthorized("stream ticket invalid or expired: get a new one")
        caller = Caller(user.decode(), self.is_admin(user.decode()))
        rights.authorize("events.stream", self.services.policy, caller)
        return caller

    def finish(self, chunk: Any = None) -> Any:
        if self._finished or (self._closed and self._headers_written):
            self._finished = True  # the connection is gone: nothing more to send
            return None
        return super().finish(chunk)


class TicketHandler(APIHandler):
    """`POST /events/ticket`: a short-lived ticket that lets an EventSource open `/events`."""

    def post(self) -> None:
        user = self.authorize("events.ticket").user
        ttl = self.config.events.ticket_ttl_s
        ticket = self.create_signed_value(TICKET_NAME, user).decode()
        expires = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + ttl))
        self.reply({"ticket": ticket, "user": user, "expires": expires})


routes = [
    (r"/events/?", EventsHandler),
    (r"/events/ticket/?", TicketHandler),
]
