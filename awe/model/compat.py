"""Shapes that AWE's own clients read: its submitter, its Perl tools and its monitor page.

Pure functions from awe's records to the answers AWE v0.9.30+ gives (issue 14): the queue
status in both forms, the perf record, the workunit listing, base64 workunit ids.
"""

from __future__ import annotations

import base64
import binascii
from collections import Counter
from typing import Any

from awe.errors import AweError
from awe.model import updates
from awe.model.expiration import go_time
from awe.model.job import Job, TaskState, WorkState
from awe.model.jobscript import JobScriptError, parse_job_script
from awe.model.lifecycle import workunit_view
from awe.model.times import ZERO_TIME, parse_time

# the job info fields AWE answers `GET /job?distinct=<field>` for (its indexed ones)
DISTINCT_FIELDS = (
    "name", "submittime", "completedtime", "pipeline", "clientgroups", "project", "service",
    "user", "priority", "userattr.submission",
)  # fmt: skip


def parse_submission(raw: bytes | str, **kwargs: Any) -> Job:
    """A submitted script as a Job: `parse_job_script` plus the checks of update outputs."""
    job = parse_job_script(raw, **kwargs)
    problem = updates.script_problem(job)
    if problem is not None:
        raise JobScriptError(problem)
    return job


# ---- the queue status (GET /queue, GET /queue?json) ----------------------------------------------

# task state -> its key in AWE's `tasks` counts; `user_skipped` tasks are not shown at all
_TASK_KEYS = {
    TaskState.QUEUED: "queuing",
    TaskState.IN_PROGRESS: "in-progress",
    TaskState.PENDING: "pending",
    TaskState.COMPLETED: "completed",
    TaskState.SUSPEND: "suspended",
    TaskState.SKIPPED: "failed",
}
_WORK_KEYS = {
    WorkState.QUEUED: "queuing",
    WorkState.CHECKOUT: "checkout",
    WorkState.SUSPEND: "suspended",
}


def job_overview(job: Job, workunits: bool = False) -> dict[str, Any]:
    """One live job's share of the queue status (and, if asked, its workunits in the queue)."""
    tasks = Counter({"total": 0, **dict.fromkeys(_TASK_KEYS.values(), 0)})
    work = Counter(dict.fromkeys(_WORK_KEYS.values(), 0))
    views: list[dict[str, Any]] = []
    for task in job.tasks:
        if task.state != TaskState.USER_SKIPPED:
            tasks["total"] += 1
        if task.state in _TASK_KEYS:
            tasks[_TASK_KEYS[task.state]] += 1
        if task.unstarted in _WORK_KEYS:
            work[_WORK_KEYS[task.unstarted]] += task.unstarted_count()
        for unit in task.units.values():
            if unit.state in _WORK_KEYS:  # AWE's queue holds these; done ones have left it
                work[_WORK_KEYS[unit.state]] += 1
        if workunits:  # every one, in rank order: linear in the split, for GET /work only
            views += [workunit_view(job, task, unit) for unit in task.all_units()
                      if unit.state in _WORK_KEYS]  # fmt: skip
    return {"tasks": dict(tasks), "workunits": dict(work), "acl": dict(job.acl), "views": views}


def client_counts(clients: list[dict[str, Any]]) -> dict[str, int]:
    """AWE's client counts: suspended first, then busy (holding work) or idle."""
    counts = {"total": len(clients), "busy": 0, "idle": 0, "suspended": 0}
    for client in clients:
        if client.get("Status") == "suspend":
            counts["suspended"] += 1
        elif client.get("current_work"):
            counts["busy"] += 1
        else:
            counts["idle"] += 1
    return counts


def queue_status(
    queue: dict[str, Any], overviews: list[dict[str, Any]], clients: list[dict[str, Any]]
) -> dict[str, Any]:
    """`GET /queue?json`: AWE's jobs, tasks, workunits and clients counts (plus awe's extras)."""
    tasks: Counter[str] = Counter({"total": 0, **dict.fromkeys(_TASK_KEYS.values(), 0)})
    work: Counter[str] = Counter(dict.fromkeys(_WORK_KEYS.values(), 0))
    for overview in overviews:
        tasks.update(overview["tasks"])
        work.update(overview["workunits"])
    return {
        "queue_status": queue["queue_status"],
        "jobs": dict(queue["jobs"]),
        "tasks": dict(tasks),
        "workunits": {"total": sum(work.values()), **work},
        "clients": client_counts(clients),
        "waiting_checkouts": queue.get("waiting_checkouts", 0),
    }


def queue_text(status: dict[str, Any], at: str) -> str:
    """`GET /queue`: AWE's multi-line summary, which `awe_qstat.pl` cuts out and prints."""
    jobs, tasks, work, clients = (status[k] for k in ("jobs", "tasks", "workunits", "clients"))
    rows = [
        ("total jobs ............... %d", jobs["total"]),
        ("    active:           (%d)", jobs["active"]),
        ("    suspended:        (%d)", jobs["suspended"]),
        ("total tasks .............. %d", tasks["total"]),
        ("    queuing:          (%d)", tasks["queuing"]),
        ("    in-progress:      (%d)", tasks["in-progress"]),
        ("    pending:          (%d)", tasks["pending"]),
        ("    completed:        (%d)", tasks["completed"]),
        ("    suspended:        (%d)", tasks["suspended"]),
        ("    failed & skipped: (%d)", tasks["failed"]),
        ("total workunits .......... %d", work["total"]),
        ("    queuing:          (%d)", work["queuing"]),
        ("    checkout:         (%d)", work["checkout"]),
        ("    suspended:        (%d)", work["suspended"]),
        ("total clients ............ %d", clients["total"]),
        ("    busy:             (%d)", clients["busy"]),
        ("    idle:             (%d)", clients["idle"]),
        ("    suspend:          (%d)", clients["suspended"]),
    ]
    lines = ["++++++++AWE server queue status++++++++"] + [fmt % value for fmt, value in rows]
    return "\n".join(lines) + f"\n---last update: {go_time(at)}\n\n"


# ---- the workunit listing (GET /work?query) -------------------------------------------------------


def _field(doc: Any, dotted: str) -> Any:
    for part in dotted.split("."):
        doc = doc.get(part) if isinstance(doc, dict) else None
    return doc


def _sort_key(value: Any) -> tuple[int, Any]:
    """Numbers, then strings, then anything else (missing last), so mixed values never clash."""
    if isinstance(value, bool | int | float):
        return (0, value)
    if isinstance(value, str):
        return (1, value)
    return (2, "")


def sort_workunits(
    views: list[dict[str, Any]], order: str, descending: bool
) -> list[dict[str, Any]]:
    """AWE sorts the queue's workunits by one field (`wuid`, `info.submittime`, `cmd.name`, ...)."""
    ordered = sorted(views, key=lambda view: view["wuid"])  # a stable base order
    return sorted(ordered, key=lambda view: _sort_key(_field(view, order)), reverse=descending)


# ---- the perf record (GET /job/{id}?perf) ---------------------------------------------------------


def _unix(stored: Any) -> int:
    """A stored time as Unix seconds, as AWE's perf records have them; 0 when unset."""
    if not isinstance(stored, str) or stored == ZERO_TIME:
        return 0
    return int(parse_time(stored).timestamp())


def _span(queued: int, end: int) -> int:
    return end - queued if queued and end else 0


def perf_doc(doc: dict[str, Any], work_stats: dict[str, Any]) -> dict[str, Any]:
    """AWE's JobPerf (spec 9.1) from the job's own dates and the workers' perf reports."""
    info = doc.get("info") or {}
    task_stats = {}
    for task in doc.get("tasks") or []:
        queued, end = _unix(task.get("createddate")), _unix(task.get("completeddate"))
        task_stats[task["taskid"]] = {
            "queued": queued,
            "start": _unix(task.get("starteddate")),
            "end": end,
            "resp": _span(queued, end),
            "size_infile": [int(io.get("size") or 0) for io in task.get("inputs") or []],
            "size_outfile": [int(io.get("size") or 0) for io in task.get("outputs") or []],
            "computetime": task.get("computetime", 0),
        }
    queued, end = _unix(info.get("submittime")), _unix(info.get("completedtime"))
    return {
        "id": doc["id"],
        "queued": queued,
        "start": _unix(info.get("startedtime")),
        "end": end,
        "resp": _span(queued, end),
        "task_stats": task_stats,
        "work_stats": work_stats,
    }


# ---- workunit ids as the newer monitor and workers send them ----------------------------------------


def decode_work_id(raw: str) -> str:
    """`base64:<id>` (AWE from v0.9.60 encodes ids so) → the id; anything else as it is."""
    if not raw.startswith("base64:"):
        return raw
    encoded = raw[len("base64:") :].strip().replace("-", "+").replace("_", "/")
    try:
        decoded = base64.b64decode(encoded + "=" * (-len(encoded) % 4), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        raise AweError(f"invalid work id: {raw}") from None
    if not decoded.isprintable():
        raise AweError(f"invalid work id: {raw}")
    return decoded
