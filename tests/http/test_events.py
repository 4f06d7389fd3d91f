"""`GET /events`: live events as SSE, by job and by rights, resumable, kept alive, bounded."""

from __future__ import annotations

import asyncio
import json
import logging
import socket
import time
from typing import Any

from prometheus_client import REGISTRY
from tornado.testing import gen_test

from awe.events import Event, make
from tests.http.harness import AweTestCase
from tests.http.sse import SseConnection

AUTH = {
    "anonymous": {"read": False, "write": False, "delete": False},
    "auth": {"tokens": {"ta": "ana", "tb": "bob", "tz": "zoe"}, "admin_users": ["zoe"]},
}


def job_event(job: str, owner: str = "public", new: str = "in-progress") -> Event:
    return make("job", job, "queued", new, "req-1", job_id=job, owner=owner)


def client_event(client: str = "c1") -> Event:
    return make("client", client, "active-idle", "active-busy", "checkout")


class EventsTestCase(AweTestCase):
    config_overrides: dict[str, Any] = {"events": {"keepalive_s": 30}}

    async def publish(self, *events: Event) -> list[Event]:
        """From another thread, as an actor would."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(None, self.server.events.publish, list(events))

    async def connect(self, target: str = "/events", **headers: str) -> SseConnection:
        conn = await SseConnection.open(self.get_http_port(), target, headers)
        self.addCleanup(conn.close)
        if conn.status == 200:
            await self.until(lambda: self.listeners() > 0)
        return conn

    def listeners(self) -> int:
        return len(self.server.events._listeners) - 1  # the metrics counter is always there

    async def until(self, condition: Any, timeout: float = 5.0) -> None:
        deadline = time.monotonic() + timeout
        while not condition():
            assert time.monotonic() < deadline, "condition not met in time"
            await asyncio.sleep(0.01)


class StreamTest(EventsTestCase):
    @gen_test
    async def test_published_events_arrive_in_order_with_their_ids(self) -> None:
        conn = await self.connect()
        assert conn.status == 200
        assert "text/event-stream" in conn.headers
        first, second = await self.publish(job_event("j1"), client_event())
        got = [await conn.next_event(), await conn.next_event()]
        assert [int(m["id"]) for m in got] == [first.id, second.id]
        assert got[0]["data"] == first.to_json()
        assert got[1]["data"]["kind"] == "client"

    @gen_test
    async def test_job_filter_passes_only_that_jobs_events(self) -> None:
        conn = await self.connect("/events?job=j2")
        task = make("task", "j2_0", "queued", "completed", "report-j2_0_0", job_id="j2")
        await self.publish(job_event("j1"), client_event(), task, job_event("j2"))
        got = [await conn.next_event(), await conn.next_event()]
        assert [m["data"]["subject"] for m in got] == ["j2_0", "j2"]

    @gen_test
    async def test_a_quiet_stream_gets_keep_alive_comments(self) -> None:
        self.config.events.keepalive_s = 0.05
        conn = await self.connect()
        blocks = [await conn.next_block(), await conn.next_block(), await conn.next_block()]
        assert blocks[0].startswith("retry: ")
        assert blocks[-1] == ": keep-alive"

    @gen_test
    async def test_last_event_id_resumes_after_that_event(self) -> None:
        events = await self.publish(*(job_event(f"j{n}") for n in range(4)))
        conn = await self.connect(**{"Last-Event-ID": str(events[1].id)})
        got = [await conn.next_event(), await conn.next_event()]
        assert [int(m["id"]) for m in got] == [events[2].id, events[3].id]
        (live,) = await self.publish(job_event("j9"))
        assert int((await conn.next_event())["id"]) == live.id

    @gen_test
    async def test_a_browser_reopening_with_a_query_id_resumes_too(self) -> None:
        events = await self.publish(job_event("a"), job_event("b"))
        conn = await self.connect(f"/events?last_event_id={events[0].id}")
        assert (await conn.next_event())["data"]["subject"] == "b"

    @gen_test
    async def test_a_gap_tells_the_client_to_reload(self) -> None:
        self.server.events._recent = type(self.server.events._recent)(maxlen=2)
        events = await self.publish(*(job_event(f"j{n}") for n in range(5)))
        conn = await self.connect(**{"Last-Event-ID": "1"})
        reload = await conn.next_event()
        assert reload["event"] == "reload"
        assert reload["data"]["last_id"] == events[-1].id
        (live,) = await self.publish(job_event("next"))
        assert (await conn.next_event())["data"]["subject"] == "next"
        assert live.id > events[-1].id

    @gen_test
    async def test_a_bad_last_event_id_is_a_json_400(self) -> None:
        conn = await self.connect(**{"Last-Event-ID": "yesterday"})
        assert conn.status == 400
        assert b"Last-Event-ID must be a non-negative integer" in await conn.read_all()

    @gen_test
    async def test_a_closed_stream_stops_listening(self) -> None:
        conn = await self.connect()
        conn.close()
        await self.publish(job_event("after-close"))
        await self.until(lambda: self.listeners() == 0)


class SlowReaderTest(EventsTestCase):
    config_overrides = {"events": {"buffer": 5, "keepalive_s": 30}}

    @gen_test(timeout=30)
    async def test_a_reader_that_falls_behind_is_dropped(self) -> None:
        dropped = REGISTRY.get_sample_value("awe_event_streams_dropped_total") or 0.0
        reader = socket.socket()  # a plain socket that is never read (tornado's would read)
        reader.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        reader.connect(("127.0.0.1", self.get_http_port()))
        self.addCleanup(reader.close)
        reader.sendall(b"GET /events HTTP/1.0\r\n\r\n")
        await self.until(lambda: self.listeners() > 0)
        big = "x" * 100_000
        for n in range(400):  # up to 40 MB: far more than the socket buffers hold
            await self.publish(make("job", f"j{n}", "a", "b", "req", detail=big))
            if self.listeners() == 0:
                break
        await self.until(lambda: self.listeners() == 0)
        after = REGISTRY.get_sample_value("awe_event_streams_dropped_total")
        assert after == dropped + 1
        reader.settimeout(5)
        received = 0
        while chunk := reader.recv(1 << 20):  # what was sent before the drop, then the close
            received += len(chunk)
        assert 0 < received < 40_000_000


class RightsTest(EventsTestCase):
    config_overrides = {**AUTH, "events": {"keepalive_s": 30}}

    async def subjects_seen(self, token: str) -> list[str]:
        conn = await self.connect(Authorization=f"Bearer {token}")
        await self.publish(
            job_event("ana-job", owner="ana"),
            job_event("bob-job", owner="bob"),
            client_event("worker-1"),
            make("job", "end", "", "queued", "req", owner="zoe"),
        )
        seen = []
        while not seen or seen[-1] != "worker-1":
            seen.append((await conn.next_event())["data"]["subject"])
        return seen

    @gen_test
    async def test_a_user_sees_own_jobs_and_clients_only(self) -> None:
        assert await self.subjects_seen("ta") == ["ana-job", "worker-1"]

    @gen_test
    async def test_an_admin_sees_every_job(self) -> None:
        assert await self.subjects_seen("tz") == ["ana-job", "bob-job", "worker-1"]

    @gen_test
    async def test_without_credentials_the_stream_is_refused(self) -> None:
        conn = await self.connect()
        assert conn.status == 401
        body = await conn.read_all()
        assert b'"error": ["No Authorization"]' in body


class TicketTest(EventsTestCase):
    config_overrides = {**AUTH, "events": {"keepalive_s": 30, "ticket_ttl_s": 60}}

    async def ticket(self, token: str) -> str:
        response = await self.http_client.fetch(
            self.get_url("/events/ticket"),
            method="POST",
            body=b"",
            headers={"Authorization": f"Bearer {token}"},
        )
        answer = json.loads(response.body)
        assert answer["data"]["user"] == {"ta": "ana", "tb": "bob"}[token]
        return answer["data"]["ticket"]

    @gen_test
    async def test_a_ticket_opens_the_stream_as_its_user(self) -> None:
        ticket = await self.ticket("tb")
        conn = await self.connect(f"/events?ticket={ticket}")
        assert conn.status == 200
        await self.publish(job_event("ana-job", owner="ana"), job_event("bob-job", owner="bob"))
        assert (await conn.next_event())["data"]["subject"] == "bob-job"

    @gen_test
    async def test_a_forged_or_expired_ticket_is_refused_and_not_logged(self) -> None:
        ticket = await self.ticket("ta")
        self.config.events.ticket_ttl_s = 0.000001
        with self.assertLogs(level=logging.INFO) as logs:  # every logger: access and errors
            expired = await self.connect(f"/events?ticket={ticket}")
            forged = await self.connect(f"/events?ticket={ticket[:-4]}AAAA")
            for conn in (expired, forged):
                assert conn.status == 401
                assert b"stream ticket invalid or expired" in await conn.read_all()
        assert ticket not in "\n".join(logs.output)
        assert "ticket=…" in "\n".join(logs.output)

    def test_a_ticket_needs_the_same_rights_as_reading(self) -> None:
        answer = self.call("POST", "/events/ticket")
        assert answer["_code"] == 401
