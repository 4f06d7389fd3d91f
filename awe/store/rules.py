"""Rules both back-ends apply the same way, so that their answers cannot drift apart.

Field names, jid parsing, batch validation and paging live here once; `embedded.py` and
`mongo.py` only translate a checked `JobQuery` into their own query language.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

import orjson

from awe.model.expiration import EXPIRABLE_STATES  # noqa: F401 - one truth, for the back-ends
from awe.store.base import UNFINISHED_STATES, Batch, JobPart, JobQuery, Report

DEFAULT_MAX_JID = 10000

_FIELD = re.compile(r"[A-Za-z0-9_]+(\.[A-Za-z0-9_]+)*")


def check_field(name: str) -> str:
    """Return `name` if it is a plain dotted field; field names reach SQL and Mongo paths."""
    if not isinstance(name, str) or not _FIELD.fullmatch(name):
        raise ValueError(f"invalid field name: {name}")
    return name


def check_query(query: JobQuery) -> JobQuery:
    """Refuse a query with a bad field name before any back-end builds a statement from it."""
    for name in query.filters:
        check_field(name)
    check_field(query.order)
    return query


# Just after the zero time AWE writes for an unset time: a date range never reaches back to it,
# so a job that has not completed is not "completed before" any date.
FIRST_REAL_TIME = "0001-01-01T00:00:01.000000Z"


def date_bounds(query: JobQuery) -> tuple[str, str | None]:
    """The [start, end) of a date query, its start never at or before an unset (zero) time."""
    start = max(query.date_start or FIRST_REAL_TIME, FIRST_REAL_TIME)
    return start, query.date_end


def page_bounds(query: JobQuery) -> tuple[int, int | None]:
    """(offset, limit) with a negative offset read as 0 and a limit <= 0 as 'no limit'."""
    offset = max(0, int(query.offset))
    limit = int(query.limit)
    return offset, (limit if limit > 0 else None)


def sort_distinct(values: list[Any]) -> list[Any]:
    """Scalar values only (no null, object or array), each once, numbers first then strings."""
    kept = {(isinstance(v, str), v) for v in values if isinstance(v, str | int | float | bool)}
    return [value for _, value in sorted(kept, key=lambda pair: (pair[0], pair[1]))]


def unfinished_query() -> JobQuery:
    """The listing start-up recovery reads: unfinished jobs, oldest submission first."""
    return JobQuery(
        filters={"state": list(UNFINISHED_STATES)},
        order="info.submittime",
        descending=False,
        offset=0,
        limit=0,
    )


def jid_number(job: dict[str, Any]) -> int | None:
    """The job's jid as an int (jids are decimal strings), or None when it has none."""
    jid = job.get("jid")
    if isinstance(jid, bool):
        return None
    if isinstance(jid, int):
        return jid
    if isinstance(jid, str) and jid.isascii() and jid.isdigit():
        return int(jid)
    return None


def encode_doc(doc: dict[str, Any], what: str) -> str:
    """JSON text of `doc`; documents must survive a JSON round trip on every back-end (the
    standard module: orjson would write NaN as null, where this refuses it)."""
    try:
        return json.dumps(doc, allow_nan=False, separators=(",", ":"))
    except (TypeError, ValueError) as err:
        raise ValueError(f"{what} cannot be stored as JSON: {err}") from err


def decode_doc(text: str | bytes) -> Any:
    """A stored document back from its JSON text: orjson (2.3 x json's speed on job documents,
    most of a restart's reading), the standard module for what orjson declines (an integer
    past 64 bits)."""
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        return json.loads(text)


def split_job(doc: dict[str, Any], what: str = "job") -> JobPart:
    """A whole job document as a whole `JobPart`: its fields, and each task as its own text.

    A document without a (non-empty) task list is kept whole in `header`.
    """
    doc_id = doc.get("id") if isinstance(doc, dict) else None
    if not isinstance(doc_id, str) or not doc_id:
        raise ValueError(f"{what} document without a string id: {str(doc)[:80]}")
    tasks = doc.get("tasks")
    jid = doc.get("jid")
    if not isinstance(tasks, list) or not tasks:
        return JobPart(doc_id, jid, encode_doc(doc, f"{what} {doc_id}"), {}, True)
    header = {k: v for k, v in doc.items() if k != "tasks"}
    texts = {n: encode_doc(task, f"{what} {doc_id} task {n}") for n, task in enumerate(tasks)}
    return JobPart(doc_id, jid, encode_doc(header, f"{what} {doc_id}"), texts, True)


def join_job(part: JobPart, stored_tasks: list[Any] | None = None) -> dict[str, Any]:
    """The job document of a whole part (or of a header with the tasks stored apart)."""
    doc = json.loads(part.header)
    if "tasks" not in doc and (part.tasks or stored_tasks):
        doc["tasks"] = stored_tasks or [json.loads(part.tasks[n]) for n in sorted(part.tasks)]
    return doc


@dataclass
class CheckedBatch:
    """A batch that passed validation: the last version of each document, already encoded.

    `parts` holds every job of the batch, whole documents as whole parts with the batch's
    partial changes applied after them, one per job.
    """

    parts: dict[str, JobPart]
    reports: dict[tuple[str, str], Report]
    perf: dict[str, tuple[dict[str, Any], str]]
    max_jid: int | None
    workunits: dict[str, tuple[dict[str, Any], str]] = field(default_factory=dict)
    removed_workunits: list[str] = field(default_factory=list)
    history: dict[tuple[str, int], tuple[list[Any], str]] = field(default_factory=dict)
    history_from: dict[str, int] = field(default_factory=dict)


def _workunit_rows(rows: list[dict[str, Any]]) -> dict[str, tuple[dict[str, Any], str]]:
    """Workunit rows by `wuid`, the later one winning; each names its job and task."""
    out: dict[str, tuple[dict[str, Any], str]] = {}
    for row in rows:
        if not isinstance(row, dict):
            raise ValueError(f"workunit row is not a document: {str(row)[:80]}")
        for key in ("wuid", "job_id", "taskid"):
            if not isinstance(row.get(key), str) or not row[key]:
                raise ValueError(f"workunit row without a string {key}: {str(row)[:80]}")
        if not isinstance(row.get("rank"), int):
            raise ValueError(f"workunit row {row['wuid']} without an integer rank")
        out[row["wuid"]] = (row, encode_doc(row, f"workunit {row['wuid']}"))
    return out


def _history_rows(rows: list[dict[str, Any]]) -> dict[tuple[str, int], tuple[list[Any], str]]:
    """History rows by (job id, seq), each a JSON list."""
    out: dict[tuple[str, int], tuple[list[Any], str]] = {}
    for row in rows:
        if not isinstance(row, dict) or not isinstance(row.get("job_id"), str):
            raise ValueError(f"history row without a string job_id: {str(row)[:80]}")
        seq, event = row.get("seq"), row.get("row")
        if not isinstance(seq, int) or isinstance(seq, bool) or not isinstance(event, list):
            raise ValueError(f"history row of job {row['job_id']} needs an integer seq and a list")
        out[(row["job_id"], seq)] = (event, encode_doc(event, f"history of {row['job_id']}"))
    return out


def merge_history(job: dict[str, Any], rows: list[tuple[int, list[Any]]]) -> dict[str, Any]:
    """Put a job's stored history rows (seq, row) back into its document, oldest first."""
    if rows:
        job["history"] = [row for _, row in sorted(rows, key=lambda item: item[0])]
    return job


def merge_workunits(job: dict[str, Any], rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Put a job's stored workunit rows back into its tasks (`tasks[i].workunits`, by rank)."""
    by_task: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        unit = {k: v for k, v in row.items() if k not in ("wuid", "job_id", "taskid", "_id")}
        by_task.setdefault(row["taskid"], []).append(unit)
    for task in job.get("tasks") or []:
        units = by_task.get(task.get("taskid"))
        if units is not None:
            task["workunits"] = sorted(units, key=lambda unit: unit["rank"])
    return job


def _keyed_docs(docs: list[dict[str, Any]], kind: str) -> dict[str, tuple[dict[str, Any], str]]:
    """Documents by `id`, the later one winning, each with its JSON text."""
    out: dict[str, tuple[dict[str, Any], str]] = {}
    for doc in docs:
        doc_id = doc.get("id") if isinstance(doc, dict) else None
        if not isinstance(doc_id, str) or not doc_id:
            raise ValueError(f"{kind} document without a string id: {str(doc)[:80]}")
        out[doc_id] = (doc, encode_doc(doc, f"{kind} {doc_id}"))
    return out


def _job_parts(batch: Batch) -> dict[str, JobPart]:
    parts: dict[str, JobPart] = {}
    for part in [split_job(doc) for doc in batch.jobs] + list(batch.parts):
        if not isinstance(part, JobPart) or not part.job_id:
            raise ValueError(f"not a job part: {str(part)[:80]}")
        older = parts.get(part.job_id)
        parts[part.job_id] = part if older is None else older.merge(part)
    return parts


def check_batch(batch: Batch) -> CheckedBatch:
    """Validate a whole batch before anything is written, so a bad document writes nothing."""
    parts = _job_parts(batch)
    perf = _keyed_docs(batch.perf, "perf")
    reports: dict[tuple[str, str], Report] = {}
    for report in batch.reports:
        if not isinstance(report.content, bytes | bytearray | memoryview):
            raise ValueError(f"report {report.wuid}/{report.name}: content must be bytes")
        reports[(report.wuid, report.name)] = report
    jids = [n for n in (jid_number({"jid": p.jid}) for p in parts.values()) if n is not None]
    removed = list(batch.removed_workunits)
    if not all(isinstance(wuid, str) for wuid in removed):
        raise ValueError("removed_workunits must be wuid strings")
    floors = dict(batch.history_from)
    if not all(isinstance(k, str) and isinstance(v, int) for k, v in floors.items()):
        raise ValueError("history_from must map job ids to integers")
    return CheckedBatch(
        parts=parts,
        reports=reports,
        perf=perf,
        max_jid=max(jids, default=None),
        workunits=_workunit_rows(batch.workunits),
        removed_workunits=removed,
        history=_history_rows(batch.history),
        history_from=floors,
    )


# ---- who may read a job, as one indexable value ----------------------------------------------

ALL_READERS = "all"  # `public` is among the readers: everyone may read it
MANY_READERS = "many"  # several named readers: the listing checks the list itself
NO_READERS = "none"  # no reader at all (only admins see it)


def single_reader(user: str) -> str:
    """The visibility of a job only `user` may read (prefixed: no name can pose as `all`)."""
    return "user:" + user


def visibility(doc: dict[str, Any]) -> tuple[str, list[str] | None]:
    """Who may read a job, folded for an index: (visibility, readers when there are several).

    A job is readable by `user` when `acl.owner` is that user, or `acl.read` (a list, or one
    string) holds the user or "public" — only string entries count. Almost every job has one
    reader (its owner) or is public, so a listing's ACL filter becomes a range of an index.
    """
    acl = doc.get("acl")
    owner, read = (acl.get("owner"), acl.get("read")) if isinstance(acl, dict) else (None, None)
    entries = [read] if isinstance(read, str) else read if isinstance(read, list) else []
    names = {entry for entry in entries if isinstance(entry, str)}
    if "public" in names:
        return ALL_READERS, None
    if isinstance(owner, str):
        names.add(owner)
    if not names:
        return NO_READERS, None
    if len(names) == 1:
        return single_reader(names.pop()), None
    return MANY_READERS, sorted(names)


_INT64 = (-(2**63), 2**63 - 1)


def key_value(doc: dict[str, Any], field: str) -> str | int | float | None:
    """A dotted field as a listing key: a scalar as JSON has it (a bool as 0/1, as SQLite's
    json_extract gives it), None for a missing field, null, object or array."""
    value: Any = doc
    for part in field.split("."):
        if not isinstance(value, dict):
            return None
        value = value.get(part)
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int):
        return value if _INT64[0] <= value <= _INT64[1] else float(value)
    return value if isinstance(value, str | float) else None
