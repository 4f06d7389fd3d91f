"""The MongoDB store: AWE's own collections (`Jobs`, `Perf`) plus `Reports` and `Counters`.

Used when `store.mongodb.uri` is set. Every pymongo failure becomes StoreUnavailable, so a
request that needed the store answers 503 instead of pretending its write was done.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import unquote

from pymongo import ASCENDING, DESCENDING, MongoClient, ReplaceOne, UpdateOne
from pymongo.errors import ConfigurationError, PyMongoError
from pymongo.write_concern import WriteConcern

from awe.store.base import INDEXED_FIELDS, Batch, JobPart, JobQuery, Report, StoreUnavailable
from awe.store.rules import (
    ALL_READERS,
    DEFAULT_MAX_JID,
    EXPIRABLE_STATES,
    FIRST_REAL_TIME,
    MANY_READERS,
    check_batch,
    check_field,
    check_query,
    date_bounds,
    join_job,
    merge_history,
    merge_workunits,
    page_bounds,
    single_reader,
    sort_distinct,
    unfinished_query,
    visibility,
)

# AWE also indexes the job ACL (spec 7.1); the listing's ACL filter reads it.
ACL_FIELDS = ("acl.owner", "acl.read", "acl.write", "acl.delete")
_JID_COUNTER = "jid"
_NOT_ARRAY = {"$not": {"$type": "array"}}
_NOTHING = {"id": {"$in": []}}
HIDDEN = "_awe"  # what awe adds to a stored job for its own queries; never part of an answer
VISIBILITY, READERS = f"{HIDDEN}.visibility", f"{HIDDEN}.readers"
_SHOWN = {"_id": False, HIDDEN: False}
# the listing's indexes, as the embedded store's job_keys has them: a page in updatetime order,
# alone or after one filter; the readers with the state, for counting
LISTING_INDEXES = [
    [("updatetime", ASCENDING), ("id", ASCENDING)],
    [(VISIBILITY, ASCENDING), ("state", ASCENDING)],
    *(
        [(field, ASCENDING), ("updatetime", ASCENDING), ("id", ASCENDING)]
        for field in ("state", "info.user", "info.project", "info.pipeline")
    ),
]


def uri_hosts(uri: str) -> str:
    """The host list of a MongoDB URI, without user name or password (for logs and errors)."""
    rest = uri.split("://", 1)[1] if "://" in uri else uri
    netloc = rest.split("/", 1)[0].split("?", 1)[0]
    return netloc.rpartition("@")[2] or "localhost"


def _uri_secrets(uri: str) -> list[str]:
    """The password of a MongoDB URI, as written and percent-decoded, longest first."""
    rest = uri.split("://", 1)[1] if "://" in uri else uri
    userinfo = rest.split("/", 1)[0].rpartition("@")[0]
    password = userinfo.partition(":")[2]
    return sorted({s for s in (password, unquote(password)) if s}, key=len, reverse=True)


def _scalar_in(field: str, values: list[str]) -> dict[str, Any]:
    """`field` holds one of `values` as a plain string: no array anywhere along its path.

    Plain Mongo matching would also accept an array holding the value, or a path through an
    array of sub-documents; the embedded store does neither, so neither may Mongo.
    """
    clause: dict[str, Any] = {field: {"$in": values, **_NOT_ARRAY}}
    parts = field.split(".")
    for i in range(1, len(parts)):
        clause[".".join(parts[:i])] = _NOT_ARRAY
    return clause


def _date_range(query: JobQuery) -> dict[str, Any]:
    start, end = date_bounds(query)
    bounds: dict[str, Any] = {"$type": "string", "$gte": start}
    if end is not None:
        bounds["$lt"] = end
    return {"$or": [{field: bounds} for field in ("info.submittime", "info.completedtime")]}


def _readable_by(user: str) -> dict[str, Any]:
    """The jobs `user` may read, by the readers folded into `_awe.visibility` at each write
    (`rules.visibility`): two ranges of one index, as in the embedded store."""
    return {
        "$or": [
            {VISIBILITY: {"$in": [ALL_READERS, single_reader(user)]}},
            {VISIBILITY: MANY_READERS, READERS: user},
        ]
    }


def stored_doc(doc: dict[str, Any]) -> dict[str, Any]:
    """A job as MongoDB keeps it: the document plus its readers under `_awe`, for listings."""
    seen, readers = visibility(doc)
    return {**doc, HIDDEN: {"visibility": seen, "readers": readers or []}}


def _report_doc(report: Report) -> dict[str, Any]:
    return {
        "wuid": report.wuid,
        "name": report.name,
        "job_id": report.job_id,
        "content": bytes(report.content),
    }


def job_filter(query: JobQuery) -> dict[str, Any]:
    """The Mongo filter of a checked query; clauses are AND-ed."""
    clauses = [
        _scalar_in(field, list(values)) if field.split(".")[0] != HIDDEN else _NOTHING
        for field, values in query.filters.items()
    ]
    if query.ids is not None:
        clauses.append({"id": {"$in": list(query.ids)}})
    if query.exclude_ids:
        clauses.append({"id": {"$nin": list(query.exclude_ids)}})
    if query.date_start is not None or query.date_end is not None:
        clauses.append(_date_range(query))
    if query.readable_by is not None:
        clauses.append(_readable_by(query.readable_by))
    return {"$and": clauses} if clauses else {}


def _job_write(part: JobPart) -> ReplaceOne | UpdateOne:
    """A whole job replaces its document; a part sets the job's fields and the changed tasks
    in place (`tasks.<index>`): the tasks stay inside the document, as AWE keeps them."""
    if part.whole:
        return ReplaceOne({"id": part.job_id}, stored_doc(join_job(part)), upsert=True)
    fields = json.loads(part.header)
    seen, readers = visibility(fields)  # the header holds what decides it (acl, info)
    fields[HIDDEN] = {"visibility": seen, "readers": readers or []}
    fields.update({f"tasks.{n}": json.loads(text) for n, text in part.tasks.items()})
    return UpdateOne({"id": part.job_id}, {"$set": fields})


class MongoStore:
    """Durable storage in MongoDB, compatible with AWE's `AWEDB` layout."""

    def __init__(
        self,
        uri: str,
        database: str = "AWEDB",
        timeout_s: float = 10.0,
        w: int | str = 1,
        j: bool = True,
        client: Any = None,
    ) -> None:
        self._hosts = uri_hosts(uri)
        self._secrets = _uri_secrets(uri)
        self._database = database
        try:
            concern = WriteConcern(w=w, j=j)
        except ConfigurationError as err:
            raise ValueError(f"invalid MongoDB write concern w={w!r} j={j!r}: {err}") from None
        self._owns_client = client is None
        self._client = self._connect(uri, timeout_s) if client is None else client
        db = self._client.get_database(database)
        self._jobs = db.get_collection("Jobs", write_concern=concern)
        self._reports = db.get_collection("Reports", write_concern=concern)
        self._perf = db.get_collection("Perf", write_concern=concern)
        self._workunits = db.get_collection("Workunits", write_concern=concern)
        self._history = db.get_collection("History", write_concern=concern)
        self._counters = db.get_collection("Counters", write_concern=concern)
        try:
            with self._errors("create indexes"):
                self._create_indexes()
        except StoreUnavailable:
            self.close()
            raise

    def describe(self) -> str:
        """Where the data lives, for the start-up log line (never with the password)."""
        return f"MongoDB store {self._hosts}/{self._database}"

    def _scrub(self, text: str) -> str:
        for secret in self._secrets:
            text = text.replace(secret, "***")
        return text

    def _connect(self, uri: str, timeout_s: float) -> MongoClient:
        """Connect and ping, so a wrong URI or a dead server stops start-up with a clear line."""
        ms = max(1, int(timeout_s * 1000))
        client = None
        try:
            client = MongoClient(
                uri,
                serverSelectionTimeoutMS=ms,
                connectTimeoutMS=ms,
                # a socket silent this long is dead: fail (503) rather than hang a writer forever
                socketTimeoutMS=max(60_000, 6 * ms),
            )
            client.admin.command("ping")
        except PyMongoError as err:
            if client is not None:
                client.close()
            message = f"cannot reach MongoDB at {self._hosts}: {type(err).__name__}: {err}"
            # `from None`: the original error could echo the URI, password included
            raise StoreUnavailable(self._scrub(message)) from None
        return client

    @contextmanager
    def _errors(self, doing: str) -> Iterator[None]:
        """Turn any pymongo failure into StoreUnavailable naming the store and the operation."""
        try:
            yield
        except PyMongoError as err:
            message = f"{self.describe()}: cannot {doing}: {type(err).__name__}: {err}"
            raise StoreUnavailable(self._scrub(message)) from None

    def _create_indexes(self) -> None:
        """The indexes AWE makes at start-up, plus those of Reports and the jid counter."""
        self._jobs.create_index("id", unique=True)
        for field in (*INDEXED_FIELDS, *ACL_FIELDS):
            if field != "id":
                self._jobs.create_index(field)
        self._reports.create_index([("wuid", ASCENDING), ("name", ASCENDING)], unique=True)
        self._reports.create_index("job_id")
        self._perf.create_index("id", unique=True)
        self._workunits.create_index("wuid", unique=True)
        self._workunits.create_index("job_id")
        self._history.create_index([("job_id", ASCENDING), ("seq", ASCENDING)], unique=True)
        for keys in LISTING_INDEXES:
            self._jobs.create_index(keys)
        self._add_readers()

    def _add_readers(self) -> None:
        """Jobs an earlier version stored have no `_awe` readers yet: add them once."""
        missing = self._jobs.find({HIDDEN: {"$exists": False}}, {"_id": False})
        ops = [ReplaceOne({"id": doc["id"]}, stored_doc(doc)) for doc in missing
               if isinstance(doc.get("id"), str)]  # fmt: skip
        if ops:
            self._jobs.bulk_write(ops, ordered=False)

    def save_batch(self, batch: Batch) -> None:
        """Upsert jobs, then reports, then perf, then the jid counter; raise if any write failed.

        Not atomic across documents: after StoreUnavailable some of the batch may be written,
        and the caller retries the whole batch (every write is an idempotent upsert).
        """
        if not batch:
            return
        checked = check_batch(batch)
        with self._errors("save a batch"):
            if checked.parts:
                self._jobs.bulk_write([_job_write(p) for p in checked.parts.values()],
                                      ordered=False)  # fmt: skip
            if checked.reports:
                ops = [
                    ReplaceOne({"wuid": r.wuid, "name": r.name}, _report_doc(r), upsert=True)
                    for r in checked.reports.values()
                ]
                self._reports.bulk_write(ops, ordered=False)
            if checked.perf:
                ops = [
                    ReplaceOne({"id": k}, doc, upsert=True) for k, (doc, _) in checked.perf.items()
                ]
                self._perf.bulk_write(ops, ordered=False)
            if checked.workunits:
                ops = [
                    ReplaceOne({"wuid": wuid}, dict(row), upsert=True)
                    for wuid, (row, _) in checked.workunits.items()
                ]
                self._workunits.bulk_write(ops, ordered=False)
            if checked.removed_workunits:
                self._workunits.delete_many({"wuid": {"$in": checked.removed_workunits}})
            if checked.history:
                ops = [
                    ReplaceOne({"job_id": job_id, "seq": seq},
                               {"job_id": job_id, "seq": seq, "row": row}, upsert=True)
                    for (job_id, seq), (row, _) in checked.history.items()
                ]  # fmt: skip
                self._history.bulk_write(ops, ordered=False)
            for job_id, first in checked.history_from.items():
                self._history.delete_many({"job_id": job_id, "seq": {"$lt": first}})
            if checked.max_jid is not None:
                self._counters.update_one(
                    {"_id": _JID_COUNTER}, {"$max": {"value": checked.max_jid}}, upsert=True
                )

    def get_job(self, job_id: str) -> dict[str, Any] | None:
        """One job document by id, or None."""
        with self._errors("read a job"):
            job = self._jobs.find_one({"id": job_id}, _SHOWN)
            return self._whole(job) if job else None

    def _whole(self, job: dict[str, Any]) -> dict[str, Any]:
        """The job with the parts stored apart: workunits and history."""
        job_id = job["id"]
        merge_workunits(job, list(self._workunits.find({"job_id": job_id}, {"_id": False})))
        events = self._history.find({"job_id": job_id}, {"_id": False})
        return merge_history(job, [(event["seq"], event["row"]) for event in events])

    def find_jobs(self, query: JobQuery) -> tuple[list[dict[str, Any]], int]:
        """Return one page of matching jobs and the total number of matches."""
        check_query(query)
        flt = job_filter(query)
        offset, limit = page_bounds(query)
        keys = [(query.order, DESCENDING if query.descending else ASCENDING)]
        if query.order != "id":
            keys.append(("id", ASCENDING))
        with self._errors("list jobs"):
            total = self._jobs.count_documents(flt)
            cursor = self._jobs.find(flt, _SHOWN).sort(keys).skip(offset)
            if limit is not None:
                cursor = cursor.limit(limit)
            return list(cursor), total

    def load_unfinished_jobs(self) -> list[dict[str, Any]]:
        """Jobs in UNFINISHED_STATES with their workunits, oldest `info.submittime` first."""
        return self.get_jobs(self.unfinished_job_ids())

    def unfinished_job_ids(self) -> list[str]:
        """Ids of unfinished jobs, oldest `info.submittime` first (ties by id)."""
        flt = job_filter(unfinished_query())
        keys = [("info.submittime", ASCENDING), ("id", ASCENDING)]
        with self._errors("list unfinished jobs"):
            return [
                doc["id"] for doc in self._jobs.find(flt, {"id": True, "_id": False}).sort(keys)
            ]

    def job_history(self, job_id: str) -> list[list[Any]]:
        """A job's history rows, oldest first."""
        with self._errors("read a job's history"):
            events = self._history.find({"job_id": job_id}, {"_id": False}).sort("seq", ASCENDING)
            return [event["row"] for event in events]

    def get_jobs(self, job_ids: list[str], history: bool = True) -> list[dict[str, Any]]:
        """Jobs by id with their workunits and history: three queries, whatever the count."""
        wanted = {"$in": list(job_ids)}
        with self._errors("read jobs"):
            docs = {doc["id"]: doc for doc in self._jobs.find({"id": wanted}, _SHOWN)}
            units: dict[str, list[dict[str, Any]]] = {}
            for row in self._workunits.find({"job_id": wanted}, {"_id": False}):
                units.setdefault(row["job_id"], []).append(row)
            events: dict[str, list[tuple[int, list[Any]]]] = {}
            for event in self._history.find({"job_id": wanted if history else {"$in": []}},
                                            {"_id": False}):  # fmt: skip
                events.setdefault(event["job_id"], []).append((event["seq"], event["row"]))
        return [
            merge_history(
                merge_workunits(docs[job_id], units.get(job_id, [])), events.get(job_id, [])
            )
            for job_id in job_ids
            if job_id in docs
        ]

    def max_jid(self) -> int:
        """The largest jid ever saved, or 10000 when none was."""
        with self._errors("read the jid counter"):
            doc = self._counters.find_one({"_id": _JID_COUNTER})
        return int(doc["value"]) if doc else DEFAULT_MAX_JID

    def delete_job(self, job_id: str) -> bool:
        """Remove a job with its workunits, reports and perf record (not atomic across them:
        a failure part way raises StoreUnavailable and a retry finishes the job)."""
        with self._errors("delete a job"):
            found = self._jobs.delete_one({"id": job_id}).deleted_count
            self._workunits.delete_many({"job_id": job_id})
            self._history.delete_many({"job_id": job_id})
            self._reports.delete_many({"job_id": job_id})
            self._perf.delete_one({"id": job_id})
        return found > 0

    def distinct(self, field: str, query: JobQuery) -> list[Any]:
        """The distinct scalar values of `field` among the jobs matching `query`."""
        check_query(query)
        check_field(field)
        flt = {"$and": [job_filter(query), {field: _NOT_ARRAY}]}
        with self._errors("list distinct values"):
            return sort_distinct(self._jobs.distinct(field, flt))

    def expired_job_ids(self, now: str) -> list[str]:
        """Finished jobs whose expiration is set and has passed (the reaper removes them)."""
        flt = {
            "state": {"$in": list(EXPIRABLE_STATES)},
            "expiration": {"$type": "string", "$gte": FIRST_REAL_TIME, "$lt": now},
        }
        with self._errors("list expired jobs"):
            return sorted(doc["id"] for doc in self._jobs.find(flt, {"id": True, "_id": False}))

    def get_report(self, wuid: str, name: str) -> bytes | None:
        """The content of one stored report file, or None."""
        with self._errors("read a report"):
            doc = self._reports.find_one({"wuid": wuid, "name": name})
        return bytes(doc["content"]) if doc else None

    def job_reports(self, job_id: str, name: str) -> dict[str, bytes]:
        """Every stored report called `name` of a job's workunits, by wuid."""
        with self._errors("read reports"):
            docs = self._reports.find({"job_id": job_id, "name": name}, {"_id": False})
            return {doc["wuid"]: bytes(doc["content"]) for doc in docs}

    def get_perf(self, job_id: str) -> dict[str, Any] | None:
        """The JobPerf document of a job, or None."""
        with self._errors("read a perf record"):
            return self._perf.find_one({"id": job_id}, {"_id": False})

    def close(self) -> None:
        """Close the client this store opened (an injected client belongs to the caller)."""
        if self._owns_client:
            self._client.close()
