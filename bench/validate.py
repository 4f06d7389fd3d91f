"""How long validating a job script takes, by the shape of its graph (prints numbers, asserts none).

Validation must be linear in the size of the script whatever its shape: a chain (each task
needs the one before), a reverse chain (each task needs the one after: the order a
depth-first walk likes least), a fan-in (one task needs all others), a fan-out (all others
need one task), and a chain whose tasks also update an output of a task far upstream
(`type: update`, checked to be upstream). Each task reads its parent's output through
`origin`, as real scripts do. It parses as `POST /job` does (`parse_submission`).

    python bench/validate.py [--tasks 10000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from awe.config import LimitsConfig  # noqa: E402
from awe.model.compat import parse_submission  # noqa: E402


def _task(name: int, parents: list[int]) -> dict[str, Any]:
    return {
        "taskid": str(name),
        "cmd": {"name": "true", "args": ""},
        "dependsOn": [str(p) for p in parents],
        "inputs": [{"filename": f"out{p}", "origin": str(p)} for p in parents],
        "outputs": [{"filename": f"out{name}"}],
    }


def _updating(task: dict[str, Any], origin: int) -> dict[str, Any]:
    """The task also updates the node of task `origin`'s output (`type: update`, compat)."""
    update = {"filename": f"out{origin}", "type": "update", "origin": str(origin)}
    return {**task, "outputs": [*task["outputs"], update]}


def shapes(count: int) -> dict[str, list[dict[str, Any]]]:
    """The shapes of `count` tasks, listed in task-id order."""
    last = count - 1
    chain = [_task(i, [i - 1] if i else []) for i in range(count)]
    return {
        "chain": chain,
        "reverse chain": [_task(i, [i + 1] if i < last else []) for i in range(count)],
        "fan-in": [_task(i, list(range(1, count)) if i == 0 else []) for i in range(count)],
        "fan-out": [_task(i, [0] if i else []) for i in range(count)],
        # each task updates an output of a task half-way back up the chain: n different origins
        "chain+updates": [_updating(t, i // 2) if i > 1 else t for i, t in enumerate(chain)],
    }


def measure(tasks: list[dict[str, Any]], repeat: int) -> float:
    """Best of `repeat` parses of the script, in seconds."""
    raw = json.dumps({"info": {"name": "bench"}, "tasks": tasks}).encode()
    limits = LimitsConfig(tasks_per_job=len(tasks))
    best = float("inf")
    for _ in range(repeat):
        started = time.perf_counter()
        parse_submission(raw, job_id="bench", now="2024-01-01T00:00:00Z", limits=limits)
        best = min(best, time.perf_counter() - started)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    half = args.tasks // 2
    print(
        f"validating job scripts, best of {args.repeat} (linear: the second column ~2x the first)"
    )
    print(f"  {'shape':14s} {half:>8d} tasks {args.tasks:>8d} tasks")
    small, large = shapes(half), shapes(args.tasks)
    for name in large:
        first, second = measure(small[name], args.repeat), measure(large[name], args.repeat)
        print(f"  {name:14s} {first * 1000:11.1f} ms {second * 1000:11.1f} ms")


if __name__ == "__main__":
    main()
