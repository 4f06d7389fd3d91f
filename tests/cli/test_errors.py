"""What the CLI does when things go wrong: no server, auth, bad usage; and the bearer token."""

from __future__ import annotations

import json
import socket
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from awe.cli import cli
from tests.cli.conftest import REPO, Http, awe_command, cli_env, job_script
from tests.e2e.serverproc import ServerProcess


def closed_port() -> int:
    """A port nothing listens on: bound, then released."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def run(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        awe_command(*args),
        capture_output=True,
        text=True,
        cwd=REPO,
        env=cli_env(**env),
        timeout=60,
    )


def test_no_server_exits_2_and_says_where_it_looked() -> None:
    url = f"http://127.0.0.1:{closed_port()}"
    result = run("--server", url, "jobs")
    assert result.returncode == 2
    assert f"cannot reach the awe server at {url}: is awe-server running?" in result.stderr
    assert "Connection refused" in result.stderr  # the reason, so a slow server is told apart
    assert "Traceback" not in result.stderr


def test_server_url_comes_from_awe_server_env(server: ServerProcess) -> None:
    result = run("jobs", AWE_SERVER=server.url)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "no jobs"


def test_default_server_is_port_8001_on_localhost() -> None:
    result = run("--help")
    assert result.returncode == 0
    assert "http://127.0.0.1:8001" in result.stdout


@pytest.fixture
def locked_server(tmp_path: Path) -> Iterator[ServerProcess]:
    config = {
        "anonymous": {"read": False, "write": False, "delete": False},
        "auth": {"tokens": {"s3cret": "ana"}},
    }
    proc = ServerProcess(tmp_path / "locked", config).start()
    yield proc
    proc.stop()


def test_token_is_sent_as_bearer_from_option_or_env(locked_server: ServerProcess) -> None:
    url = locked_server.url
    anonymous = run("--server", url, "jobs")
    assert anonymous.returncode == 1
    assert "error (HTTP 401): No Authorization" in anonymous.stderr
    assert run("--server", url, "--token", "s3cret", "jobs").returncode == 0
    assert run("--server", url, "jobs", AWE_TOKEN="s3cret").returncode == 0
    wrong = run("--server", url, "--token", "wrong", "jobs")
    assert wrong.returncode == 1
    assert "error (HTTP 401): Invalid Auth Header" in wrong.stderr


def test_a_job_submitted_with_a_token_belongs_to_its_user(
    locked_server: ServerProcess, tmp_path: Path
) -> None:
    script = tmp_path / "job.json"
    script.write_text(json.dumps(job_script()))
    result = run("--server", locked_server.url, "--token", "s3cret", "submit", "-q", str(script))
    assert result.returncode == 0, result.stderr
    job_id = result.stdout.strip()
    assert Http(locked_server.url).call("GET", f"/job/{job_id}")["status"] == 401
    shown = run("--server", locked_server.url, "show", job_id, "--json", AWE_TOKEN="s3cret")
    assert shown.returncode == 0, shown.stderr


def test_in_process_runner_reports_errors_with_the_same_exit_codes(
    server: ServerProcess,
) -> None:
    runner = CliRunner()
    missing = runner.invoke(cli, ["--server", server.url, "show", "nope"])
    assert missing.exit_code == 1
    assert "job not found:nope" in missing.stderr
    gone = runner.invoke(cli, ["--server", f"http://127.0.0.1:{closed_port()}", "queue"])
    assert gone.exit_code == 2
    assert "is awe-server running?" in gone.stderr
    ok = runner.invoke(cli, ["--server", server.url, "queue", "--json"])
    assert ok.exit_code == 0, ok.output
    assert '"queue_status": "running"' in ok.stdout


def test_usage_errors_are_clicks_not_the_servers(server: ServerProcess) -> None:
    both = run("--server", server.url, "delete", "--suspended", "--zombies")
    assert both.returncode == 2
    assert "give only one of --suspended and --zombies" in both.stderr
    bad_priority = run("--server", server.url, "priority", "some-job", "zero")
    assert bad_priority.returncode == 2
