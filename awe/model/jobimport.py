"""`POST /job` with the form part `import` (AWE v0.9.30+): a finished job's whole document.

AWE accepts only completed jobs this way and does not run them; the document is stored as it
came, owned by the caller. awe checks it as strictly as a job script (ids, names, times), so a
later recompute of the imported job works like that of any other.
"""

from __future__ import annotations

import json
import re
from typing import Any

from awe.errors import AweError
from awe.model import jsontext
from awe.model.job import Job, public_info
from awe.model.names import filename_problem, taskid_problem
from awe.model.times import ZERO_TIME, format_time, parse_time

JOB_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9-]{0,127}$")  # no '_': it splits workunit ids
INFO_TIMES = ("submittime", "startedtime", "completedtime")
TASK_TIMES = ("createddate", "starteddate", "completeddate")


def _invalid(detail: str) -> AweError:
    return AweError(f"invalid job import: {detail}")


def import_document(raw: bytes | str, *, owner: str, now: str) -> dict[str, Any]:
    """The stored form of an imported job document; AweError in AWE's words when it is not one."""
    try:
        doc = jsontext.loads(raw)
    except ValueError as err:
        raise AweError(f"(CreateJobImport) error in unmarshaling job json file: {err}") from None
    if not isinstance(doc, dict):
        raise AweError("(CreateJobImport) error in unmarshaling job json file: not an object")
    if not isinstance(doc.get("tasks"), list) or not doc["tasks"]:
        raise AweError("invalid job document: task list empty")
    if doc.get("state") != "completed":
        raise _invalid("must be completed")
    if not isinstance(doc.get("info"), dict):
        raise _invalid("missing job info")
    job_id = doc.get("id")
    if not job_id:
        raise _invalid("missing job id")
    if not isinstance(job_id, str) or not JOB_ID.match(job_id):
        raise _invalid(f"job id {json.dumps(job_id)[:80]} may contain only letters, digits and '-'")
    doc = {**doc, "tasks": [_task(task, job_id) for task in doc["tasks"]]}
    doc["info"] = _times(public_info(doc["info"]), INFO_TIMES, "info")
    try:
        job = Job.from_doc(doc)
    except (KeyError, TypeError, ValueError) as err:
        raise _invalid(f"{type(err).__name__}: {err}") from None
    job.acl = {"owner": owner, "read": [owner], "write": [owner], "delete": [owner]}
    job.updatetime = now
    job.expiration = _time(doc.get("expiration") or ZERO_TIME, "expiration")
    stored = job.to_doc(workunits=False)
    _check_types(stored)
    return stored


def _task(raw: Any, job_id: str) -> dict[str, Any]:
    """A task with full ids (`<job>_<task>`, as AWE v0.9 stores them), names checked."""
    if not isinstance(raw, dict):
        raise _invalid("a task is not an object")
    task = dict(raw)
    task["taskid"] = _full_id(task.get("taskid"), job_id)
    depends = task.get("dependsOn") or []
    if not isinstance(depends, list):
        raise _invalid(f"task {task['taskid']} dependsOn is not an array")
    task["dependsOn"] = [_full_id(parent, job_id) for parent in depends]
    seen: set[str] = set()  # input file names
    for kind in ("inputs", "outputs", "predata"):
        ios = task.get(kind) or []
        if not isinstance(ios, list) or not all(isinstance(io, dict) for io in ios):
            raise _invalid(f"task {task['taskid']} {kind} is not an array of objects")
        for io in ios:
            problem = filename_problem(io.get("filename"))
            if problem:
                raise _invalid(f"task {task['taskid']} {kind} filename {problem}")
        names = [io["filename"] for io in ios] if kind == "inputs" else []
        for name in names:
            if name in seen:
                raise AweError(
                    f"invalid inputs: task {task['taskid']} contains multiple inputs with "
                    f"filename={name}"
                )
            seen.add(name)
    task.pop("workunits", None)  # a finished job needs none; AWE never stored them
    return _times(task, TASK_TIMES, f"task {task['taskid']}")


def _full_id(value: Any, job_id: str) -> str:
    """`0` or `<job>_0` → `<job>_0`; anything else is refused."""
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if isinstance(value, str) and value.startswith(f"{job_id}_"):
        value = value[len(job_id) + 1 :]
    problem = taskid_problem(value)
    if problem:
        raise _invalid(f"taskid {json.dumps(value)[:80]} {problem}")
    return f"{job_id}_{value}"


def _times(doc: dict[str, Any], keys: tuple[str, ...], where: str) -> dict[str, Any]:
    out = dict(doc)
    for key in keys:
        if key in out:
            out[key] = _time(out[key], f"{where} {key}")
    return out


def _time(value: Any, where: str) -> str:
    """Any RFC 3339 time (Go writes nanoseconds and zones) in the fixed-width stored form."""
    if value in (None, "", ZERO_TIME):
        return ZERO_TIME
    try:
        moment = parse_time(value)
    except (TypeError, ValueError):
        raise _invalid(f"{where} is not an RFC 3339 time: {json.dumps(value)[:80]}") from None
    return ZERO_TIME if moment.year == 1 else format_time(moment)


def _check_types(stored: dict[str, Any]) -> None:
    """Fields the server computes with must have their types (a bad import cannot break it)."""
    for task in stored["tasks"]:
        for key in ("totalwork", "remainwork", "maxworksize", "computetime", "skip"):
            if not isinstance(task[key], int) or isinstance(task[key], bool):
                raise _invalid(f"task {task['taskid']} {key} is not an integer")
        if not isinstance(task["cmd"], dict):
            raise _invalid(f"task {task['taskid']} cmd is not an object")
    if not isinstance(stored["remaintasks"], int) or not isinstance(stored["resumed"], int):
        raise _invalid("remaintasks and resumed must be integers")
    priority = stored["info"].get("priority", 1)
    if not isinstance(priority, int) or isinstance(priority, bool):
        raise _invalid("info.priority is not an integer")
