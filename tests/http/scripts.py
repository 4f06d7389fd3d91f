"""Job scripts used by the HTTP tests: the spec's examples (2.8, 2.9) and small variants."""

from __future__ import annotations

import json
from typing import Any

HELLO: dict[str, Any] = {
    "info": {"name": "hello-1", "project": "sandbox", "user": "ana", "pipeline": "smoke"},
    "tasks": [
        {"taskid": "0", "cmd": {"name": "uname", "args": "-a", "description": "print kernel info"}}
    ],
}

SHOCK = "http://shock.local:7445"
SAMPLE_42: dict[str, Any] = {
    "info": {
        "name": "sample-42", "project": "soil-survey", "user": "ana", "pipeline": "amplicon-v1",
        "clientgroups": "bigmem,default", "priority": 3, "userattr": {"sample": "S42"},
    },
    "tasks": [
        {"taskid": "0", "cmd": {"name": "trim_reads", "args": "--in @raw.fq --out clean.fq"},
         "inputs": [{"filename": "raw.fq", "host": SHOCK,
                     "node": "3f0e9c1a-5b7d-4e0a-9c2b-8a1d2e3f4a5b"}],
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


def sample_42(totalwork: int = 3, shock: str = SHOCK) -> dict[str, Any]:
    """Example 2 with another split count, its Shock host replaced by a reachable one."""
    script = json.loads(json.dumps(SAMPLE_42).replace(SHOCK, shock))
    script["tasks"][0]["totalwork"] = totalwork
    return script


def chain(n: int = 3, project: str = "p", **info: Any) -> dict[str, Any]:
    """n tasks in a line, data through the server's datastore (outputs with no location)."""
    tasks = []
    for i in range(n):
        task: dict[str, Any] = {"taskid": str(i), "cmd": {"name": f"step{i}", "args": ""},
                                "outputs": [{"filename": f"out{i}"}]}  # fmt: skip
        if i:
            task["dependsOn"] = [str(i - 1)]
            task["inputs"] = [{"filename": f"out{i - 1}", "origin": str(i - 1)}]
        tasks.append(task)
    return {"info": {"name": f"chain-{n}", "project": project, **info}, "tasks": tasks}
