"""The `awe` command group: global options, and one place that turns errors into exit codes."""

from __future__ import annotations

import os
from typing import Any

import click
from rich.text import Text

from awe import __version__
from awe.cli import admin, data, jobs, watch
from awe.cli.api import DEFAULT_SERVER, Api, ApiError, Unreachable
from awe.cli.render import err, out

EXIT_API_ERROR = 1
EXIT_UNREACHABLE = 2
PIPE_WIDTH = 200


def report_api_error(error: ApiError) -> None:
    """The server's own message, in red, with the HTTP status and the request that got it."""
    line = Text(f"error (HTTP {error.status}): ", style="bold red")
    line.append(error.message, style="red")
    err.print(line, soft_wrap=True)
    err.print(Text(f"  request: {error.request}", style="dim"), soft_wrap=True)


class AweGroup(click.Group):
    """A click group whose subcommands may raise ApiError / Unreachable instead of exiting."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except ApiError as error:
            report_api_error(error)
            ctx.exit(EXIT_API_ERROR)
        except Unreachable as error:
            err.print(Text(str(error), style="bold red"), soft_wrap=True)
            if error.reason:  # refused, timed out, TLS...: a running but slow server says so
                err.print(Text(error.reason, style="dim"), soft_wrap=True)
            ctx.exit(EXIT_UNREACHABLE)


@click.group(cls=AweGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--server",
    envvar="AWE_SERVER",
    default=DEFAULT_SERVER,
    show_default=True,
    help="URL of the awe server (env AWE_SERVER).",
)
@click.option(
    "--token",
    envvar="AWE_TOKEN",
    default=None,
    help="Bearer token sent as `Authorization: Bearer <t>` (env AWE_TOKEN).",
)
@click.version_option(__version__, prog_name="awe")
@click.pass_context
def cli(ctx: click.Context, server: str, token: str | None) -> None:
    """Submit, follow and steer jobs on an AWE server."""
    ctx.obj = Api(server, token)
    if not out.is_terminal and "COLUMNS" not in os.environ:
        out.width = PIPE_WIDTH  # piped into grep or a file: whole rows, not an 80-column cut


for command in (
    jobs.submit,
    jobs.list_jobs,
    jobs.show,
    watch.watch,
    *jobs.OPERATIONS,
    admin.clients,
    admin.client,
    admin.logs,
    admin.work,
    admin.queue,
    data.get,
):
    cli.add_command(command)


def main(argv: list[str] | None = None) -> None:
    """Console-script entry point (`awe`, `python -m awe.cli`)."""
    cli.main(args=argv, prog_name="awe")
