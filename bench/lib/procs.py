"""The processes a bench run starts (awe-server, the hello-world baseline, redis, celery), read
from /proc, and stopped whatever happens: a bench that leaks servers spoils the next run."""

from __future__ import annotations

import os
import random
import re
import resource
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import yaml

from tests.e2e.serverproc import console_script, kill_process, stop_process

REPO = Path(__file__).resolve().parents[2]
LISTEN_LINE = re.compile(r"listening on (http://[\d.]+:\d+)")
EXCEPTION_LINE = re.compile(r"^[\w.]+(Error|Exception|Exit)\b")
PAGE = os.sysconf("SC_PAGE_SIZE")
TICKS = os.sysconf("SC_CLK_TCK")

_started: list[subprocess.Popen] = []


def child_env() -> dict[str, str]:
    """The environment for children: the repository importable, no HTTP proxies."""
    env = dict(os.environ)
    for key in ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY"):
        env.pop(key, None)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO), env.get("PYTHONPATH")) if p)
    return env


def spawn(cmd: list[str], log_path: Path, env: dict[str, str] | None = None) -> subprocess.Popen:
    """Start a child with stdout+stderr appended to `log_path`, remembered for `stop_all`."""
    with open(log_path, "ab") as log:
        proc = subprocess.Popen(
            cmd, stdout=log, stderr=subprocess.STDOUT, env=env or child_env(), cwd=REPO
        )
    _started.append(proc)
    return proc


def run_child(cmd: list[str], timeout: float) -> subprocess.CompletedProcess:
    """Run a child to its end, capturing its output; on a timeout or our own interruption it
    gets SIGTERM (stop_all), so that it can stop what it started in turn."""
    proc = subprocess.Popen(
        cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=child_env(), cwd=REPO
    )
    _started.append(proc)
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        stop_process(proc, 15.0)
        out, err = proc.communicate()
        err += f"\n(stopped after {timeout:.0f} s)"
    return subprocess.CompletedProcess(cmd, proc.returncode, out, err)


def stop_all() -> None:
    """SIGTERM (then SIGKILL) every child this process started that still runs."""
    while _started:
        stop_process(_started.pop(), 10.0)


def _interrupt(signum: int, _frame: Any) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


def install_signal_handlers() -> None:
    """SIGTERM (and SIGINT, even if inherited as ignored) unwind through the `finally` blocks."""
    signal.signal(signal.SIGTERM, _interrupt)
    signal.signal(signal.SIGINT, _interrupt)


def raise_nofile(wanted: int) -> tuple[int, str]:
    """Raise RLIMIT_NOFILE of this process (children inherit it); the limit got, and why not more."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft >= wanted:
        return soft, ""
    if hard != resource.RLIM_INFINITY and hard < wanted:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, wanted))
            return wanted, ""
        except (ValueError, OSError):
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
            return hard, f"RLIMIT_NOFILE hard limit is {hard} and cannot be raised (not root?)"
    resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))
    return wanted, ""


def free_port() -> int:
    """A port on 127.0.0.1 that was free a moment ago (for servers that cannot take port 0)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def restart_port() -> int:
    """A free port below Linux's ephemeral range (32768+): a server restarted on it cannot
    find it taken meanwhile by some other process's port-0 bind or outgoing connection."""
    for _ in range(200):
        port = random.randint(20_000, 32_000)
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    return free_port()


def machine_load() -> str:
    """The 1/5/15-minute load averages, recorded beside every figure (the machine is shared)."""
    one, five, fifteen = os.getloadavg()
    return f"{one:.2f} {five:.2f} {fifteen:.2f}"


# ---- /proc --------------------------------------------------------------------------------


def rss_bytes(pid: int) -> int:
    """Resident set size of a process, from /proc/PID/statm."""
    with open(f"/proc/{pid}/statm") as f:
        return int(f.read().split()[1]) * PAGE


def cpu_seconds(pid: int, tid: int | None = None) -> float:
    """User + system CPU seconds of a process (or one of its threads) so far."""
    path = f"/proc/{pid}/stat" if tid is None else f"/proc/{pid}/task/{tid}/stat"
    with open(path) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


def cpu_split(pid: int) -> tuple[float, float]:
    """(user, system) CPU seconds of a process so far."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return int(fields[11]) / TICKS, int(fields[12]) / TICKS


def context_switches(pid: int) -> int:
    """Voluntary + involuntary context switches of all of a process's threads so far: each
    message between actor threads costs at least one wake-up."""
    total = 0
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{tid}/status") as f:
                for line in f:
                    if "ctxt_switches:" in line:
                        total += int(line.split()[1])
        except OSError:
            continue
    return total


def threads_cpu(pid: int, names: dict[int, str] | None = None) -> dict[str, float]:
    """CPU seconds per thread name (Python's names when given, else the OS's), threads of the
    same name added up."""
    out: dict[str, float] = {}
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            name = (names or {}).get(int(tid))
            if name is None:
                with open(f"/proc/{pid}/task/{tid}/comm") as f:
                    name = f.read().strip()
            name = re.sub(r"[-_]\d+$", "", name) or name  # pool threads share one name
            out[name] = out.get(name, 0.0) + cpu_seconds(pid, int(tid))
        except OSError:
            continue  # a thread that ended meanwhile
    return out


def nofile_limit(pid: int) -> str:
    """The 'Max open files' soft limit of a running process."""
    with open(f"/proc/{pid}/limits") as f:
        for line in f:
            if line.startswith("Max open files"):
                return line.split()[3]
    return "?"


# ---- servers ------------------------------------------------------------------------------


class ServerProc:
    """A child HTTP server whose log says `listening on http://HOST:PORT` once it serves."""

    name = "server"

    def __init__(self, workdir: Path, env: dict[str, str] | None = None) -> None:
        self.env = env or {}  # added to the child's environment (PYTHONPATH is prepended)
        self.workdir = Path(workdir)
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.log_path = self.workdir / f"{self.name}.log"
        self.proc: subprocess.Popen | None = None
        self.url = ""
        self.port = 0

    def command(self) -> list[str]:
        raise NotImplementedError

    def spawn(self) -> int:
        """Start the process; the log offset from which its start-up lines are written."""
        offset = self.log_path.stat().st_size if self.log_path.exists() else 0
        env = child_env()
        for key, value in self.env.items():
            env[key] = os.pathsep.join((value, env[key])) if key == "PYTHONPATH" else value
        self.proc = spawn(self.command(), self.log_path, env)
        return offset

    def wait_listening(self, offset: int, timeout: float = 600.0) -> None:
        """Block until the log from `offset` names the URL; raise with the log tail if it died."""
        deadline = time.monotonic() + timeout
        assert self.proc is not None
        while True:
            with open(self.log_path, "rb") as f:
                f.seek(offset)
                match = LISTEN_LINE.search(f.read().decode(errors="replace"))
            if match:
                self.url = match.group(1)
                self.port = int(self.url.rsplit(":", 1)[1])
                return
            if self.proc.poll() is not None or time.monotonic() > deadline:
                tail = "\n".join(self.log_lines()[-20:])
                self.kill()
                raise RuntimeError(f"{self.name} did not start:\n{tail}")
            time.sleep(0.01)

    def start(self) -> ServerProc:
        self.wait_listening(self.spawn())
        return self

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def kill(self) -> None:
        """SIGKILL: nothing is flushed."""
        kill_process(self.proc)

    def stop(self) -> int | None:
        """SIGTERM, then SIGKILL after 15 s; the exit code."""
        return stop_process(self.proc, 15.0)

    def log_lines(self) -> list[str]:
        try:
            return self.log_path.read_text(errors="replace").splitlines()
        except OSError:
            return []

    def problems(self, limit: int = 5, ignore: str = "") -> list[str]:
        """The first WARNING/ERROR lines of the log, each ERROR with the exception that ended
        its traceback; lines containing `ignore` (when given) are left out."""
        lines = self.log_lines()
        found = []
        for i, line in enumerate(lines):
            if not (" WARNING " in line or " ERROR " in line) or (ignore and ignore in line):
                continue
            if " ERROR " in line:
                for follow in lines[i + 1 : i + 60]:
                    if EXCEPTION_LINE.match(follow):
                        line += f" -> {follow.strip()}"
                        break
            found.append(line)
            if len(found) >= limit:
                break
        return found


class AweServerProc(ServerProc):
    """The real `awe-server` with its embedded store in `workdir/data`."""

    name = "awe-server"

    def __init__(
        self, workdir: Path, config: dict[str, Any] | None = None, env: dict[str, str] | None = None
    ) -> None:
        super().__init__(workdir, env)
        self.config = {"store": {"embedded": {"synchronous": "full"}}, **(config or {})}
        self.config_path = self.workdir / "awe-server.yaml"
        self.config_path.write_text(yaml.safe_dump(self.config))

    def command(self) -> list[str]:
        return console_script("awe-server") + [
            "--config",
            str(self.config_path),
            "--port",
            str(self.port),
            "--data-dir",
            str(self.workdir / "data"),
        ]


class HelloServerProc(ServerProc):
    """Tornado's hello world in its own process: the ceiling of one Tornado IOLoop here."""

    name = "hello"

    def command(self) -> list[str]:
        return [sys.executable, str(REPO / "bench" / "lib" / "hello.py")]
