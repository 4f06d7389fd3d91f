"""A scripted stand-in for awe-server's worker API, to test the worker's loops in isolation.

It speaks the envelope and the exact error strings of spec 14; tests queue workunit documents,
inject errors and heartbeat instructions, and read back registrations and reports.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

import tornado.web

from tests.worker.httpthread import ServerThread


@dataclass
class Report:
    wuid: str
    status: str
    client: str
    computetime: str
    parts: dict[str, bytes]

    def json(self, part: str) -> Any:
        return json.loads(self.parts[part])


@dataclass
class FakeAwe:
    registrations: list[dict[str, Any]] = field(default_factory=list)
    clients: dict[str, dict[str, Any]] = field(default_factory=dict)
    queue: list[dict[str, Any]] = field(default_factory=list)
    held: dict[str, str] = field(default_factory=dict)  # wuid -> client id
    reports: list[Report] = field(default_factory=list)
    checkouts: list[str] = field(default_factory=list)
    polls: int = 0  # checkout requests received
    heartbeats: int = 0
    instructions: dict[str, str] = field(default_factory=dict)  # sent once, then cleared
    checkout_errors: list[str] = field(default_factory=list)  # answered first, one per checkout
    report_failures: int = 0  # answer this many reports with 503 first
    report_refusal: str = ""  # answer every report with this 400 error
    report_attempts: int = 0
    registration_failures: int = 0  # answer this many registrations with 503 first
    datatokens: dict[str, str] = field(default_factory=dict)
    privateenvs: dict[str, dict[str, str]] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)
    server: ServerThread | None = None

    def start(self, port: int = 0) -> FakeAwe:
        app = tornado.web.Application(
            [
                (r"/client", ClientsHandler, {"awe": self}),
                (r"/client/([^/]+)", ClientHandler, {"awe": self}),
                (r"/work", CheckoutHandler, {"awe": self}),
                (r"/work/([^/]+)", WorkHandler, {"awe": self}),
            ]
        )
        self.server = ServerThread(app, port).start()
        return self

    @property
    def url(self) -> str:
        assert self.server is not None
        return self.server.url

    def stop(self) -> None:
        if self.server is not None:
            self.server.stop()

    def add_work(self, doc: dict[str, Any]) -> None:
        with self.lock:
            self.queue.append(doc)

    def forget_clients(self) -> None:
        """What a restarted server knows about clients: nothing."""
        with self.lock:
            self.clients.clear()

    def reports_for(self, wuid: str) -> list[Report]:
        with self.lock:
            return [r for r in self.reports if r.wuid == wuid]


class Handler(tornado.web.RequestHandler):
    def initialize(self, awe: FakeAwe) -> None:
        self.awe = awe

    def answer(self, data: Any = None, error: str | None = None, status: int | None = None) -> None:
        code = status or (400 if error else 200)
        self.set_status(code)
        self.set_header("Content-Type", "application/json")
        self.finish(json.dumps({"status": code, "data": data, "error": [error] if error else None}))

    def client_id(self) -> str:
        return self.get_query_argument("client", "")


class ClientsHandler(Handler):
    def post(self) -> None:
        profile = json.loads(self.request.files["profile"][0]["body"])
        with self.awe.lock:
            if self.awe.registration_failures > 0:
                self.awe.registration_failures -= 1
                self.answer(error="store unavailable", status=503)
                return
            self.awe.registrations.append(profile)
            record = {**profile, "id": profile.get("id") or str(uuid.uuid4())}
            record["current_work"] = dict(profile.get("current_work") or {})
            self.awe.clients[record["id"]] = record
            for wuid in record["current_work"]:
                self.awe.held[wuid] = record["id"]
        self.answer(record)


class ClientHandler(Handler):
    def get(self, client_id: str) -> None:
        with self.awe.lock:
            if client_id not in self.awe.clients:
                self.answer(error="Client not found")
                return
            self.awe.heartbeats += 1
            instructions, self.awe.instructions = self.awe.instructions, {}
        self.answer(instructions)


class CheckoutHandler(Handler):
    async def get(self) -> None:
        client = self.client_id()
        with self.awe.lock:
            self.awe.polls += 1
        deadline = time.monotonic() + float(self.get_query_argument("wait", "0") or 0)
        while True:
            with self.awe.lock:
                if client not in self.awe.clients:
                    self.answer(error="Client not found")
                    return
                if self.awe.checkout_errors:
                    self.answer(error=self.awe.checkout_errors.pop(0))
                    return
                if self.awe.queue:
                    doc = self.awe.queue.pop(0)
                    self.awe.held[doc["wuid"]] = client
                    self.awe.checkouts.append(doc["wuid"])
                    self.answer({**doc, "client": client, "state": "checkout"})
                    return
            if time.monotonic() >= deadline:
                self.answer(error="No eligible workunit found")
                return
            await asyncio.sleep(0.02)


class WorkHandler(Handler):
    def get(self, wuid: str) -> None:
        with self.awe.lock:
            if self.awe.held.get(wuid) != self.client_id():
                self.answer(error=f"error in getting token for job {wuid}")
                return
            if "datatoken" in self.request.arguments:
                self.set_header("Datatoken", self.awe.datatokens.get(wuid, ""))
            if "privateenv" in self.request.arguments:
                self.set_header("Privateenv", json.dumps(self.awe.privateenvs.get(wuid, {})))
        self.answer(None)

    def put(self, wuid: str) -> None:
        client = self.client_id()
        with self.awe.lock:
            self.awe.report_attempts += 1
            if self.awe.report_refusal:
                self.answer(error=self.awe.report_refusal)
                return
            if client not in self.awe.clients:
                self.answer(error="Client not found")
                return
            if self.awe.report_failures > 0:
                self.awe.report_failures -= 1
                self.answer(error="store unavailable", status=503)
                return
            parts = {k: v[0]["body"] for k, v in self.request.files.items()}
            self.awe.reports.append(
                Report(
                    wuid,
                    self.get_query_argument("status"),
                    client,
                    self.get_query_argument("computetime", ""),
                    parts,
                )
            )
            self.awe.held.pop(wuid, None)
        self.answer("ok")
