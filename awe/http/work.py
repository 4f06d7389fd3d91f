"""`/work`: checkout (with long poll), reports, report files, data token and private env."""

from __future__ import annotations

import itertools
import json
from typing import Any

from pykka import ActorDeadError

from awe.actors.base import SHUTTING_DOWN, new_reply
from awe.actors.bridge import Landing
from awe.actors.messages import (
    ApplyReport,
    CheckClient,
    Checkout,
    GetSecret,
    GetWorkunit,
    Pick,
    ReportWork,
)
from awe.errors import CLIENT_SUSPENDED, NO_WORK, AweError, Timeout, Unavailable
from awe.http.base import APIHandler, UploadHandler, smaller_cap
from awe.http.fastpath import JobRoute, heard_from, worker_card
from awe.http.queue import live_overviews
from awe.model import compat, jsontext
from awe.model.client import ClientStatus
from awe.model.ids import split_work_id
from awe.store.base import Report

REPORT_FILES = ("stdout", "stderr", "worknotes", "perf", "outputs")
NEED_CLIENT = "This request type requires the client=clientid parameter."
LEASED = ("checkout", "suspend")  # workunit states in which a client holds its lease
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
        work = await self._checkout(client_id, available if available >= 0 else None, wait_s)
        if work is None:  # an idle worker's every poll: not raised, so no traceback, no log
            self.reply(None, status=AweError.status, error=[NO_WORK])
            return
        self.reply(work)

    async def _listing(self) -> None:
        """The workunits in the queue (queued, checkout, suspend) of jobs the caller may read;
        with `?query` sorted and paged as AWE's monitor asks (`total_count`)."""
        caller = self.authorize("work.list")
        views = [
            view
            for overview in await live_overviews(self, workunits=True)
            if self.allowed("job.show", caller, acl=overview["acl"])  # the caller's own
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

    async def _checkout(self, client_id: str, available: int | None, wait_s: float) -> Any:
        """To the queue's pick, with the client's card (awe/http/fastpath.py); without one,
        through the registry (is the client known, not suspended?). None: no work."""
        reply, token, stimulus = new_reply(), next(_wait_tokens), self.request_id
        card = worker_card(self, client_id)
        if card is not None and card.status != ClientStatus.DELETED:
            if card.status == ClientStatus.SUSPEND:
                raise AweError(CLIENT_SUSPENDED)
            heard_from(self, client_id)  # a waiting checkout is a sign of life too
            target: Any = self.services.queue
            command: Any = Pick(client=card.view, available=available, wait_s=wait_s,
                                wait_token=token, reply=reply, stimulus=stimulus)  # fmt: skip
        else:
            target = self.services.registry
            command = Checkout(client_id=client_id, token=self.cg_token(), available=available,
                               proof=self.proof(client_id), wait_s=wait_s, wait_token=token,
                               stimulus=stimulus, reply=reply)  # fmt: skip
        try:
            target.tell(command)
        except ActorDeadError as err:
            raise Unavailable(SHUTTING_DOWN) from err
        # the long poll runs out: no work (None), unless a pick answered first (then its lease,
        # being made durable, answers; a lease that finds the checkout answered goes back)
        deadline = self.config.api.ask_timeout_s
        try:
            return await Landing.current().wait(reply, deadline, wait_s)
        except TimeoutError:
            raise Timeout(
                f"no answer within {deadline:g} s (request {self.request_id}); "
                "it may still take effect"
            ) from None


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
        return await self._readable_unit(wuid, "work.show")

    async def _readable_unit(self, wuid: str, key: str) -> dict[str, Any]:
        """The workunit, if the caller may see it: its job's readers, or its lease holder."""
        client_id = self.arg("client")
        worker = None
        if client_id is not None:  # a worker reading its own workunit
            worker = await self.ask(self.services.registry, CheckClient, client_id=client_id,
                                    token=self.cg_token(), proof=self.proof(client_id))  # fmt: skip
        self.authorize(key, worker=worker)
        job_id, _, _ = split_work_id(wuid)
        view, acl = await self.ask(self.services.queue, GetWorkunit, job_id=job_id, wuid=wuid)
        holder = view["client"] if view["state"] in LEASED else ""
        self.authorize(key, worker=worker, acl=acl, holder=holder)
        return view

    async def _report_file(self, wuid: str, name: str) -> None:
        if name not in ("stdout", "stderr", "worknotes", "perf"):
            raise AweError(f"log type '{name}' not found")
        await self._readable_unit(wuid, "work.report_file")
        content = await self.read_store(self.services.store.get_report, wuid, name)
        if content is None:
            raise AweError(f"log type '{name}' not found")
        self.reply(content.decode(errors="replace"))

    async def _secret(self, wuid: str, kind: str) -> None:
        client_id = self.arg("client")
        if not client_id:
            raise AweError(NEED_CLIENT)
        value = await self.ask(self.services.registry, GetSecret, client_id=client_id,
                               token=self.cg_token(), proof=self.proof(client_id), wuid=wuid,
                               kind=kind)  # fmt: skip
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
        if worker_card(self, client_id) is not None:  # straight to the job's actor
            answer = await self.ask(
                JobRoute(self.services), ApplyReport, job_id=job_id, wuid=wuid,
                client=client_id, status=status, computetime=computetime, notes=notes,
                reports=tuple(reports),
            )  # fmt: skip
        else:
            answer = await self.ask(
                self.services.registry, ReportWork, client_id=client_id, token=self.cg_token(),
                proof=self.proof(client_id), wuid=wuid, status=status, computetime=computetime,
                notes=notes, reports=tuple(reports),
            )  # fmt: skip
        self.reply("ok" if answer is None else answer)


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
