"""Job scripts for the model tests: the spec's examples (2.8, 2.9) and small DAGs, as Jobs."""

from __future__ import annotations

import copy
import json
from typing import Any

from awe.model.job import Job
from awe.model.jobscript import parse_job_script

JOB_ID = "0b6c1f1e-5d7a-4c52-9a43-1f2e3d4c5b6a"
SUBMIT = "2024-05-01T10:00:00.000000Z"
SHOCK = "http://shock.local:7445"
RAW_NODE = "3f0e9c1a-5b7d-4e0a-9c2b-8a1d2e3f4a5b"

HELLO: dict[str, Any] = {
    "info": {"name": "hello-1", "project": "sandbox", "user": "ana", "pipeline": "smoke"},
    "tasks": [
        {"taskid": "0", "cmd": {"name": "uname", "args": "-a", "description": "print kernel info"}}
    ],
}

SAMPLE_42: dict[str, Any] = {
    "info": {
        "name": "sample-42", "project": "soil-survey", "user": "ana", "pipeline": "amplicon-v1",
        "clientgroups": "bigmem,default", "priority": 3, "userattr": {"sample": "S42"},
    },
    "tasks": [
        {"taskid": "0", "cmd": {"name": "trim_reads", "args": "--in @raw.fq --out clean.fq"},
         "inputs": [{"filename": "raw.fq", "host": SHOCK, "node": RAW_NODE}],
         "outputs": [{"filename": "clean.fq", "host": SHOCK, "nonzero": True}],
         "totalwork": 4},
        {"taskid": "1", "dependsOn": ["0"],
         "cmd": {"name": "classify", "args": "-q @clean.fq -d refs.db -o hits.tsv",
                 "environ": {"public": {"THREADS": "8"}, "private": {"LICENSE_KEY": "xyz"}}},
         "inputs": [{"filename": "clean.fq", "host": SHOCK, "origin": "0"}],
         "predata": [{"filename": "refs.db", "url": "http://data.example.org/refs/v7/refs.db.gz",
                      "uncompress": "gzip"}],
         "outputs": [{"filename": "hits.tsv", "host": SHOCK}]},
        {"taskid": "2", "dependsOn": ["0"],
         "cmd": {"name": "read_stats", "args": "@clean.fq stats.json"},
         "inputs": [{"filename": "clean.fq", "host": SHOCK, "origin": "0"}],
         "outputs": [{"filename": "stats.json", "host": SHOCK, "attrfile": "stats.attr.json"}]},
        {"taskid": "3", "dependsOn": ["1", "2"],
         "cmd": {"name": "make_report",
                 "args": "--hits @hits.tsv --stats @stats.json --out report.html"},
         "inputs": [{"filename": "hits.tsv", "host": SHOCK, "origin": "1"},
                    {"filename": "stats.json", "host": SHOCK, "origin": "2"}],
         "outputs": [{"filename": "report.html", "host": SHOCK}]},
    ],
}  # fmt: skip


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
