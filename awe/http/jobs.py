"""`/job` and `/job/{id}`: submit, list, query, show, and every job operation (spec 8.5)."""

from __future__ import annotations

import asyncio
import functools
import json
import uuid
from typing import Any

import tornado.ioloop

from awe.actors.messages import (
    Dormant,
    GetJob,
    Insert,
    LiveAmong,
    OperateJob,
    Purge,
    Registered,
    SubmitJob,
)
from awe.errors import AweError, NotImplementedOp
from awe.http.base import APIHandler, UploadHandler, decode_arg, smaller_cap
from awe.model import compat, expiration
from awe.model.compat import parse_submission
from awe.model.job import public_job
from awe.model.jobimport import import_document
from awe.model.times import normalise_date, now
from awe.store import check_field
from awe.store.base import UNFINISHED_STATES, JobQuery

RESERVED = {
    "limit", "offset", "query", "recent", "order", "direction", "active", "suspend",
    "registered", "verbosity", "userattr", "distinct", "date_start", "date_end", "callback",
    "always200", "method",
}  # fmt: skip


SECRET_FIELDS = ("datatoken", "environ.private")  # never a filter or an order: an oracle


def is_field(name: str) -> bool:
    """A job field a query may filter or sort on (not one that holds a secret)."""
    if any(secret in name for secret in SECRET_FIELDS):
        return False
    try:
        check_field(name)
    except ValueError:
        return False
    return True


# the states of the jobs in the queue that `?active`, `?suspend` and `?registered` list
LIVE_STATES = {
    "active": ("queued", "in-progress"),
    "suspend": ("suspend",),
    "registered": UNFINISHED_STATES,
}

JOB_OPS = (
    "suspend", "resume", "resubmit", "recover", "recompute", "clientgroup", "priority",
    "pipeline", "expiration",
)  # fmt: skip


class JobsHandler(UploadHandler):
    """`/job`: POST submits, GET lists and queries, PUT ?resumeall, DELETE ?suspend|?zombie."""

    def body_limit(self) -> tuple[int, str]:
        limits = self.config.limits
        return smaller_cap((limits.job_script_bytes, "limits.job_script_bytes"), self._server_cap())

    async def post(self) -> None:
        user = self.authorize("job.submit").user
        self.parse_body()
        content_type = self.request.headers.get("Content-Type", "")
        if not content_type.startswith("multipart/form-data"):
            raise AweError("No job file is submitted")
        imported = self.file("import")
        if imported is not None:
            self.reply(await self._import(imported, user))
            return
        script = self.file("upload")
        if script is None:
            raise AweError("No job script or awf is submitted")
        token = self.request.headers.get("Datatoken") or None
        parse = functools.partial(
            parse_submission, script, job_id=str(uuid.uuid4()), now=now(), owner=user,
            datatoken=token, limits=self.config.limits,
        )  # fmt: skip
        loop = tornado.ioloop.IOLoop.current()  # a 16 MiB script must not stall other requests
        job = await loop.run_in_executor(self.services.executor, parse)
        self.reply(await self.ask(self.services.queue, SubmitJob, job=job))

    async def _import(self, raw: bytes, owner: str) -> dict[str, Any]:
        """AWE v0.9.30's `import`: a finished job's document is stored, not run."""
        convert = functools.partial(import_document, raw, owner=owner, now=now())
        loop = tornado.ioloop.IOLoop.current()
        doc = await loop.run_in_executor(self.services.executor, convert)
        return public_job(
            await self.ask(self.services.snapshots, Insert, doc=doc), registered=False
        )

    async def get(self) -> None:
        user = self.authorize("job.list").user
        if self.flag("distinct"):
            self.reply(await self._distinct(user))
            return
        limit, page = self.listing_page()
        offset = self.int_arg("offset", 0, low=0)
        order = self.arg("order") or self.config.queue.default_order
        if not is_field(order):
            raise AweError(f"invalid order field: {order}")
        query = JobQuery(
            order=order,
            descending=(self.arg("direction") or "desc") == "desc",
            offset=offset,
            limit=page,
            readable_by=None if self.is_admin(user) else user,
        )
        if self.flag("query"):
            query.filters = self._filters()
            query.date_start = self._date("date_start")
            query.date_end = self._date("date_end")
        await self._live_only(query)
        docs, total = await self.read_store(self.services.store.find_jobs, query)
        self.check_all_fit(limit, total - offset, page, "jobs")
        live = await self.ask(self.services.queue, LiveAmong, job_ids=tuple(d["id"] for d in docs))
        registered = set(live)
        jobs = [public_job(doc, doc["id"] in registered) for doc in docs]
        self.reply(jobs, limit=limit, offset=offset, total_count=total)

    async def _live_only(self, query: JobQuery) -> None:
        """`?active`, `?suspend`, `?registered`: the jobs in the queue (spec 7.5) in those
        states, as the store has them; unfinished jobs without an actor (recovery off) are
        left out. A filter on state, not a list of every live job's id."""
        wanted = [states for flag, states in LIVE_STATES.items() if self.flag(flag)]
        if not wanted:
            return
        states = set(query.filters.get("state", UNFINISHED_STATES))
        for allowed in wanted:
            states &= set(allowed)
        query.filters["state"] = sorted(states)
        dormant = await self.ask(self.services.queue, Dormant)
        if dormant:
            query.exclude_ids = sorted({*(query.exclude_ids or ()), *dormant})

    async def _distinct(self, user: str) -> list[Any]:
        """`?distinct=<info field>`: the values AWE's monitor offers as filters (v0.9.30)."""
        name = self.arg("distinct") or ""
        if name not in compat.DISTINCT_FIELDS:
            raise AweError(f"unable to run distinct query on non-indexed info field: {name}")
        query = JobQuery(readable_by=None if self.is_admin(user) else user)
        if self.flag("query"):
            query.filters = self._filters()
            query.date_start = self._date("date_start")
            query.date_end = self._date("date_end")
        return await self.read_store(self.services.store.distinct, f"info.{name}", query)

    def _filters(self) -> dict[str, list[str]]:
        filters: dict[str, list[str]] = {}
        for key, raw_values in self.request.query_arguments.items():
            if key in RESERVED:
                continue
            if not is_field(key):
                raise AweError(f"invalid query field: {key}")
            values = [decode_arg(key, v) for v in raw_values]
            if len(values) == 1:
                values = values[0].split(",")
            filters[key] = values
        return filters

    def _date(self, name: str) -> str | None:
        value = self.arg(name)
        if not value:
            return None
        try:
            return normalise_date(value)
        except ValueError as err:
            raise AweError(str(err)) from None

    async def put(self) -> None:
        caller = self.authorize("job.resumeall")  # each job's actor checks it is the caller's
        if not self.flag("resumeall"):
            raise NotImplementedOp()
        queue = self.services.queue
        live = await self.ask(queue, Registered)
        results = await asyncio.gather(
            *(
                self.ask(queue, OperateJob, job_id=j, op="resume", caller=caller)
                for j in live["suspend"]
            ),
            return_exceptions=True,
        )
        resumed = sum(1 for r in results if not isinstance(r, BaseException))
        self.reply(f"{resumed} suspended jobs resumed")

    async def delete(self) -> None:
        caller = self.authorize("job.delete_many")  # each job's actor checks it is the caller's
        queue = self.services.queue
        if self.flag("suspend"):
            live = await self.ask(queue, Registered)
            targets = live["suspend"]
            label = "suspended"
        elif self.flag("zombie"):
            live = await self.ask(queue, Registered)
            query = JobQuery(
                filters={"state": ["queued", "in-progress"]},
                exclude_ids=live["registered"],
                limit=0,
            )
            docs, _ = await self.read_store(self.services.store.find_jobs, query)
            targets = [doc["id"] for doc in docs]
            label = "zombie"
        else:
            raise NotImplementedOp()
        results = await asyncio.gather(
            *(
                self.ask(queue, OperateJob, job_id=j, op="delete", caller=caller, right="delete")
                for j in targets
            ),
            return_exceptions=True,
        )
        done = [
            j for j, r in zip(targets, results, strict=True) if not isinstance(r, BaseException)
        ]
        if self.flag("full"):
            for job_id in done:
                await self.ask(self.services.snapshots, Purge, job_id=job_id)
        self.reply(f"deleted {len(done)} {label} jobs")


class JobHandler(APIHandler):
    """`/job/{id}`: show (`?perf`, `?history`), operate, delete."""

    async def get(self, job_id: str) -> None:
        self.authorize("job.show")
        view, acl = await self.ask(self.services.queue, GetJob, job_id=job_id,
                                   history=self.flag("history"))  # fmt: skip
        self.authorize("job.show", acl=acl)
        if self.flag("perf") and not self.flag("history"):
            self.reply(await self._perf(view))
            return
        self.reply(view)

    async def _perf(self, doc: dict[str, Any]) -> dict[str, Any]:
        """AWE's JobPerf (spec 9.1) from the job's own dates and the workers' perf reports."""
        stored = await self.read_store(self.services.store.job_reports, doc["id"], "perf")
        work_stats: dict[str, Any] = {}
        for wuid, raw in sorted(stored.items()):
            try:
                work_stats[wuid] = json.loads(raw)
            except ValueError:
                work_stats[wuid] = {"raw": raw.decode(errors="replace")}
        return compat.perf_doc(doc, work_stats)

    async def put(self, job_id: str) -> None:
        op, arg = self._operation(job_id)
        caller = self.authorize("job.operate")  # the job's actor checks its ACL
        answer = await self.ask(self.services.queue, OperateJob, job_id=job_id, op=op, arg=arg,
                                caller=caller)  # fmt: skip
        self.reply(answer)

    def _operation(self, job_id: str) -> tuple[str, Any]:
        present = [op for op in JOB_OPS if self.flag(op)]
        if not present:
            raise AweError("requested job operation not supported")
        op = present[0]
        if op == "recover":
            op = "resubmit"
        arg: Any = None
        if op == "recompute":
            arg = self.arg("recompute") or ""
            if not arg:
                raise AweError("lacking stage id from which the recompute starts")
        elif op == "clientgroup":
            arg = self.arg("clientgroup") or ""
            if not arg:
                raise AweError("lacking clientgroup name")
        elif op in ("pipeline", "expiration"):
            arg = self.arg(op) or ""
            if not arg:
                raise AweError(f"lacking {op} value")
            if op == "expiration" and not expiration.valid(arg):
                raise AweError(
                    f"failed to set the expiration for job: {job_id} "
                    f"expiration format '{arg}' is invalid"
                )
        elif op == "priority":
            arg = self.int_arg("priority", 0, low=-(2**63))
            if arg < 1:
                raise AweError("priority must be an integer of at least 1")
        return op, arg

    async def delete(self, job_id: str) -> None:
        caller = self.authorize("job.delete")  # the job's actor checks its ACL
        options = {"only_suspended": self.flag("suspend"), "full": self.flag("full")}
        answer = await self.ask(self.services.queue, OperateJob, job_id=job_id, op="delete",
                                arg=options, caller=caller, right="delete")  # fmt: skip
        if options["full"]:  # AWE v0.9.30: the document goes too, with its workunits and reports
            await self.ask(self.services.snapshots, Purge, job_id=job_id)
        self.reply(answer)


routes = [
    (r"/job/?", JobsHandler),
    (r"/job/([^/]+)/?", JobHandler),
]
