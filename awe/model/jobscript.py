"""Parse and validate a submitted job script into a Job (spec 2.1-2.7, decision D8).

Every error is a `JobScriptError` whose message is AWE's text, prefixed as AWE prefixes it
(`error parsing job, error=...`), so clients that match on it keep working.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlparse

from awe.config import LimitsConfig
from awe.errors import AweError
from awe.model import dag, jsontext, split
from awe.model.ids import task_id
from awe.model.job import Job, JobState, Task, TaskState
from awe.model.names import filename_problem, taskid_problem

IO_STRING_FIELDS = (
    "filename", "host", "node", "url", "origin", "attrfile", "shockfilename", "shockindex",
    "directory", "type", "uncompress", "name",
)  # fmt: skip
IO_BOOL_FIELDS = ("nonzero", "nofile", "delete", "cache", "temporary")
INFO_STRING_FIELDS = (
    "name", "project", "user", "pipeline", "clientgroups", "description", "xref", "service",
)  # fmt: skip


class JobScriptError(AweError):
    def __init__(self, detail: str) -> None:
        super().__init__(f"error parsing job, error={detail}")


def _task_error(detail: str) -> JobScriptError:
    return JobScriptError(f"error in InitTask: {detail}")


def _expect(value: Any, kind: type | tuple[type, ...], where: str, secret: bool = False) -> Any:
    kinds = kind if isinstance(kind, tuple) else (kind,)
    if not isinstance(value, kinds) or (isinstance(value, bool) and bool not in kinds):
        names = {str: "a string", int: "an integer", dict: "an object", list: "an array"}
        wanted = " or ".join(names.get(k, k.__name__) for k in kinds)
        got = type(value).__name__ if secret else json.dumps(value)[:60]  # a secret: not in logs
        raise JobScriptError(f"{where} must be {wanted}, got {got}")
    return value


def parse_job_script(
    raw: bytes | str,
    *,
    job_id: str,
    now: str,
    owner: str = "public",
    datatoken: str | None = None,
    limits: LimitsConfig | None = None,
) -> Job:
    """Decode, validate and normalise a job script; the Job gets its jid from the queue.

    Every check is linear in the size of the script, so that no script of any shape can make
    validation itself the problem.
    """
    limits = limits or LimitsConfig()
    try:
        script = jsontext.compact(jsontext.loads(raw))  # keys shared by every job that has them
    except ValueError as err:
        raise JobScriptError(f"error in unmarshaling job json file: {err}") from None
    _expect(script, dict, "the job script")
    tasks_raw = script.get("tasks")
    if tasks_raw is None or tasks_raw == []:
        raise JobScriptError("invalid job script: task list empty")
    _expect(tasks_raw, list, "tasks")
    if len(tasks_raw) > limits.tasks_per_job:
        raise JobScriptError(
            f"the job has {len(tasks_raw)} tasks, over limits.tasks_per_job "
            f"({limits.tasks_per_job})"
        )

    info = _parse_info(script.get("info"), now, datatoken)
    tasks = [_parse_task(t, i, job_id, limits) for i, t in enumerate(tasks_raw)]
    _check_graph(tasks)
    _check_workunits(tasks, limits)
    job = Job(
        id=job_id,
        jid="",
        info=info,
        tasks=tasks,
        state=JobState.INIT,
        remaintasks=len(tasks),
        updatetime=now,
        acl={"owner": owner, "read": [owner], "write": [owner], "delete": [owner]},
    )
    return job


def _parse_info(raw: Any, now: str, datatoken: str | None) -> dict[str, Any]:
    info = dict(_expect(raw if raw is not None else {}, dict, "info"))
    for key in INFO_STRING_FIELDS:
        if key in info and info[key] is not None:
            _expect(info[key], str, f"info.{key}")
    priority = info.get("priority")
    if priority is None:  # AWE's own Perl client writes null when no priority is given
        priority = 1
    _expect(priority, int, "info.priority")
    info["priority"] = max(1, priority)
    for key in ("noretry", "tracking", "auth"):
        if key in info and not isinstance(info[key], bool):
            raise JobScriptError(f"info.{key} must be true or false")
    userattr = info.get("userattr")
    if userattr is not None:
        _expect(userattr, dict, "info.userattr")
    info.pop("datatoken", None)
    info["submittime"] = now
    info["startedtime"] = "0001-01-01T00:00:00Z"
    info["completedtime"] = "0001-01-01T00:00:00Z"
    info.setdefault("clientgroups", "")
    info["auth"] = datatoken is not None
    if datatoken is not None:
        info["datatoken"] = datatoken
    return info


def _parse_taskid(value: Any, where: str) -> str:
    """A task id as AWE's own words where AWE had them, else the rule of `names`."""
    if value == "":
        raise _task_error("invalid taskid:")
    if isinstance(value, str) and "_" in value:
        raise _task_error("invalid taskid, may not contain '_'")
    problem = taskid_problem(value)
    if problem:
        raise JobScriptError(f"{where} {json.dumps(value)[:60]} {problem}")
    return value


def _parse_depends(raw: Any, where: str) -> list[str]:
    """`dependsOn`: strings only; empty entries are dropped and repeats kept once, as AWE."""
    if raw is None:
        return []
    _expect(raw, list, f"{where} dependsOn")
    depends: dict[str, None] = {}  # ordered, and a repeat costs nothing to find
    for i, entry in enumerate(raw):
        _expect(entry, str, f"{where} dependsOn[{i}]")
        if entry and entry not in depends:
            depends[_parse_taskid(entry, f"{where} dependsOn[{i}]")] = None
    return list(depends)


def _parse_task(raw: Any, index: int, job_id: str, limits: LimitsConfig) -> Task:
    _expect(raw, dict, f"tasks[{index}]")
    user_taskid = _parse_taskid(raw.get("taskid", ""), f"tasks[{index}].taskid")
    where = f"task {user_taskid}"

    cmd = dict(_expect(raw.get("cmd") if raw.get("cmd") is not None else {}, dict, f"{where} cmd"))
    for key in ("name", "args", "description"):
        if cmd.get(key) is not None:
            _expect(cmd[key], str, f"{where} cmd.{key}")
    cmd.setdefault("name", "")
    cmd.setdefault("args", "")
    environ = dict(_expect(cmd.get("environ") or {}, dict, f"{where} cmd.environ"))
    for scope in ("public", "private"):
        private = scope == "private"
        values = _expect(environ.get(scope) or {}, dict, f"{where} cmd.environ.{scope}", private)
        for key, value in values.items():
            _expect(value, str, f"{where} cmd.environ.{scope}.{key}", private)
        environ[scope] = dict(values)
    cmd["environ"] = environ
    cmd["has_private_env"] = bool(environ["private"])

    depends = dict.fromkeys(_parse_depends(raw.get("dependsOn"), where))

    totalwork = raw.get("totalwork", 1)
    _expect(totalwork, int, f"{where} totalwork")
    if totalwork > limits.totalwork_per_task:
        raise JobScriptError(
            f"totalwork {totalwork} of {where} is over limits.totalwork_per_task "
            f"({limits.totalwork_per_task})"
        )
    maxworksize = raw.get("maxworksize", 0)
    _expect(maxworksize, int, f"{where} maxworksize")
    skip = raw.get("skip", 0)
    _expect(skip, int, f"{where} skip")
    userattr = raw.get("userattr") or {}
    _expect(userattr, dict, f"{where} userattr")
    clientgroups = raw.get("clientgroups") or ""
    _expect(clientgroups, str, f"{where} clientgroups")

    inputs = _parse_ios(raw.get("inputs"), f"{where} inputs")
    seen: set[str] = set()
    for entry in inputs:
        if entry["filename"] in seen:
            raise JobScriptError(
                f"invalid inputs: task {user_taskid} contains multiple inputs "
                f"with filename={entry['filename']}"
            )
        seen.add(entry["filename"])
    outputs = _parse_ios(raw.get("outputs"), f"{where} outputs")
    predata = _parse_ios(raw.get("predata"), f"{where} predata")
    for entry in predata:
        if not entry.get("url") and not (entry.get("host") and entry.get("node") != "-"):
            raise _task_error("Invalid IO, required fields url or host / node missing")
    for entry in inputs:  # AWE (v0.9.62 on): an input's origin is a dependency
        if entry.get("origin"):
            depends.setdefault(entry["origin"])

    totalwork = max(1, totalwork)
    return Task(
        id=task_id(job_id, user_taskid),
        cmd=cmd,
        depends_on=[task_id(job_id, d) for d in depends],
        inputs=inputs,
        outputs=outputs,
        predata=predata,
        totalwork=totalwork,
        maxworksize=max(0, maxworksize),
        remainwork=totalwork,
        state=TaskState.INIT,
        userattr=dict(userattr),
        clientgroups=clientgroups,
        skip=skip if skip in (0, 1, 2) else 0,
        workstatus=[""] * totalwork,
    )


def _parse_ios(raw: Any, where: str) -> list[dict[str, Any]]:
    """Array form, or the legacy map form keyed by filename; both end as the array form."""
    if raw is None:
        return []
    if isinstance(raw, dict):
        entries = []
        for filename, entry in raw.items():
            _expect(entry if entry is not None else {}, dict, f"{where}.{filename}")
            entries.append({**(entry or {}), "filename": filename})
        raw = entries
    _expect(raw, list, where)
    return [_normalise_io(entry, f"{where}[{i}]") for i, entry in enumerate(raw)]


def _normalise_io(raw: Any, where: str) -> dict[str, Any]:
    entry = dict(_expect(raw, dict, where))
    for key in IO_STRING_FIELDS:
        if entry.get(key) is not None:
            _expect(entry[key], str, f"{where}.{key}")
    for key in IO_BOOL_FIELDS:
        if key in entry and not isinstance(entry[key], bool):
            raise JobScriptError(f"{where}.{key} must be true or false")
    if not entry.get("filename"):
        raise _task_error(f"Invalid IO, {where} has no filename")
    for key in ("filename", "attrfile"):  # files the worker makes in its work dir
        problem = filename_problem(entry[key]) if entry.get(key) else None
        if problem:
            raise JobScriptError(f"{where}.{key} {json.dumps(entry[key])[:60]} {problem}")
    if entry.get("origin"):
        problem = taskid_problem(entry["origin"])
        if problem:
            raise JobScriptError(f"{where}.origin {json.dumps(entry['origin'])[:60]} {problem}")
    if "size" in entry:
        _expect(entry["size"], int, f"{where}.size")
    for key in ("nodeattr", "formoptions"):
        if entry.get(key) is not None:
            _expect(entry[key], dict, f"{where}.{key}")
    entry["node"] = entry.get("node") or "-"
    url = entry.get("url") or ""
    if url:
        parsed = urlparse(url)
        if not parsed.scheme or not parsed.path or (parsed.scheme != "file" and not parsed.netloc):
            raise _task_error(f"Invalid IO, invalid url: {url}")
        parts = parsed.path.split("/")
        if len(parts) >= 3 and parts[1] == "node" and parsed.netloc and entry["node"] == "-":
            entry.setdefault("host", f"{parsed.scheme}://{parsed.netloc}")
            entry["node"] = parts[2]
    elif entry.get("host") and entry["node"] != "-":
        entry["url"] = f"{entry['host'].rstrip('/')}/node/{entry['node']}?download"
    return entry


def _check_graph(tasks: list[Task]) -> None:
    """Reject what AWE v0.9 silently accepted: duplicates, unknown deps, cycles, bad origins.

    One pass over tasks and edges each (origins are dependencies by now, so an origin is
    always a parent: no ancestor sets are needed).
    """
    by_id: dict[str, Task] = {}
    for task in tasks:
        if task.id in by_id:
            raise JobScriptError(f"duplicate taskid: {task.user_taskid}")
        by_id[task.id] = task
    for task in tasks:
        for entry in task.inputs:
            origin = entry.get("origin")
            if not origin:
                continue
            parent = by_id.get(f"{task.id.split('_', 1)[0]}_{origin}")
            if parent is None:
                raise JobScriptError(
                    f"task {task.user_taskid} input {entry['filename']}: origin task {origin} "
                    "is not a task of this job"
                )
            if not any(out["filename"] == entry["filename"] for out in parent.outputs):
                raise JobScriptError(
                    f"task {task.user_taskid} input {entry['filename']}: origin task {origin} "
                    f"has no output named {entry['filename']}"
                )
        for parent in task.depends_on:
            if parent not in by_id:
                unknown = parent.split("_", 1)[1]
                raise JobScriptError(f"task {task.user_taskid} depends on unknown task {unknown}")
    cycle = dag.find_cycle({task.id: task.depends_on for task in tasks})
    if cycle:
        names = " -> ".join(node.split("_", 1)[1] for node in reversed(cycle))
        raise JobScriptError(f"dependency cycle: {names}")


def _check_workunits(tasks: list[Task], limits: LimitsConfig) -> None:
    """The job's workunits together, as far as they are known at submit (maxworksize may add)."""
    total = 0
    for task in tasks:
        total += split.workunit_count(task, limits.totalwork_per_task)
    if total > limits.workunits_per_job:
        raise JobScriptError(
            f"the job has {total} workunits, over limits.workunits_per_job "
            f"({limits.workunits_per_job})"
        )
