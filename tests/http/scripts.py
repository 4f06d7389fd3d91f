"""Job scripts used by the HTTP tests: the spec's examples (2.8, 2.9) and small variants."""

from __future__ import annotations

import json
from typing import Any

from tests.model.scripts import HELLO, SAMPLE_42, SHOCK  # noqa: F401 - the shipped examples


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
