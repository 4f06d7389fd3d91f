"""The README's first pipeline, pasted line by line into fresh shells, works.

The blocks are read from README.md, not copied here. Two things differ from a reader's
terminal: the venv already exists (the server's line runs only its last command), and port 8001
becomes a free port (other servers may run on this machine).
"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.serverproc import env_without_proxies

REPO = Path(__file__).resolve().parents[2]
UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


def first_pipeline_blocks() -> list[str]:
    """The ```sh blocks of the README's section "A first pipeline", in order."""
    text = (REPO / "README.md").read_text()
    section = text.split("## A first pipeline", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```sh\n(.*?)```", section, flags=re.S)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def fresh_env() -> dict[str, str]:
    """A new terminal's environment: no venv active, no AWE_* settings."""
    env = env_without_proxies()
    venv_bin = str(Path(sys.executable).parent)
    env["PATH"] = os.pathsep.join(p for p in env.get("PATH", "").split(os.pathsep) if p != venv_bin)
    for key in ("VIRTUAL_ENV", "AWE_SERVER", "AWE_TOKEN", "COLUMNS"):
        env.pop(key, None)
    return env


class Terminal:
    """`bash` reading pasted lines on stdin, in the reader's directory."""

    def __init__(self, cwd: Path, port: int) -> None:
        self.cwd = cwd
        self.port = port
        self.procs: list[subprocess.Popen[str]] = []

    def paste(self, block: str) -> str:
        return block.replace("127.0.0.1:8001", f"127.0.0.1:{self.port}")

    def background(self, block: str, log: Path) -> subprocess.Popen[str]:
        proc = subprocess.Popen(
            ["bash", "--noprofile", "--norc"], stdin=subprocess.PIPE, stdout=log.open("w"),
            stderr=subprocess.STDOUT, text=True, cwd=self.cwd, env=fresh_env(),
            start_new_session=True,
        )  # fmt: skip
        assert proc.stdin is not None
        proc.stdin.write("exec " + self.paste(block).strip() + "\n")
        proc.stdin.flush()
        self.procs.append(proc)
        return proc

    def run(self, block: str, timeout: float) -> subprocess.CompletedProcess[str]:
        script = "set -e\n" + self.paste(block)
        return subprocess.run(
            ["bash", "--noprofile", "--norc"], input=script, capture_output=True, text=True,
            cwd=self.cwd, env=fresh_env(), timeout=timeout,
        )  # fmt: skip

    def close(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
                try:
                    proc.wait(20)
                except subprocess.TimeoutExpired:
                    os.killpg(proc.pid, signal.SIGKILL)
                    proc.wait()


@pytest.fixture
def terminal(tmp_path: Path) -> Iterator[Terminal]:
    (tmp_path / "examples").symlink_to(REPO / "examples")
    (tmp_path / ".venv").symlink_to(Path(sys.executable).parent.parent)
    term = Terminal(tmp_path, free_port())
    yield term
    term.close()


def wait_for_line(log: Path, pattern: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not re.search(pattern, log.read_text()):
        assert time.monotonic() < deadline, f"{pattern!r} not in {log}:\n{log.read_text()}"
        time.sleep(0.05)


def test_the_first_pipeline_works_pasted_into_fresh_shells(terminal: Terminal) -> None:
    server, worker, commands, with_curl = first_pipeline_blocks()
    start_server = server.strip().split("&&")[-1].strip() + f" --port {terminal.port}"
    server_log = terminal.cwd / "server.log"
    terminal.background(start_server, server_log)
    wait_for_line(server_log, r"listening on http://")
    worker_log = terminal.cwd / "worker.log"
    terminal.background(worker, worker_log)
    wait_for_line(worker_log, r"registered as")
    done = terminal.run(commands, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    assert re.search(r"task 0 completed", done.stdout), done.stdout
    assert re.search(r"job \S+ completed", done.stdout), done.stdout
    assert done.stdout.rstrip().splitlines()[-3:] == ["1,1", "2,4", "3,9"]
    again = terminal.run(with_curl.split("\n", 3)[0] + "\n" + with_curl.split("\n", 3)[1]
                         + '\necho "$JOB"\n', timeout=60)  # fmt: skip
    assert again.returncode == 0, again.stderr
    assert UUID.match(again.stdout.strip()), again.stdout
    everything = terminal.run(with_curl, timeout=60)
    assert everything.returncode == 0, everything.stderr
