"""`awe watch`: poll a job and draw one progress bar per task until the job ends."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import click
from rich.console import Group
from rich.live import Live
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn
from rich.text import Text

from awe.cli.api import Api, job_path
from awe.cli.render import STATE_STYLE, job_progress, out, short_taskid, task_progress

EXIT_COMPLETED = 0
EXIT_SUSPENDED = 1
EXIT_DELETED = 3
EXIT_TIMEOUT = 4
ENDINGS = {"completed": EXIT_COMPLETED, "suspend": EXIT_SUSPENDED, "deleted": EXIT_DELETED}


def watch_options(func: Callable[..., Any]) -> Callable[..., Any]:
    """`--interval` and `--timeout`, shared by `watch` and `submit --watch`."""
    func = click.option(
        "--timeout",
        type=click.FloatRange(min=0),
        default=None,
        help="Give up after this many seconds (exit 4).",
    )(func)
    return click.option(
        "--interval",
        type=click.FloatRange(min=0.01),
        default=2.0,
        show_default=True,
        help="Seconds between polls.",
    )(func)


class JobView:
    """The live picture of one job: a header line and one bar per task."""

    def __init__(self, job_id: str) -> None:
        self.job_id = job_id
        self.header = Text()
        self.progress = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[state]}"),
            console=out,
            auto_refresh=False,
        )
        self.rows: dict[str, TaskID] = {}
        self.states: dict[str, str] = {}

    def renderable(self) -> Group:
        """What Live draws."""
        return Group(self.header, self.progress)

    def update(self, job: dict[str, Any]) -> list[Text]:
        """Take a fresh job document; return lines worth logging (state changes)."""
        changes: list[Text] = []
        for task in job.get("tasks") or []:
            changes += self._update_task(task)
        state = job.get("state", "?")
        if self.states.get("") != state:
            changes.append(stamp(Text("job ").append(state, style=STATE_STYLE.get(state, ""))))
            self.states[""] = state
        done, total = job_progress(job)
        name = (job.get("info") or {}).get("name") or ""
        self.header = Text(f"job {self.job_id} {name}  ")
        self.header.append(state, style=STATE_STYLE.get(state, "bold"))
        self.header.append(f"  tasks {done}/{total}", style="dim")
        return changes

    def _update_task(self, task: dict[str, Any]) -> list[Text]:
        """Move a task's bar; a log line when its state changed since the last poll."""
        taskid = short_taskid(task.get("taskid", "?"))
        state = task.get("state", "?")
        done, total = task_progress(task)
        styled = f"[{STATE_STYLE.get(state) or 'default'}]{state}[/]"
        if taskid not in self.rows:
            label = f"task {taskid} {(task.get('cmd') or {}).get('name', '')}"
            self.rows[taskid] = self.progress.add_task(label, total=total, state=styled)
        self.progress.update(self.rows[taskid], completed=done, total=total, state=styled)
        previous = self.states.get(taskid)
        self.states[taskid] = state
        if previous is None or previous == state:
            return []  # the first poll is drawn by the bars, not logged line by line
        return [stamp(Text(f"task {taskid} ").append(state, style=STATE_STYLE.get(state, "")))]


def stamp(line: Text) -> Text:
    """Prefix a log line with the local time."""
    return Text(time.strftime("%H:%M:%S "), style="dim").append_text(line)


def follow(api: Api, job_id: str, interval: float, timeout: float | None) -> int:
    """Poll until the job completes (0), is suspended (1), deleted (3) or time runs out (4)."""
    view = JobView(job_id)
    deadline = None if timeout is None else time.monotonic() + timeout
    job: dict[str, Any] = {}
    with Live(view.renderable(), console=out, refresh_per_second=4, transient=False) as live:
        while True:
            job = api.get(job_path(job_id)).data
            for line in view.update(job):
                live.console.print(line, soft_wrap=True)
            live.update(view.renderable(), refresh=True)
            if job.get("state") in ENDINGS:
                break
            if deadline is not None and time.monotonic() >= deadline:
                break
            pause = interval if deadline is None else min(interval, deadline - time.monotonic())
            time.sleep(max(pause, 0))
    if not out.is_terminal:
        out.line()  # Live ends its last frame with a newline only on a terminal
    return ending(job, timeout)


def ending(job: dict[str, Any], timeout: float | None) -> int:
    """Say how the watch ended and pick the exit code."""
    state = job.get("state", "?")
    code = ENDINGS.get(state, EXIT_TIMEOUT)
    if code == EXIT_COMPLETED:
        out.print(Text(f"job {job.get('id')} completed", style="bold green"), soft_wrap=True)
    elif code == EXIT_SUSPENDED:
        line = Text(f"job {job.get('id')} suspended: ", style="bold red")
        out.print(line.append(job.get("notes") or "(no notes)", style="red"), soft_wrap=True)
    elif code == EXIT_DELETED:
        out.print(Text(f"job {job.get('id')} was deleted", style="bold red"), soft_wrap=True)
    else:
        line = f"gave up after {timeout:g} s: job {job.get('id')} is still {state}"
        out.print(Text(line, style="yellow"), soft_wrap=True)
    return code


@click.command()
@click.argument("job_id", metavar="JOB")
@watch_options
@click.pass_context
def watch(ctx: click.Context, job_id: str, interval: float, timeout: float | None) -> None:
    """Follow a job until it ends: exit 0 completed, 1 suspended, 3 deleted, 4 timed out."""
    try:
        code = follow(ctx.obj, job_id, interval, timeout)
    except KeyboardInterrupt:
        code = 130
    ctx.exit(code)
