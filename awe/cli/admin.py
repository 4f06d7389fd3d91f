"""Clients, workunits and the queue: the commands an operator reaches for."""

from __future__ import annotations

from typing import Any

import click
from rich.panel import Panel
from rich.text import Text

from awe.cli.api import Api, ApiError, resource_path
from awe.cli.render import (
    clients_table,
    err,
    fields_grid,
    json_option,
    out,
    print_json,
    say,
    short_taskid,
    state_text,
    when,
)


@click.command()
@click.option("--busy", is_flag=True, help="Only clients holding work.")
@json_option
@click.pass_obj
def clients(api: Api, busy: bool, as_json: bool) -> None:
    """List the registered workers (AWE clients)."""
    data = api.get("/client", {"busy": None} if busy else None).data or []
    if as_json:
        print_json(data)
    elif data:
        out.print(clients_table(data))
        out.print(Text(f"{len(data)} client{'s' if len(data) != 1 else ''}", style="dim"))
    else:
        out.print(Text("no busy clients" if busy else "no clients registered", style="dim"))


@click.group()
def client() -> None:
    """Show, suspend, resume or delete one worker (or all of them)."""


@client.command("show")
@click.argument("client_id", metavar="ID")
@json_option
@click.pass_obj
def client_show(api: Api, client_id: str, as_json: bool) -> None:
    """Show one worker's profile and counters."""
    data = api.get(resource_path("client", client_id)).data
    if as_json:
        print_json(data)
        return
    rows: list[tuple[str, Any]] = [
        ("client", data.get("id")),
        ("name", data.get("name") or "-"),
        ("group", data.get("group") or "-"),
        ("Status", state_text(data.get("Status"))),
        ("host", data.get("host") or "-"),
        ("cores", data.get("cores", "-")),
        ("apps", ", ".join(data.get("apps") or []) or "-"),
        ("registered", when(data.get("regtime"))),
        ("last heartbeat", when(data.get("last_heartbeat"))),
        ("current work", ", ".join(data.get("current_work") or {}) or "-"),
        ("checkout", data.get("total_checkout", 0)),
        ("completed", data.get("total_completed", 0)),
        ("failed", data.get("total_failed", 0)),
    ]
    out.print(fields_grid(rows))


def control(api: Api, client_id: str | None, everything: bool, op: str) -> None:
    """`client suspend|resume ID` or `--all`, printing the server's answer."""
    if bool(client_id) == everything:
        raise click.UsageError("give either a client ID or --all")
    if everything:
        answer = api.put("/client", {f"{op}all": None})
    else:
        answer = api.put(resource_path("client", client_id or ""), {op: None})
    say(answer.data)


@client.command("suspend")
@click.argument("client_id", metavar="[ID]", required=False)
@click.option("--all", "everything", is_flag=True, help="Suspend every client.")
@click.pass_obj
def client_suspend(api: Api, client_id: str | None, everything: bool) -> None:
    """Stop handing work to a worker; its current work goes back to the queue."""
    control(api, client_id, everything, "suspend")


@client.command("resume")
@click.argument("client_id", metavar="[ID]", required=False)
@click.option("--all", "everything", is_flag=True, help="Resume every suspended client.")
@click.pass_obj
def client_resume(api: Api, client_id: str | None, everything: bool) -> None:
    """Let a suspended worker check work out again."""
    control(api, client_id, everything, "resume")


@client.command("delete")
@click.argument("client_id", metavar="ID")
@click.pass_obj
def client_delete(api: Api, client_id: str) -> None:
    """Forget a worker: its next heartbeat tells it to stop."""
    answer = api.delete(resource_path("client", client_id))
    say(answer.data)


@click.command()
@click.argument("wuid", metavar="WUID")
@click.option("--stdout", "report", flag_value="stdout", default=True, help="stdout (default).")
@click.option("--stderr", "report", flag_value="stderr", help="The command's stderr.")
@click.option("--worknotes", "report", flag_value="worknotes", help="The worker's notes.")
@click.pass_obj
def logs(api: Api, wuid: str, report: str) -> None:
    """Print what a workunit's command wrote (as its worker reported it)."""
    try:
        text = api.get(resource_path("work", wuid), {"report": report}).data
    except ApiError as error:
        if error.status not in (400, 404) or "found" not in error.message:
            raise
        missing_report(api, wuid, report)
        return
    text = text if isinstance(text, str) else str(text or "")
    click.echo(text, nl=not text.endswith("\n") and bool(text))


def missing_report(api: Api, wuid: str, report: str) -> None:
    """AWE says "log type … not found" both for an empty report and for no such workunit."""
    try:
        unit = api.get(resource_path("work", wuid)).data or {}
    except ApiError:
        err.print(Text(f"no such workunit: {wuid}", style="bold red"), soft_wrap=True)
        raise click.exceptions.Exit(1) from None
    state = unit.get("state", "?")
    if state == "done" or unit.get("failed"):
        err.print(Text(f"{report} of {wuid} is empty", style="dim"), soft_wrap=True)
    else:
        line = f"{wuid} has not reported yet (it is {state}): no {report} so far"
        err.print(Text(line, style="dim"), soft_wrap=True)


@click.command()
@click.argument("wuid", metavar="WUID")
@json_option
@click.pass_obj
def work(api: Api, wuid: str, as_json: bool) -> None:
    """Show one workunit: command, rank, state, client, failures."""
    data = api.get(resource_path("work", wuid)).data
    if as_json:
        print_json(data)
        return
    cmd = data.get("cmd") or {}
    info = data.get("info") or {}
    rows: list[tuple[str, Any]] = [
        ("workunit", data.get("wuid")),
        ("job", info.get("name") or "-"),
        ("command", " ".join(p for p in (cmd.get("name"), cmd.get("args")) if p) or "-"),
        ("rank", f"{data.get('rank', 0)} of {data.get('totalwork', 1)}"),
        ("state", state_text(data.get("state"))),
        ("failed", data.get("failed", 0)),
        ("client", data.get("client") or "-"),
        ("checked out", when(data.get("checkout_time"))),
        ("compute time", f"{data.get('computetime', 0)} s"),
    ]
    for key in ("inputs", "outputs", "predata"):
        names = [io.get("filename", "?") for io in data.get(key) or []]
        if names:
            rows.append((key, ", ".join(names)))
    if data.get("notes"):
        rows.append(("notes", Text(data["notes"], style="yellow")))
    title = f"task {short_taskid(str(data.get('wuid', '')).rsplit('_', 1)[0])}"
    out.print(Panel(fields_grid(rows), title=title, expand=False))


@click.group(invoke_without_command=True)
@json_option
@click.pass_context
def queue(ctx: click.Context, as_json: bool) -> None:
    """Show the queue's counts; `suspend` / `resume` stop or restart all checkouts."""
    if ctx.invoked_subcommand is not None:
        return
    data = ctx.obj.get("/queue", {"json": None}).data
    if as_json:
        print_json(data)
        return
    out.print(queue_panel(data))


def queue_panel(data: dict[str, Any]) -> Panel:
    """One line per group of counts (jobs, workunits, clients, …)."""
    rows: list[tuple[str, Any]] = []
    for key, value in data.items():
        if key == "queue_status":
            continue
        if isinstance(value, dict):
            value = "  ".join(f"{name} {count}" for name, count in value.items())
        rows.append((key.replace("_", " "), value))
    status = str(data.get("queue_status", "?"))
    style = "green" if status == "running" else "bold red"
    return Panel(fields_grid(rows), title=f"queue [{style}]{status}[/]", expand=False)


@queue.command("suspend")
@click.pass_obj
def queue_suspend(api: Api) -> None:
    """Stop every checkout: running work finishes, nothing new starts."""
    out.print(str(api.put("/queue", {"suspend": None}).data), markup=False)


@queue.command("resume")
@click.pass_obj
def queue_resume(api: Api) -> None:
    """Hand out work again."""
    out.print(str(api.put("/queue", {"resume": None}).data), markup=False)
