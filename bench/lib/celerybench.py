"""The Celery + Redis baseline: the same number of no-op tasks as awe's dispatch, 2 prefork
workers, in the same run. Missing pieces are reported as a reason, never as a crash."""

from __future__ import annotations

import importlib.util
import os
import shutil
import socket
import sys
import time
from pathlib import Path
from typing import Any

from bench.lib.procs import child_env, free_port, spawn
from tests.e2e.serverproc import stop_process


def missing() -> str:
    """Why the Celery baseline cannot run here, or '' when it can."""
    reasons = []
    if shutil.which("redis-server") is None:
        reasons.append("redis-server is not installed (Debian: apt-get install redis-server)")
    if importlib.util.find_spec("celery") is None or importlib.util.find_spec("redis") is None:
        reasons.append("celery/redis are not installed (pip install -e '.[bench]')")
    return "; ".join(reasons)


def _wait_redis(port: int, proc: Any, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"redis-server exited with code {proc.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1) as sock:
                sock.sendall(b"PING\r\n")
                if sock.recv(16).startswith(b"+PONG"):
                    return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError("redis-server did not answer PING")


class CeleryBaseline:
    """A private redis-server and a `celery worker -c 2 -P prefork`, both on 127.0.0.1."""

    def __init__(self, workdir: Path, concurrency: int = 2) -> None:
        self.workdir = Path(workdir)
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.concurrency = concurrency
        self.procs: list[Any] = []

    def start(self) -> CeleryBaseline:
        port = free_port()
        redis = spawn(
            [
                "redis-server",
                "--port",
                str(port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.workdir),
            ],
            self.workdir / "redis.log",
        )
        self.procs.append(redis)
        _wait_redis(port, redis)
        self.url = f"redis://127.0.0.1:{port}/0"
        os.environ["AWE_BENCH_REDIS"] = self.url  # before celery_app is imported here
        env = {**child_env(), "AWE_BENCH_REDIS": self.url}
        worker = spawn(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "bench.lib.celery_app",
                "worker",
                "-c",
                str(self.concurrency),
                "-P",
                "prefork",
                "--loglevel",
                "WARNING",
                "--without-gossip",
                "--without-mingle",
                "--without-heartbeat",
            ],
            self.workdir / "celery.log",
            env=env,
        )
        self.procs.append(worker)
        from bench.lib import celery_app

        if celery_app.REDIS != self.url:
            raise RuntimeError("bench.lib.celery_app was imported before the bench's redis ran")
        self.noop = celery_app.noop
        self.noop.delay().get(timeout=60)  # the worker is up and has run one task
        return self

    def run(self, tasks: int) -> dict[str, Any]:
        """Send `tasks` no-op tasks and wait for every result; tasks/s over the whole."""
        from celery.result import ResultSet

        started = time.perf_counter()
        results = ResultSet([self.noop.delay() for _ in range(tasks)])
        sent = time.perf_counter() - started
        results.join_native(timeout=600)
        wall = time.perf_counter() - started
        results.forget()
        return {"tasks": tasks, "send_s": sent, "wall_s": wall, "tasks_per_s": tasks / wall}

    def stop(self) -> None:
        for proc in reversed(self.procs):
            stop_process(proc, 15.0)
        self.procs = []
