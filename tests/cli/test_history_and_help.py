"""`awe show --history` as a table; the defaults `awe-server` and `awe-worker` show in --help."""

from __future__ import annotations

import pytest
from click.testing import CliRunner
from rich.console import Console

from awe import __version__
from awe.cli.render import history_table
from awe.server import main as server_main
from awe.worker.main import main as worker_main

JOB = "0b0e8d34-1111-2222-3333-444455556666"


def test_history_table_names_tasks_as_the_user_does_and_says_why() -> None:
    events = [
        {"kind": "job", "subject": JOB, "old": "", "new": "queued", "stimulus": "req-7",
         "time": "2026-01-01T10:00:00Z", "detail": ""},
        {"kind": "task", "subject": f"{JOB}_1", "old": "in-progress", "new": "suspend",
         "stimulus": "report-x", "time": "2026-01-01T10:00:05Z",
         "detail": "workunit failed 3 times"},
    ]  # fmt: skip
    console = Console(record=True, width=140)
    console.print(history_table(events, JOB))
    text = console.export_text()
    lines = [line.split() for line in text.splitlines() if line.strip()]
    assert lines[1][:2] == ["time", "what"]
    assert lines[2][2:6] == ["job", "new", "→", "queued"]  # after the date and the time
    assert lines[3][2:7] == ["task", "1", "in-progress", "→", "suspend"]
    assert "workunit failed 3 times" in text and JOB not in text


@pytest.mark.parametrize(
    ("main", "defaults"),
    [
        (server_main, ["Default: 8001.", "Default: 127.0.0.1.", "[default: info]"]),
        (worker_main, ["Default: http://127.0.0.1:8001.", "Default: 1.", "Default: default."]),
    ],
)
def test_help_shows_each_flags_default(main: object, defaults: list[str]) -> None:
    result = CliRunner().invoke(main, ["--help"], terminal_width=200)  # type: ignore[arg-type]
    assert result.exit_code == 0
    for default in defaults:
        assert default in result.output


def test_the_worker_says_its_version() -> None:
    result = CliRunner().invoke(worker_main, ["--version"])
    assert (result.exit_code, result.output.strip()) == (0, f"awe-worker, version {__version__}")
