"""Outputs of `type: "update"`: a task writes into a node that an earlier task made (spec 2.5).

AWE hands such an output out with the node of its origin task's output of the same file name,
so the worker updates that node instead of making a new one (MG-RAST's done stage sets the
attributes of earlier results this way). Pure functions, called at submit and at enqueue.
"""

from __future__ import annotations

from typing import Any

from awe.model import dag
from awe.model.ids import task_id
from awe.model.job import Job, Task


def is_update(out: dict[str, Any]) -> bool:
    return out.get("type") == "update"


def script_problem(job: Job) -> str | None:
    """Why the job's update outputs can never find their node (D8: refused at submit), or None.

    Linear in the job for any graph (issue 9): tasks are found by id in a dict, and all the
    "is the origin upstream" questions are answered by one pass over the graph.
    """
    by_id = {task.id: task for task in job.tasks}
    asked: list[tuple[Task, dict[str, Any], str]] = []
    for task in job.tasks:
        for out in task.outputs:
            if not is_update(out) or out.get("node", "-") != "-":
                continue
            origin = out.get("origin")
            if not origin:
                return (
                    f"update output {out['filename']} in task {task.id} is missing required origin"
                )
            asked.append((task, out, task_id(job.id, origin)))
    if not asked:
        return None
    parents = {task.id: task.depends_on for task in job.tasks}
    answers = dag.upstream(parents, [(task.id, origin_id) for task, _, origin_id in asked])
    for (task, out, origin_id), is_upstream in zip(asked, answers, strict=True):
        origin = origin_id.split("_", 1)[1]
        where = f"task {task.user_taskid} update output {out['filename']}: origin task {origin}"
        if not is_upstream:
            return f"{where} is not upstream of it (add it to dependsOn)"
        producer = by_id.get(origin_id)
        if producer is None or out["filename"] not in {o["filename"] for o in producer.outputs}:
            return f"{where} has no output named {out['filename']}"
    return None


def locate(job: Job, task: Task) -> str | None:
    """Give each update output of `task` its origin's node; the error AWE suspends with, or None.

    Runs when the task is enqueued, after its origin completed, so the origin's node is known.
    """
    for out in task.outputs:
        if not is_update(out) or out.get("node", "-") != "-":
            continue
        name, origin = out["filename"], out.get("origin")
        if not origin:
            return f"update output {name} in task {task.id} is missing required origin"
        producer = job.task(task_id(job.id, origin))
        source = (
            next((o for o in producer.outputs if o["filename"] == name), None) if producer else None
        )
        if source is None or (out.get("host") and source.get("node", "-") == "-"):
            return f"failed to locate Node for task {task.id} / update {name} from task {job.id}_{origin}"
        if source.get("node", "-") != "-":
            out["node"] = source["node"]
            host = out.get("host") or source.get("host", "")
            out["url"] = f"{host.rstrip('/')}/node/{source['node']}?download" if host else ""
        elif source.get("url"):
            out["url"] = source["url"]
    return None


def reset(task: Task) -> None:
    """A recomputed task finds its update nodes again: the origin may have new ones."""
    for out in task.outputs:
        if is_update(out) and out.get("origin"):
            out["node"], out["url"] = "-", ""
