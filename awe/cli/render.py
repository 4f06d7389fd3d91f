"""How AWE objects look in a terminal: times, states, task progress, and the shared tables."""

from __future__ import annotations

import json
import re
from datetime import datetime
from typing import Any

import click
from rich.console import Console
from rich.markup import escape
from rich.table import Table
from rich.text import Text

out = Console(highlight=False)
err = Console(stderr=True, highlight=False)

FRACTION = re.compile(r"\.\d+")
STATE_STYLE = {
    "completed": "green",
    "done": "green",
    "in-progress": "cyan",
    "checkout": "cyan",
    "queued": "yellow",
    "pending": "yellow",
    "init": "dim",
    "suspend": "red",
    "failed": "red",
    "deleted": "dim red",
    "active-idle": "green",
    "active-busy": "cyan",
    "skipped": "magenta",
    "user_skipped": "magenta",
}


json_option = click.option("--json", "as_json", is_flag=True, help="Print the raw data as JSON.")


def say(message: Any) -> None:
    """An operation's answer from the server, as it wrote it."""
    out.print(escape(str(message)), soft_wrap=True)


def print_json(data: Any) -> None:
    """`--json`: the envelope's data, untouched, for jq and scripts."""
    click.echo(json.dumps(data, indent=2))


def when(stamp: str | None, compact: bool = False) -> str:
    """A server time (RFC 3339, UTC) in local time; compact: `21:25:39` today, else `11-27 21:25`."""
    if not stamp or stamp.startswith("0001-01-01"):
        return "-"
    try:
        moment = datetime.fromisoformat(FRACTION.sub("", stamp.replace("Z", "+00:00")))
    except ValueError:
        return stamp
    local = moment.astimezone()
    if not compact:
        return local.strftime("%Y-%m-%d %H:%M:%S")
    if local.date() == datetime.now().astimezone().date():
        return local.strftime("%H:%M:%S")
    return local.strftime("%m-%d %H:%M")


def state_text(state: str | None) -> Text:
    """A state word, coloured the same way in every table."""
    state = state or "-"
    return Text(state, style=STATE_STYLE.get(state, ""))


def short_taskid(taskid: str) -> str:
    """`<jobid>_0` → `0`: the user's own taskid."""
    return taskid.rsplit("_", 1)[-1] if "_" in taskid else taskid


def short_id(ident: str | None, width: int = 8) -> str:
    """The first characters of a UUID: enough to tell clients apart in a table."""
    return (ident or "")[:width] or "-"


def task_progress(task: dict[str, Any]) -> tuple[int, int]:
    """Workunits (done, total) of a task, from its `workunits` list or totalwork/remainwork."""
    units = task.get("workunits") or []
    total = max(int(task.get("totalwork") or 1), len(units))
    if task.get("state") in ("completed", "skipped", "user_skipped"):
        return total, total
    if units:
        done = sum(1 for unit in units if unit.get("state") == "done")
    else:
        done = total - int(task.get("remainwork", total) or 0)
    return max(0, min(done, total)), total


def job_progress(job: dict[str, Any]) -> tuple[int, int]:
    """Tasks (done, total) of a job: `remaintasks` counts the ones not done."""
    total = len(job.get("tasks") or [])
    remain = int(job.get("remaintasks") or 0)
    return max(0, total - remain), total


def unit_summary(task: dict[str, Any]) -> str:
    """`2 queued, 1 checkout` plus failures: what a task's workunits are doing now."""
    units = task.get("workunits") or []
    counts: dict[str, int] = {}
    for unit in units:
        counts[unit.get("state", "?")] = counts.get(unit.get("state", "?"), 0) + 1
    parts = [f"{n} {state}" for state, n in counts.items() if state != "done"]
    failed = sum(int(unit.get("failed") or 0) for unit in units)
    if failed:
        parts.append(f"{failed} failure{'s' if failed > 1 else ''}")
    clients = sorted({u["client"] for u in units if u.get("client") and u.get("state") != "done"})
    if clients:
        parts.append("on " + ", ".join(short_id(c) for c in clients))
    return ", ".join(parts)


def jobs_table(jobs: list[dict[str, Any]], width: int) -> Table:
    """`awe jobs`: one row per job; on a narrow terminal the less useful columns go first."""
    columns = ["id", "jid", "name", "project", "user", "state", "tasks", "submitted", "updated"]
    if width < 130:
        columns.remove("submitted")
    if width < 100:
        columns = [c for c in columns if c not in ("jid", "project", "user")]
    table = Table(box=None, header_style="bold", pad_edge=False)
    for name in columns:
        if name == "id":
            table.add_column(name, no_wrap=True, min_width=36)
        elif name in ("name", "project", "user"):
            table.add_column(name, overflow="fold")
        else:
            table.add_column(name, no_wrap=True, justify="right" if name == "jid" else "left")
    for job in jobs:
        info = job.get("info") or {}
        done, total = job_progress(job)
        cells: dict[str, Any] = {
            "id": job.get("id", ""),
            "jid": str(job.get("jid", "")),
            "name": escape(info.get("name") or ""),
            "project": escape(info.get("project") or ""),
            "user": escape(info.get("user") or ""),
            "state": state_text(job.get("state")),
            "tasks": f"{done}/{total}",
            "submitted": when(info.get("submittime"), compact=True),
            "updated": when(job.get("updatetime"), compact=True),
        }
        table.add_row(*(cells[name] for name in columns))
    return table


def tasks_table(job: dict[str, Any]) -> Table:
    """`awe show`: one row per task, with its command and its workunits."""
    table = Table(box=None, header_style="bold", pad_edge=False)
    table.add_column("task", no_wrap=True)
    table.add_column("command", overflow="fold")
    table.add_column("state", no_wrap=True)
    table.add_column("workunits", no_wrap=True, justify="right")
    table.add_column("", overflow="fold")
    table.add_column("dependsOn", overflow="fold")
    for task in job.get("tasks") or []:
        cmd = task.get("cmd") or {}
        done, total = task_progress(task)
        command = " ".join(part for part in (cmd.get("name"), cmd.get("args")) if part)
        depends = ", ".join(short_taskid(d) for d in task.get("dependsOn") or []) or "-"
        table.add_row(
            escape(short_taskid(task.get("taskid", ""))),
            escape(command),
            state_text(task.get("state")),
            f"{done}/{total}",
            Text(unit_summary(task), style="dim"),
            escape(depends),
        )
    return table


def clients_table(clients: list[dict[str, Any]]) -> Table:
    """`awe clients`: one row per registered worker."""
    table = Table(box=None, header_style="bold", pad_edge=False)
    table.add_column("id", no_wrap=True, min_width=36)
    table.add_column("name", overflow="fold")
    table.add_column("group", overflow="fold")
    table.add_column("Status", no_wrap=True)
    for name in ("work", "checkouts", "done", "failed"):
        table.add_column(name, justify="right", no_wrap=True)
    table.add_column("heartbeat", no_wrap=True)
    for client in clients:
        table.add_row(
            client.get("id", ""),
            escape(client.get("name") or ""),
            escape(client.get("group") or ""),
            state_text(client.get("Status")),
            str(len(client.get("current_work") or {})),
            str(client.get("total_checkout", 0)),
            str(client.get("total_completed", 0)),
            str(client.get("total_failed", 0)),
            when(client.get("last_heartbeat"), compact=True),
        )
    return table


def fields_grid(rows: list[tuple[str, Any]]) -> Table:
    """A two-column `key  value` block for headers and single objects."""
    grid = Table.grid(padding=(0, 2))
    grid.add_column(style="bold", no_wrap=True)
    grid.add_column(overflow="fold")
    for key, value in rows:
        grid.add_row(key, value if isinstance(value, Text) else escape(str(value)))
    return grid


def history_table(events: list[dict[str, Any]], job_id: str) -> Table:
    """`awe show --history`: each transition, oldest first, with what caused it."""
    table = Table(
        box=None, header_style="bold", pad_edge=False, title="history", title_justify="left"
    )
    for name in ("time", "what", "change", "why", "stimulus"):
        table.add_column(name, overflow="fold", no_wrap=name in ("time", "change"))
    for event in events:
        subject = str(event.get("subject", "")).removeprefix(f"{job_id}_")
        what = event.get("kind", "?") + ("" if event.get("kind") == "job" else f" {subject}")
        change = Text(event.get("old") or "new", style=STATE_STYLE.get(event.get("old", ""), ""))
        change.append(" → ").append_text(state_text(event.get("new")))
        table.add_row(
            when(event.get("time")),
            escape(what),
            change,
            escape(str(event.get("detail") or "")),
            Text(str(event.get("stimulus") or ""), style="dim"),
        )
    return table
