"""`awe watch`: follow a job on `GET /events` and draw one progress bar per task until it ends.

Each event of the job re-reads it (a task's event is logged as it comes); a quiet stream's
keep-alive re-reads it too, so nothing is missed. A server without the stream is polled.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import click
import urllib3
from rich.console import Group
from rich.live import Live
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn
from rich.text import Text

from awe.cli.api import Api, job_path
from awe.cli.render import STATE_STYLE, job_progress, out, short_taskid, task_progress
from awe.cli.stream import RELOAD, StreamUnavailable, open_events, read_events

EXIT_COMPLETED = 0
EXIT_SUSPENDED = 1
EXIT_DELETED = 3
EXIT_TIMEOUT = 4
ENDINGS = {"completed": EXIT_COMPLETED, "suspend": EXIT_SUSPENDED, "deleted": EXIT_DELETED}
NOT_STARTED = ("init", "pending", "queued")  # a task in another state has news to log


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
        help="Seconds between polls, when the server has no event stream.",
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
        """Move a task's bar; a log line when its state changed since the last look."""
        taskid = short_taskid(task.get("taskid", "?"))
        state = task.get("state", "?")
        done, total = task_progress(task)
        styled = f"[{STATE_STYLE.get(state) or 'default'}]{state}[/]"
        if taskid not in self.rows:
            label = f"task {taskid} {(task.get('cmd') or {}).get('name', '')}"
            self.rows[taskid] = self.progress.add_task(label, total=total, state=styled)
        self.progress.update(self.rows[taskid], completed=done, total=total, state=styled)
        if taskid not in self.states:
            self.states[taskid] = state
            if state in NOT_STARTED:
                return []  # the first look is drawn by the bars; only progress is logged
            return [stamp(Text(f"task {taskid} ").append(state, style=STATE_STYLE.get(state, "")))]
        return self.task_changed(taskid, state)

    def task_changed(self, taskid: str, state: str) -> list[Text]:
        """A log line for a task's new state, once, whether an event or a re-read saw it."""
        if taskid not in self.states or self.states[taskid] == state:
            return []
        self.states[taskid] = state
        return [stamp(Text(f"task {taskid} ").append(state, style=STATE_STYLE.get(state, "")))]


def stamp(line: Text) -> Text:
    """Prefix a log line with the local time."""
    return Text(time.strftime("%H:%M:%S "), style="dim").append_text(line)


class Follower:
    """One watch: the view on the terminal, the last job document, how long it may take."""

    def __init__(self, api: Api, job_id: str, live: Live, timeout: float | None) -> None:
        self.api = api
        self.job_id = job_id
        self.live = live
        self.view = JobView(job_id)
        self.job: dict[str, Any] = {}
        self.deadline = None if timeout is None else time.monotonic() + timeout

    def remaining(self) -> float | None:
        return None if self.deadline is None else max(0.0, self.deadline - time.monotonic())

    def ended(self) -> bool:
        return self.job.get("state") in ENDINGS or self.remaining() == 0.0

    def print(self, lines: list[Text]) -> None:
        for line in lines:
            self.live.console.print(line, soft_wrap=True)

    def reread(self) -> None:
        """Read the job again and redraw it."""
        self.job = self.api.get(job_path(self.job_id)).data
        self.print(self.view.update(self.job))
        self.live.update(self.view.renderable(), refresh=True)

    def on_event(self, event: dict[str, Any]) -> None:
        """Log a task's change as the event tells it, then re-read the job for the bars."""
        if event.get("kind") == "task":
            self.print(self.view.task_changed(short_taskid(event["subject"]), event["new"]))
        self.reread()

    def quiet(self) -> bool:
        """A keep-alive: re-read (a safety net against a missed event); True when it ended."""
        self.reread()
        return self.ended()

    def stream(self) -> None:
        """Follow GET /events until the job ends; StreamUnavailable when there is none."""
        last_id = None
        while not self.ended():
            remaining = self.remaining()
            read_timeout = 60.0 if remaining is None else max(0.05, min(remaining, 60.0))
            stream = open_events(self.api, self.job_id, read_timeout, last_id)
            try:
                if last_id is None:
                    self.reread()  # after subscribing: no change can fall between the two
                for event_id, event in read_events(stream, on_quiet=self.quiet):
                    last_id = event_id or last_id
                    if event is RELOAD:
                        self.reread()
                    else:
                        self.on_event(event)
                    if self.ended():
                        return
                if self.ended():
                    return
            except urllib3.exceptions.HTTPError:
                if self.remaining() == 0.0:
                    return  # --timeout ran out while the stream was quiet
            finally:
                stream.close()
            # the stream ended (server restarted, or we fell behind): reopen where we were

    def poll(self, interval: float) -> None:
        """Re-read the job every `interval` seconds until it ends."""
        while True:
            self.reread()
            if self.ended():
                return
            remaining = self.remaining()
            time.sleep(interval if remaining is None else min(interval, remaining))


def follow(api: Api, job_id: str, interval: float, timeout: float | None) -> int:
    """Follow until the job completes (0), is suspended (1), deleted (3) or time runs out (4)."""
    with Live(Text(), console=out, refresh_per_second=4, transient=False) as live:
        follower = Follower(api, job_id, live, timeout)
        try:
            follower.stream()
        except StreamUnavailable:
            follower.poll(interval)
    if not out.is_terminal:
        out.line()  # Live ends its last frame with a newline only on a terminal
    return ending(follower.job, timeout)


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
    ctx.exit(follow_quietly(ctx.obj, job_id, interval, timeout))


def follow_quietly(api: Api, job_id: str, interval: float, timeout: float | None) -> int:
    """`follow`, with Ctrl-C ending it at once with exit 130 and no traceback."""
    try:
        return follow(api, job_id, interval, timeout)
    except KeyboardInterrupt:
        return 130
