"""Start and stop a real `awe-server` process for end-to-end tests."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import yaml

LISTEN_LINE = re.compile(r"listening on (http://[\d.]+:\d+)")


def console_script(name: str) -> list[str]:
    """The installed console script next to this interpreter, else `python -m` of its module."""
    script = Path(sys.executable).parent / name
    if script.exists():
        return [str(script)]
    module = {"awe-server": "awe.server", "awe-worker": "awe.worker.main", "awe": "awe.cli"}[name]
    return [sys.executable, "-m", module]


class ServerProcess:
    """A real awe-server on 127.0.0.1 with its own data dir; `--port 0` picks a free port."""

    def __init__(
        self, data_dir: Path, config: dict[str, Any] | None = None, command: list[str] | None = None
    ) -> None:
        self.data_dir = Path(data_dir)
        self.config = config or {}
        self.command = command  # instead of the awe-server script (a server with a planted fault)
        self.proc: subprocess.Popen[str] | None = None
        self.url = ""
        self.port = 0
        self.log_lines: list[str] = []

    def start(self, timeout: float = 30.0) -> ServerProcess:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        config_path = self.data_dir / "test-server.yaml"
        config_path.write_text(yaml.safe_dump(self.config))
        port = str(self.port)  # a restart keeps the port the first start got
        cmd = list(self.command or console_script("awe-server"))
        cmd += ["--config", str(config_path), "--port", port, "--data-dir", str(self.data_dir)]
        self.proc = subprocess.Popen(
            cmd, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True
        )
        found = threading.Event()

        def pump() -> None:
            assert self.proc is not None and self.proc.stderr is not None
            for line in self.proc.stderr:
                self.log_lines.append(line.rstrip("\n"))
                match = LISTEN_LINE.search(line)
                if match and not found.is_set():
                    self.url = match.group(1)
                    self.port = int(self.url.rsplit(":", 1)[1])
                    found.set()

        threading.Thread(target=pump, daemon=True).start()
        deadline = time.monotonic() + timeout
        while not found.wait(0.05):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.kill()
                log = "\n".join(self.log_lines[-30:])
                raise RuntimeError(f"awe-server did not start:\n{log}")
        return self

    def kill(self) -> None:
        """SIGKILL: the server gets no chance to flush anything."""
        kill_process(self.proc)

    def stop(self, timeout: float = 15.0) -> int | None:
        """SIGTERM and wait: a clean stop."""
        return stop_process(self.proc, timeout)

    def restart(self) -> ServerProcess:
        self.stop()
        return self.start()

    def __enter__(self) -> ServerProcess:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def kill_process(proc: subprocess.Popen | None) -> None:
    """SIGKILL a child process that is still running, and reap it."""
    if proc and proc.poll() is None:
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)


def stop_process(proc: subprocess.Popen | None, timeout: float) -> int | None:
    """SIGTERM, wait up to `timeout`, then SIGKILL; the exit code (negative: by a signal)."""
    if proc and proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            kill_process(proc)
    return proc.returncode if proc else None


def env_without_proxies() -> dict[str, str]:
    env = dict(os.environ)
    for key in ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY"):
        env.pop(key, None)
    return env


def dump(obj: Any) -> str:
    return json.dumps(obj, indent=1)
