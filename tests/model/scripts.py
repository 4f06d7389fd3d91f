"""Job scripts for the model tests: the spec's examples (2.8, 2.9) and small DAGs, as Jobs."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

from awe.model.job import Job
from awe.model.jobscript import parse_job_script

JOB_ID = "0b6c1f1e-5d7a-4c52-9a43-1f2e3d4c5b6a"
SUBMIT = "2024-05-01T10:00:00.000000Z"
SHOCK = "http://shock.local:7445"
RAW_NODE = "3f0e9c1a-5b7d-4e0a-9c2b-8a1d2e3f4a5b"

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
# the spec's examples 2.8 and 2.9, exactly as shipped for users to submit
HELLO: dict[str, Any] = json.loads((EXAMPLES / "hello.json").read_text())
SAMPLE_42: dict[str, Any] = json.loads((EXAMPLES / "sample-42.json").read_text())


def task(taskid: str, *parents: str, **extra: Any) -> dict[str, Any]:
    """A task whose output `out<taskid>` goes to the datastore, reading each parent's output."""
    doc: dict[str, Any] = {
        "taskid": taskid,
        "cmd": {"name": f"step{taskid}", "args": ""},
        "outputs": [{"filename": f"out{taskid}"}],
    }
    if parents:
        doc["dependsOn"] = list(parents)
        doc["inputs"] = [{"filename": f"out{p}", "origin": p} for p in parents]
    doc.update(extra)
    return doc


def script(*tasks: dict[str, Any], **info: Any) -> dict[str, Any]:
    return {"info": {"name": "t", "user": "ana", **info}, "tasks": list(tasks)}


def chain(n: int = 3, **info: Any) -> dict[str, Any]:
    """0 → 1 → … → n-1."""
    return script(*(task(str(i), *([str(i - 1)] if i else [])) for i in range(n)), **info)


def diamond(**info: Any) -> dict[str, Any]:
    """a → b, a → c, (b, c) → d, plus an unrelated root e."""
    return script(task("a"), task("b", "a"), task("c", "a"), task("d", "b", "c"), task("e"), **info)


def parse(doc: dict[str, Any] | str, **kwargs: Any) -> Job:
    raw = doc if isinstance(doc, str) else json.dumps(doc)
    return parse_job_script(raw, job_id=JOB_ID, now=SUBMIT, **kwargs)


def tid(user_taskid: str) -> str:
    return f"{JOB_ID}_{user_taskid}"


def wid(user_taskid: str, rank: int = 0) -> str:
    return f"{JOB_ID}_{user_taskid}_{rank}"


def sample_42(**changes: Any) -> dict[str, Any]:
    doc = copy.deepcopy(SAMPLE_42)
    doc["tasks"][0].update(changes)
    return doc
