"""Real awe-worker processes and a small AWE API client, for the worker end-to-end tests."""

from __future__ import annotations

import contextlib
import json
import re
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import urllib3
import yaml

from tests.e2e.serverproc import (
    ServerProcess,
    console_script,
    env_without_proxies,
    kill_process,
    stop_process,
)

FAST_WORKER = {
    "heartbeat_interval_s": 0.3,
    "checkout_wait_s": 1,
    "backoff": {"idle_s": 0.2, "error_s": 0.2, "error_after_10_s": 0.5, "suspended_s": 0.5},
    "report_retry": {"initial_s": 0.1, "max_s": 0.5},
    "shutdown_grace_s": 2,
    "upload_retry_pause_s": 0.1,
    "http_timeout_s": 10,
    "log_level": "debug",
}


# First run: leave a marker, write the pid, sleep a minute. Later runs: finish at once.
SLEEP_ONCE = (
    'import os, sys, time; m = sys.argv[1]; first = not os.path.exists(m); open(m, "a").close();'
    'open("pid", "w").write(str(os.getpid())); open("out.txt", "w").write("ok");'
    "time.sleep(60 if first else 0)"
)


class WorkerProcess:
    """An awe-worker with its own work dir under `root`; its stderr is kept line by line."""

    def __init__(
        self, server_url: str, root: Path, name: str, prefix: tuple[str, ...] = (), **config: Any
    ) -> None:
        self.root = Path(root) / name
        self.name = name
        self.prefix = list(prefix)  # e.g. ("ip", "netns", "exec", "ns1"): run it elsewhere
        self.config = {
            **FAST_WORKER,
            "server_url": server_url,
            "name": name,
            "work_dir": str(self.root / "work"),
            **config,
        }
        self.proc: subprocess.Popen[str] | None = None
        self.lines: list[str] = []
        self._lock = threading.Lock()

    def start(self) -> WorkerProcess:
        self.root.mkdir(parents=True, exist_ok=True)
        path = self.root / "worker.yaml"
        path.write_text(yaml.safe_dump(self.config))
        cmd = [*self.prefix, *console_script("awe-worker"), "--config", str(path)]
        self.proc = subprocess.Popen(
            cmd,
            stderr=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            text=True,
            env=env_without_proxies(),
        )
        threading.Thread(target=self._pump, daemon=True).start()
        self.wait_log(r"registered as \S+", timeout=20)
        return self

    def _pump(self) -> None:
        assert self.proc is not None and self.proc.stderr is not None
        for line in self.proc.stderr:
            with self._lock:
                self.lines.append(line.rstrip("\n"))

    @property
    def log(self) -> str:
        with self._lock:
            return "\n".join(self.lines)

    def count(self, pattern: str) -> int:
        return len(re.findall(pattern, self.log))

    def wait_log(self, pattern: str, timeout: float = 30.0) -> re.Match[str]:
        """Bounded polling of the log for `pattern`."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            match = re.search(pattern, self.log)
            if match:
                return match
            if self.proc is not None and self.proc.poll() is not None:
                time.sleep(0.1)  # let the pump read the last lines
                match = re.search(pattern, self.log)
                if match:
                    return match
                raise AssertionError(f"worker {self.name} exited; no {pattern!r}:\n{self.tail()}")
            time.sleep(0.05)
        raise AssertionError(f"worker {self.name}: no {pattern!r} in {timeout}s:\n{self.tail()}")

    def tail(self, lines: int = 40) -> str:
        with self._lock:
            return "\n".join(self.lines[-lines:])

    def kill(self) -> None:
        """SIGKILL: the worker gets no chance to report anything."""
        kill_process(self.proc)

    def stop(self, timeout: float = 30.0) -> int | None:
        return stop_process(self.proc, timeout)


class AweApi:
    """The user side of the AWE API: submit, look at, and control jobs."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.http = urllib3.PoolManager(retries=False, timeout=urllib3.Timeout(total=30))

    def call(self, method: str, path: str, **kw: Any) -> Any:
        response = self.http.request(method, self.url + path, **kw)
        body = json.loads(response.data)
        if body.get("error"):
            raise AssertionError(f"{method} {path}: {response.status} {body['error']}")
        return body["data"]

    def submit(self, script: dict[str, Any]) -> dict[str, Any]:
        upload = ("job.json", json.dumps(script).encode(), "application/json")
        return self.call("POST", "/job", fields={"upload": upload})

    def job(self, job_id: str) -> dict[str, Any]:
        return self.call("GET", f"/job/{job_id}")

    def control(self, job_id: str, op: str) -> Any:
        return self.call("PUT", f"/job/{job_id}?{op}")

    def report(self, wuid: str, name: str) -> str:
        return self.call("GET", f"/work/{wuid}?report={name}")

    def wait_state(self, job_id: str, state: str, timeout: float = 60.0) -> dict[str, Any]:
        """Bounded polling until the job is in `state`."""
        deadline = time.monotonic() + timeout
        job: dict[str, Any] = {}
        while time.monotonic() < deadline:
            try:
                job = self.job(job_id)
            except (urllib3.exceptions.HTTPError, ValueError):
                job = {}  # the server may be restarting
            if job.get("state") == state:
                return job
            time.sleep(0.1)
        raise AssertionError(f"job {job_id} not {state} after {timeout}s: {json.dumps(job)[:3000]}")


def py_task(taskid: str, code: str, extra_args: str = "", **fields: Any) -> dict[str, Any]:
    """A task running a Python snippet with python3 (no single quotes in the snippet)."""
    assert "'" not in code
    args = f"-c '{code}'" + (f" {extra_args}" if extra_args else "")
    return {"taskid": taskid, "cmd": {"name": "python3", "args": args}, **fields}


def pid_alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(") ")[1][0] != "Z"
    except FileNotFoundError:
        return False


@contextlib.contextmanager
def cluster(
    root: Path, server_config: dict[str, Any] | None = None, workers: int = 2, **worker_config: Any
) -> Iterator[tuple[ServerProcess, AweApi, list[WorkerProcess]]]:
    """A real awe-server and `workers` real awe-workers; everything is stopped afterwards and the
    logs are printed (pytest shows them when the test fails)."""
    server = ServerProcess(root / "server", config=server_config or {}).start()
    started: list[WorkerProcess] = []
    try:
        for i in range(workers):
            started.append(WorkerProcess(server.url, root, f"w{i + 1}", **worker_config).start())
        yield server, AweApi(server.url), started
    finally:
        for worker in started:
            worker.stop()
        server.stop()
        for worker in started:
            print(f"---- {worker.name} ----\n{worker.log}")
        print("---- server ----\n" + "\n".join(server.log_lines[-200:]))
