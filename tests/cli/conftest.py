"""Fixtures for CLI tests: a real awe-server process, the `awe` command as a real subprocess,
and a worker played over HTTP with urllib3."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import urllib3

from tests.e2e.serverproc import ServerProcess, env_without_proxies

REPO = Path(__file__).resolve().parents[2]


def job_script(name: str = "hello", project: str = "sandbox", **info: Any) -> dict[str, Any]:
    """A two-task job: task 0 (one workunit), then task 1 (two workunits) after it."""
    return {
        "info": {"name": name, "project": project, "user": "ana", "pipeline": "smoke", **info},
        "tasks": [
            {"taskid": "0", "cmd": {"name": "uname", "args": "-a"}},
            {
                "taskid": "1",
                "dependsOn": ["0"],
                "cmd": {"name": "wc", "args": "-l"},
                "totalwork": 2,
            },
        ],
    }


class Http:
    """Direct calls to the server, for setting a scene and for checking what the CLI did."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.pool = urllib3.PoolManager(retries=False)

    def call(self, method: str, path: str, fields: dict[str, Any] | None = None) -> dict[str, Any]:
        """One request; the whole envelope back, whatever the status."""
        body, headers = None, {}
        if fields is not None:
            body, content_type = urllib3.encode_multipart_formdata(fields)
            headers["Content-Type"] = content_type
        response = self.pool.request(method, self.url + path, body=body, headers=headers)
        return json.loads(response.data)

    def data(self, method: str, path: str, fields: dict[str, Any] | None = None) -> Any:
        """One request that must succeed; its data."""
        envelope = self.call(method, path, fields)
        assert envelope["error"] is None, envelope
        return envelope["data"]

    def submit(self, script: dict[str, Any]) -> dict[str, Any]:
        return self.data("POST", "/job", {"upload": ("job.json", json.dumps(script).encode())})

    def job(self, job_id: str) -> dict[str, Any]:
        return self.data("GET", f"/job/{job_id}")


class Worker:
    """An AWE client played by hand: register, check out, report."""

    def __init__(self, http: Http, name: str = "w1") -> None:
        self.http = http
        profile = {"name": name, "group": "default", "apps": ["*"]}
        part = {"profile": ("profile.json", json.dumps(profile).encode())}
        self.id = http.data("POST", "/client", part)["id"]

    def checkout(self) -> dict[str, Any]:
        return self.http.data("GET", f"/work?client={self.id}")

    def report(self, wuid: str, status: str = "done", **files: str) -> None:
        parts = {name: (f"{name}.txt", text.encode()) for name, text in files.items()}
        path = f"/work/{wuid}?status={status}&client={self.id}&report"
        assert self.http.data("PUT", path, parts) == "ok"

    def run_one(self, **files: str) -> str:
        """Check out one workunit and report it done; its wuid."""
        wuid = self.checkout()["wuid"]
        self.report(wuid, **files)
        return wuid


@pytest.fixture
def server(tmp_path: Path) -> Iterator[ServerProcess]:
    # a quiet event stream says so every 0.2 s, and `awe watch` re-reads the job then
    proc = ServerProcess(tmp_path / "srv", {"events": {"keepalive_s": 0.2}}).start()
    yield proc
    proc.stop()


@pytest.fixture
def http(server: ServerProcess) -> Http:
    return Http(server.url)


def awe_command(*args: str) -> list[str]:
    return [sys.executable, "-m", "awe.cli", *args]


def cli_env(**extra: str) -> dict[str, str]:
    env = env_without_proxies()
    for key in ("AWE_SERVER", "AWE_TOKEN", "COLUMNS"):
        env.pop(key, None)
    env.update(extra)
    return env


AweRun = Callable[..., subprocess.CompletedProcess[str]]


@pytest.fixture
def awe(server: ServerProcess) -> AweRun:
    """Run `awe --server <url> ARGS…` as a real process; the finished process back."""

    def run(*args: str, stdin: str | None = None, **env: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            awe_command("--server", server.url, *args),
            input=stdin,
            capture_output=True,
            text=True,
            cwd=REPO,
            env=cli_env(**env),
            timeout=60,
        )

    return run
