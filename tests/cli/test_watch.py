"""`awe watch` and `awe submit --watch`: follow a job to its end; the exit code says how."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.cli.conftest import REPO, Http, Worker, awe_command, cli_env, job_script
from tests.e2e.serverproc import ServerProcess


class Watcher:
    """`awe watch` running in the background; its first line proves it saw the job once."""

    def __init__(self, server: ServerProcess, *args: str) -> None:
        self.proc = subprocess.Popen(
            awe_command("--server", server.url, *args),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            cwd=REPO,
            env=cli_env(),
        )
        assert self.proc.stdout is not None
        self.first_line = self.proc.stdout.readline()

    def finish(self) -> tuple[int, str, str]:
        out, err = self.proc.communicate(timeout=60)
        return self.proc.returncode, self.first_line + out, err

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


@pytest.fixture
def watchers(server: ServerProcess) -> Iterator[list[Watcher]]:
    started: list[Watcher] = []
    yield started
    for watcher in started:
        watcher.kill()


def start(watchers: list[Watcher], server: ServerProcess, *args: str) -> Watcher:
    watcher = Watcher(server, *args)
    watchers.append(watcher)
    return watcher


def test_watch_exits_0_when_the_job_completes_and_shows_each_task(
    server: ServerProcess, http: Http, watchers: list[Watcher]
) -> None:
    job_id = http.submit(job_script(name="watched"))["id"]
    watcher = start(watchers, server, "watch", job_id, "--interval", "0.05", "--timeout", "60")
    assert watcher.first_line.split()[1:] == ["job", "queued"]
    worker = Worker(http)
    for _ in range(3):
        worker.run_one()
    code, out, err = watcher.finish()
    assert code == 0, err
    assert out.rstrip().endswith(f"job {job_id} completed")
    assert "task 0 completed" in out
    assert "task 1 completed" in out
    bars = {line.split()[1]: line.split() for line in out.splitlines() if line.startswith("task ")}
    assert bars["0"][-2:] == ["1/1", "completed"]
    assert bars["1"][-2:] == ["2/2", "completed"]


@pytest.mark.parametrize(
    ("method", "query", "code", "says"),
    [
        ("PUT", "?suspend", 1, "suspended: manually suspended"),  # with the job's notes
        ("DELETE", "", 3, "was deleted"),
    ],
)
def test_watch_exit_code_tells_how_the_job_ended(
    server: ServerProcess,
    http: Http,
    watchers: list[Watcher],
    method: str,
    query: str,
    code: int,
    says: str,
) -> None:
    job_id = http.submit(job_script())["id"]
    watcher = start(watchers, server, "watch", job_id, "--interval", "0.05", "--timeout", "60")
    assert "job queued" in watcher.first_line
    http.data(method, f"/job/{job_id}{query}")
    exit_code, out, _ = watcher.finish()
    assert exit_code == code
    assert f"job {job_id} {says}" in out


def test_watch_gives_up_with_exit_4_after_the_timeout(
    server: ServerProcess, http: Http, watchers: list[Watcher]
) -> None:
    job_id = http.submit(job_script())["id"]
    watcher = start(watchers, server, "watch", job_id, "--interval", "0.05", "--timeout", "0.3")
    code, out, _ = watcher.finish()
    assert code == 4
    assert f"gave up after 0.3 s: job {job_id} is still queued" in out


def test_watch_of_a_wrong_job_id_exits_1(server: ServerProcess, watchers: list[Watcher]) -> None:
    watcher = start(watchers, server, "watch", "nope", "--interval", "0.05")
    code, _, err = watcher.finish()
    assert code == 1
    assert "job not found:nope" in err


def test_submit_watch_follows_the_new_job_to_completion(
    server: ServerProcess, http: Http, watchers: list[Watcher], tmp_path: Path
) -> None:
    script = tmp_path / "job.json"
    script.write_text(json.dumps(job_script(name="submitted-and-watched")))
    watcher = start(watchers, server, "submit", str(script), "--watch", "--interval", "0.05")
    assert watcher.first_line.startswith("submitted job ")
    job_id = watcher.first_line.split()[2]
    assert watcher.proc.stdout is not None
    assert "job queued" in watcher.proc.stdout.readline()
    worker = Worker(http)
    for _ in range(3):
        worker.run_one()
    code, out, err = watcher.finish()
    assert code == 0, err
    assert out.rstrip().endswith(f"job {job_id} completed")
    assert http.job(job_id)["state"] == "completed"
