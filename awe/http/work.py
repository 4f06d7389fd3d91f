"""`/work`: checkout (with long poll), reports, report files, data token and private env."""

from __future__ import annotations

import asyncio
import itertools
import json
from typing import Any

from awe.actors.base import new_reply
from awe.errors import NO_WORK, AweError, NotFound, Unauthorized
from awe.http.base import APIHandler, UploadHandler, smaller_cap
from awe.http.queue import live_overviews
from awe.model import compat, jsontext
from awe.model.ids import split_work_id
from awe.model.job import Job
from awe.model.lifecycle import find_unit, workunit_view
from awe.store.base import Report

REPORT_FILES = ("stdout", "stderr", "worknotes", "perf", "outputs")
NEED_CLIENT = "This request type requires the client=clientid parameter."
_wait_tokens = itertools.count(1)


class WorkListHandler(APIHandler):
    """`GET /work?client=C[&available=bytes][&wait=s]` checks out one workunit (spec 5.3, D7)."""

    async def get(self) -> None:
        client_id = self.arg("client")
        if client_id is None:
            await self._listing()
            return
        available = self.int_arg("available", -1)
        wait_s = self.number_arg("wait", 0.0)
        wait_s = max(0.0, min(wait_s, self.config.queue.max_checkout_wait_s))
        self.reply(await self._checkout(client_id, available if available >= 0 else None, wait_s))

    async def _listing(self) -> None:
        """The workunits in the queue (queued, checkout, suspend) of jobs the caller may read;
        with `?query` sorted and paged as AWE's monitor asks (`total_count`)."""
        self.require("read")
        views = [
            view
            for overview in await live_overviews(self, workunits=True)
            if self._readable(overview["acl"])
            for view in overview["views"]
        ]
        state = self.arg("state")
        if state:
            views = [view for view in views if view["state"] == state]
        if not self.flag("query"):
            self.reply(views)
            return
        limit, rows = self.listing_page()
        offset = self.int_arg("offset", 0, low=0)
        descending = (self.arg("direction") or "desc") == "desc"
        ordered = compat.sort_workunits(views, self.arg("order") or "info.submittime", descending)
        self.check_all_fit(limit, len(ordered) - offset, rows, "workunits")
        page = ordered[offset : offset + rows]
        self.reply(page, limit=limit, offset=offset, total_count=len(ordered))

    def _readable(self, acl: dict[str, Any]) -> bool:
        try:
            self.check_acl({"acl": acl}, "read")
        except Unauthorized:
            return False
        return True

    async def _checkout(self, client_id: str, available: int | None, wait_s: float) -> Any:
        registry = self.services.registry
        token = next(_wait_tokens)
        reply = new_reply()
        registry.checkout.defer(client_id, self.cg_token(), available, wait_s, token, reply=reply)
        waiting = asyncio.wrap_future(reply)
        if wait_s <= 0:
            return await waiting
        try:
            return await asyncio.wait_for(asyncio.shield(waiting), timeout=wait_s)
        except TimeoutError:
            # Through the registry, so the cancel reaches the queue after the checkout did.
            await self.ask(registry.cancel_wait, token)
            if reply.done():
                return await waiting
            raise AweError(NO_WORK) from None


class WorkHandler(UploadHandler):
    """`/work/{wuid}`: view, `?report=`, `?datatoken`, `?privateenv`, and status reports."""

    def body_limit(self) -> tuple[int, str]:
        return smaller_cap(self.config.report_limit, self._server_cap())

    async def get(self, wuid: str) -> None:
        wuid = compat.decode_work_id(wuid)
        if self.flag("status"):
            await self._report(wuid)
        elif self.flag("datatoken") or self.flag("privateenv"):
            await self._secret(wuid, "datatoken" if self.flag("datatoken") else "privateenv")
        elif self.flag("report"):
            await self._report_file(wuid, self.arg("report") or "")
        else:
            self.reply(await self._view(wuid))

    async def put(self, wuid: str) -> None:
        await self._report(compat.decode_work_id(wuid))

    async def _view(self, wuid: str) -> dict[str, Any]:
        self.require("read")
        job_id, _, _ = split_work_id(wuid)
        view = await self.ask(self.services.queue.route, job_id, "workunit", wuid)
        if view is not None:
            return view
        doc = await self.read_store(self.services.store.get_job, job_id)
        if doc is None:
            raise AweError(f"job not found:{job_id}")
        job = Job.from_doc(doc)
        task, unit = find_unit(job, wuid)
        return workunit_view(job, task, unit)

    async def _report_file(self, wuid: str, name: str) -> None:
        self.require("read")
        split_work_id(wuid)
        if name not in ("stdout", "stderr", "worknotes", "perf"):
            raise AweError(f"log type '{name}' not found")
        content = await self.read_store(self.services.store.get_report, wuid, name)
        if content is None:
            raise AweError(f"log type '{name}' not found")
        self.reply(content.decode(errors="replace"))

    async def _secret(self, wuid: str, kind: str) -> None:
        client_id = self.arg("client")
        if not client_id:
            raise AweError(NEED_CLIENT)
        registry = self.services.registry
        value = await self.ask(registry.secret, client_id, self.cg_token(), wuid, kind)
        if value is None:
            raise AweError(f"error in getting token for job {wuid}")
        header = "Datatoken" if kind == "datatoken" else "Privateenv"
        self.set_header(header, value if isinstance(value, str) else json.dumps(value))
        self.reply(None)

    async def _report(self, wuid: str) -> None:
        client_id = self.arg("client")
        if not client_id:
            raise AweError(NEED_CLIENT)
        status = self.arg("status") or ""
        if status not in ("done", "fail", "discarded"):
            raise AweError(f"invalid status: {status!r} (done, fail or discarded)")
        job_id, _, _ = split_work_id(wuid)
        computetime = self.int_arg("computetime", 0)
        self.parse_body()
        reports, notes = [], ""
        if self.flag("report") or self.request.files:
            for name in REPORT_FILES:
                content = self.file(name)
                if content:
                    reports.append(Report(job_id, wuid, name, content))
            _check_outputs(self.file("outputs"))
            notes = (self.file("notes") or b"").decode(errors="replace")[-4096:]
        answer = await self.ask(
            self.services.registry.report,
            client_id, self.cg_token(), wuid, status, computetime, notes, reports,
        )  # fmt: skip
        if answer is None:  # the job is not live: a late report is "ok" only if the unit exists
            await self._stored_unit(job_id, wuid)
        self.reply("ok" if answer is None else answer)

    async def _stored_unit(self, job_id: str, wuid: str) -> None:
        """404 unless the store holds the job and that workunit (a report for nothing is not ok)."""
        doc = await self.read_store(self.services.store.get_job, job_id)
        if doc is None:
            raise NotFound(f"no workunit found with id {wuid}")
        try:
            find_unit(Job.from_doc(doc), wuid)
        except AweError:
            raise NotFound(f"no workunit found with id {wuid}") from None


def _check_outputs(content: bytes | None) -> None:
    """awe's `outputs` part is JSON the job actor reads: refuse what it could not hold."""
    if content:
        try:
            jsontext.loads(content)
        except ValueError as err:
            raise AweError(f"report part outputs is not valid JSON: {err}") from None


routes = [
    (r"/work/?", WorkListHandler),
    (r"/work/(base64:.+)", WorkHandler),  # standard base64 may hold a '/'
    (r"/work/([^/]+)/?", WorkHandler),
]
