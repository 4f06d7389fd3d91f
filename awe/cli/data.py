"""`awe get JOB TASK FILE [-o PATH]`: an output from the server's datastore, verified, with a bar.

The bytes come from `GET /data/<job>/<task>/<file>` (the output's `url`); a cut download resumes
where it stopped, and the file takes its name only once its md5 matches the one the server
recorded when the file was stored.
"""

from __future__ import annotations

from pathlib import Path

import click
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    TextColumn,
    TimeRemainingColumn,
    TransferSpeedColumn,
)
from rich.text import Text

from awe.cli.api import Api, Unreachable
from awe.cli.render import err, out
from awe.worker.dataref import DataRef
from awe.worker.transfer import Cancelled, DatastoreClient, TransferError

EXIT_FAILED = 1


@click.command("get")
@click.argument("job_id", metavar="JOB")
@click.argument("task")
@click.argument("filename", metavar="FILE")
@click.option("-o", "--output", type=click.Path(), default=None,
              help="Where to save it: a file, or a directory to put FILE in (default: ./FILE).")  # fmt: skip
@click.pass_context
def get(ctx: click.Context, job_id: str, task: str, filename: str, output: str | None) -> None:
    """Download output FILE of task TASK of job JOB, and verify its checksum."""
    api: Api = ctx.obj
    dest = Path(output or filename)
    if dest.is_dir():
        dest = dest / filename
    headers = {"Authorization": f"Bearer {api.token}"} if api.token else {}
    client = DatastoreClient(api.pool, api.server, headers, lambda: "", attempts=3, pause_s=0.5)
    ref = DataRef(job_id, task, filename)
    with Progress(
        TextColumn("{task.description}"), BarColumn(), DownloadColumn(), TransferSpeedColumn(),
        TimeRemainingColumn(), console=err, transient=True,
    ) as bar:  # fmt: skip
        row = bar.add_task(filename, total=None)
        try:
            size = client.download(
                ref, dest, lambda: False, progress=lambda done, total: bar.update(
                    row, completed=done, total=total)
            )  # fmt: skip
        except TransferError as error:
            if error.unreachable:
                raise Unreachable(api.server, str(error)) from None
            err.print(Text(f"awe get: {error}", style="bold red"), soft_wrap=True)
            ctx.exit(EXIT_FAILED)
        except (Cancelled, OSError) as error:
            err.print(Text(f"awe get: {error}", style="bold red"), soft_wrap=True)
            ctx.exit(EXIT_FAILED)
    line = Text(f"saved {job_id}/{task}/{filename} to ")
    line.append(str(dest), style="bold")
    line.append(f" ({size} bytes, checksum verified)")
    out.print(line, soft_wrap=True)
