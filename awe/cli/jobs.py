"""Job commands: submit, list, show, and the operations (suspend, resume, recompute, …)."""

from __future__ import annotations

from pathlib import Path
from typing import Any, BinaryIO

import click
from rich.text import Text

from awe.cli.api import Api, job_path
from awe.cli.render import (
    fields_grid,
    history_table,
    job_progress,
    jobs_table,
    json_option,
    out,
    print_json,
    say,
    state_text,
    tasks_table,
    when,
)
from awe.cli.watch import follow_quietly, watch_options


@click.command()
@click.argument("script", type=click.File("rb"))
@click.option("--datatoken", default=None, help="Data token the workers use to fetch inputs.")
@click.option("-q", "--quiet", is_flag=True, help="Print only the job id (for scripts).")
@click.option("--watch", "then_watch", is_flag=True, help="Follow the job until it ends.")
@watch_options
@click.pass_context
def submit(
    ctx: click.Context,
    script: BinaryIO,
    datatoken: str | None,
    quiet: bool,
    then_watch: bool,
    interval: float,
    timeout: float | None,
) -> None:
    """Submit a job script (JSON; `-` reads stdin)."""
    api: Api = ctx.obj
    name = Path(script.name).name if script.name not in ("-", "<stdin>") else "job.json"
    headers = {"Datatoken": datatoken} if datatoken else None
    job = api.upload("/job", {"upload": (name, script.read(), "application/json")}, headers).data
    if quiet:
        click.echo(job["id"])
    else:
        info = job.get("info") or {}
        line = Text("submitted job ")
        line.append(job["id"], style="bold")
        line.append(f" (jid {job.get('jid', '?')}) {info.get('name') or ''}: ")
        line.append(f"{len(job.get('tasks') or [])} tasks, ")
        line.append_text(state_text(job.get("state")))
        out.print(line, soft_wrap=True)
    if then_watch:
        ctx.exit(follow_quietly(api, job["id"], interval, timeout))


JOB_STATES = ("init", "queued", "in-progress", "completed", "suspend", "deleted")


def job_query(
    states: tuple[str, ...],
    project: str | None,
    user: str | None,
    pipeline: str | None,
    live: str | None,
) -> list[tuple[str, Any]]:
    """The AWE query string for the filters given: `?query&state=a,b&info.project=p`."""
    filters: list[tuple[str, Any]] = []
    wanted = [s.strip() for value in states for s in value.split(",") if s.strip()]
    unknown = [s for s in wanted if s not in JOB_STATES]
    if unknown:
        raise click.BadParameter(
            f"unknown state {unknown[0]!r} (a job is one of: {', '.join(JOB_STATES)})",
            param_hint="'--state'",
        )
    if wanted:
        filters.append(("state", ",".join(wanted)))
    for key, value in (("info.project", project), ("info.user", user), ("info.pipeline", pipeline)):
        if value:
            filters.append((key, value))
    params: list[tuple[str, Any]] = [("query", None), *filters] if filters else []
    if live:
        params.append((live, None))
    return params


@click.command("jobs")
@click.option("--state", "states", multiple=True, help="Only jobs in this state (repeatable).")
@click.option("--project", default=None, help="Only jobs of this info.project.")
@click.option("--user", default=None, help="Only jobs of this info.user.")
@click.option("--pipeline", default=None, help="Only jobs of this info.pipeline.")
@click.option("--active", "live", flag_value="active", help="Only jobs in the queue, running.")
@click.option("--suspended", "live", flag_value="suspend", help="Only suspended jobs.")
@click.option("--registered", "live", flag_value="registered", help="Active plus suspended.")
@click.option("--limit", type=click.IntRange(min=1), default=None, help="Page size (server: 25).")
@click.option("--offset", type=click.IntRange(min=0), default=None, help="Skip this many jobs.")
@click.option(
    "--order", default=None, help="Sort field, e.g. info.submittime (server: updatetime)."
)
@click.option("--asc", is_flag=True, help="Ascending order (default: descending).")
@json_option
@click.pass_obj
def list_jobs(
    api: Api,
    states: tuple[str, ...],
    project: str | None,
    user: str | None,
    pipeline: str | None,
    live: str | None,
    limit: int | None,
    offset: int | None,
    order: str | None,
    asc: bool,
    as_json: bool,
) -> None:
    """List jobs, newest update first, with filters and paging."""
    params = job_query(states, project, user, pipeline, live)
    for key, value in (("limit", limit), ("offset", offset), ("order", order)):
        if value is not None:
            params.append((key, value))
    if asc:
        params.append(("direction", "asc"))
    answer = api.get("/job", params)
    jobs = answer.data or []
    if as_json:
        print_json(jobs)
        return
    total = answer.total_count if answer.total_count is not None else len(jobs)
    first = (answer.offset or 0) + 1
    if jobs:
        out.print(jobs_table(jobs, out.width))
        out.print(Text(f"showing {first}-{first + len(jobs) - 1} of {total}", style="dim"))
    elif total:
        out.print(Text(f"showing none of {total} (offset {first - 1})", style="dim"))
    else:
        out.print(Text("no jobs" + (" match" if params else ""), style="dim"))


@click.command()
@click.argument("job_id", metavar="JOB")
@click.option("--history", is_flag=True, help="Also the job's recent transitions, and why.")
@json_option
@click.pass_obj
def show(api: Api, job_id: str, history: bool, as_json: bool) -> None:
    """Show one job: its info, state and every task with its workunits."""
    job = api.get(job_path(job_id)).data
    if as_json and not history:
        print_json(job)
        return
    events = job_history(api, job_id) if history else None
    if as_json:
        print_json({**job, "history": events})
        return
    out.print(job_header(job))
    out.print()
    out.print(tasks_table(job))
    if history:
        out.print()
        if events is not None:
            out.print(history_table(events, job.get("id", "")))
        else:
            line = "history: this server does not provide it (GET /job/{id}?history)"
            out.print(Text(line, style="yellow"), soft_wrap=True)


def job_history(api: Api, job_id: str) -> list[dict[str, Any]] | None:
    """The job's transitions from `GET /job/{id}?history` (a list, or a job carrying `history`);
    None from a server that ignores the flag."""
    data = api.get(job_path(job_id), {"history": None}).data
    if isinstance(data, dict):
        data = data.get("history")
    return data if isinstance(data, list) else None


def job_header(job: dict[str, Any]) -> Any:
    """The key facts about a job, one per line."""
    info = job.get("info") or {}
    done, total = job_progress(job)
    own = f"{job.get('id')}_"  # the server's notes name tasks by internal id: show the user's
    rows: list[tuple[str, Any]] = [
        ("job", f"{job.get('id')} (jid {job.get('jid', '?')})"),
        ("name", info.get("name") or "-"),
        ("project", info.get("project") or "-"),
        ("user", info.get("user") or "-"),
        ("pipeline", info.get("pipeline") or "-"),
        ("state", state_text(job.get("state"))),
        ("tasks done", f"{done}/{total}"),
        ("priority", info.get("priority", "-")),
        ("clientgroups", info.get("clientgroups") or "(any)"),
        ("submitted", when(info.get("submittime"))),
        ("started", when(info.get("startedtime"))),
        ("completed", when(info.get("completedtime"))),
        ("updated", when(job.get("updatetime"))),
    ]
    if job.get("notes"):
        rows.insert(6, ("notes", Text(job["notes"].replace(own, ""), style="yellow")))
    if job.get("lastfailed"):
        rows.append(("last failed", str(job["lastfailed"]).replace(own, "")))
    if job.get("resumed"):
        rows.append(("resumed", job["resumed"]))
    return fields_grid(rows)


def one_job(job_id: str | None, everything: bool, flag: str) -> None:
    """Either a JOB or the collection-wide flag, never both or neither."""
    if bool(job_id) == everything:
        raise click.UsageError(f"give either a JOB or {flag}")


@click.command()
@click.argument("job_id", metavar="JOB")
@click.pass_obj
def suspend(api: Api, job_id: str) -> None:
    """Suspend a job: its queued workunits stop being handed out."""
    say(api.put(job_path(job_id), {"suspend": None}).data)


@click.command()
@click.argument("job_id", metavar="[JOB]", required=False)
@click.option("--all", "everything", is_flag=True, help="Resume every suspended job.")
@click.pass_obj
def resume(api: Api, job_id: str | None, everything: bool) -> None:
    """Resume a suspended job (or all of them with --all)."""
    one_job(job_id, everything, "--all")
    if everything:
        say(api.put("/job", {"resumeall": None}).data)
    else:
        say(api.put(job_path(job_id or ""), {"resume": None}).data)


@click.command()
@click.argument("job_id", metavar="JOB")
@click.pass_obj
def resubmit(api: Api, job_id: str) -> None:
    """Put a job that is in the store but not in the queue back into the queue."""
    say(api.put(job_path(job_id), {"resubmit": None}).data)


@click.command()
@click.argument("job_id", metavar="JOB")
@click.argument("taskid", metavar="TASKID")
@click.pass_obj
def recompute(api: Api, job_id: str, taskid: str) -> None:
    """Run a task and everything downstream of it again (completed or suspended jobs)."""
    taskid = taskid.removeprefix(f"{job_id}_")
    say(api.put(job_path(job_id), {"recompute": taskid}).data)


@click.command()
@click.argument("job_id", metavar="JOB")
@click.argument("value", metavar="N", type=click.IntRange(min=1))
@click.pass_obj
def priority(api: Api, job_id: str, value: int) -> None:
    """Change a job's priority: higher runs first."""
    say(api.put(job_path(job_id), {"priority": value}).data)


@click.command()
@click.argument("job_id", metavar="JOB")
@click.argument("names", metavar="NAMES")
@click.pass_obj
def clientgroup(api: Api, job_id: str, names: str) -> None:
    """Let only workers of these clientgroups (comma-separated) run the job."""
    say(api.put(job_path(job_id), {"clientgroup": names}).data)


@click.command()
@click.argument("job_id", metavar="[JOB]", required=False)
@click.option("--suspended", is_flag=True, help="Delete every suspended job (or JOB, if it is).")
@click.option("--zombies", is_flag=True, help="Delete jobs in the store that the queue lost.")
@click.pass_obj
def delete(api: Api, job_id: str | None, suspended: bool, zombies: bool) -> None:
    """Delete a job (or every suspended job, or every zombie job)."""
    if suspended and zombies:
        raise click.UsageError("give only one of --suspended and --zombies")
    if zombies:
        if job_id:
            raise click.UsageError("--zombies deletes every zombie job: give no JOB")
        say(api.delete("/job", {"zombie": None}).data)
    elif suspended and not job_id:
        say(api.delete("/job", {"suspend": None}).data)
    elif job_id:
        say(api.delete(job_path(job_id), {"suspend": None} if suspended else None).data)
    else:
        raise click.UsageError("give a JOB, --suspended or --zombies")


OPERATIONS = [suspend, resume, resubmit, recompute, priority, clientgroup, delete]
