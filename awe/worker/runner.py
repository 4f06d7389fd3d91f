"""Running a workunit's command: argument expansion, a per-child environment, no shell.

The command runs in its own session (process group) so a discard kills it and everything it
started. Memory is measured on the child itself (`os.wait4`), not on the worker (spec 12 item 15).
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

VAR = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


def split_args(args: str) -> list[str]:
    """Split on spaces; single quotes group words and are removed (spec 2.4)."""
    tokens: list[str] = []
    current: list[str] = []
    quoted = False
    started = False
    for char in args:
        if char == "'":
            quoted = not quoted
            started = True
        elif char == " " and not quoted:
            if started:
                tokens.append("".join(current))
            current, started = [], False
        else:
            current.append(char)
            started = True
    if quoted:
        raise ValueError(f"unbalanced single quote in args: {args}")
    if started:
        tokens.append("".join(current))
    return tokens


def expand_args(
    tokens: list[str], files: Mapping[str, Path], environ: Mapping[str, str]
) -> list[str]:
    """`@<filename>` → absolute path of that input or predata; `${VAR}` → environment value."""
    expanded = []
    for token in tokens:
        if token.startswith("@") and token[1:] in files:
            expanded.append(str(files[token[1:]]))
        else:
            expanded.append(VAR.sub(lambda m: environ.get(m.group(1), ""), token))
    return expanded


def resolve_command(name: str, environ: Mapping[str, str], cwd: Path) -> str:
    """The executable for `name`: a path as given, else looked up in the child's PATH."""
    if not name:
        raise FileNotFoundError("command name is empty")
    if "/" in name:
        path = Path(name) if Path(name).is_absolute() else cwd / name
        if not os.access(path, os.X_OK) or path.is_dir():
            raise FileNotFoundError(f"command not executable: {name}")
        return str(path)
    found = shutil.which(name, path=environ.get("PATH", os.defpath))
    if found is None:
        raise FileNotFoundError(f"command not found in PATH: {name}")
    return found


@dataclass
class RunResult:
    returncode: int | None  # None: it never started
    runtime_s: float
    max_rss_bytes: int  # -1: unknown
    error: str = ""  # why it could not start
    killed: bool = False  # we killed it (discard)

    @property
    def ok(self) -> bool:
        return self.returncode == 0 and not self.killed


class Command:
    """One run of a command; `kill()` may be called from any thread, before or during the run."""

    def __init__(
        self,
        argv: list[str],
        cwd: Path,
        env: Mapping[str, str],
        stdout_path: Path,
        stderr_path: Path,
    ) -> None:
        self.argv = argv
        self.cwd = cwd
        self.env = dict(env)
        self.stdout_path = stdout_path
        self.stderr_path = stderr_path
        self._lock = threading.Lock()
        self._proc: subprocess.Popen[bytes] | None = None
        self._killed = False
        self._reaped = False

    def run(self) -> RunResult:
        """Start, wait, and return how it went; never raises for a command that fails."""
        started = time.monotonic()
        with self._lock:
            if self._killed:
                return RunResult(None, 0.0, -1, "killed before start", killed=True)
            try:
                executable = resolve_command(self.argv[0], self.env, self.cwd)
                with open(self.stdout_path, "wb") as out, open(self.stderr_path, "wb") as err:
                    # running the job's command is what a worker is for (SECURITY.md): no
                    # shell, an argument list, the command resolved on the worker's PATH
                    self._proc = subprocess.Popen(  # noqa: S603
                        [executable, *self.argv[1:]],
                        cwd=self.cwd,
                        env=self.env,
                        stdin=subprocess.DEVNULL,
                        stdout=out,
                        stderr=err,
                        start_new_session=True,  # own process group: kill takes all of it
                        close_fds=True,
                    )
            except OSError as err:
                return RunResult(None, 0.0, -1, f"cannot start {self.argv[0]}: {_reason(err)}")
        _, status, usage = os.wait4(self._proc.pid, 0)
        with self._lock:
            self._reaped = True
            self._proc.returncode = os.waitstatus_to_exitcode(status)
        runtime = time.monotonic() - started
        return RunResult(
            self._proc.returncode, runtime, usage.ru_maxrss * 1024, killed=self._killed
        )

    def kill(self) -> None:
        """SIGKILL the whole process group (or make sure it never starts)."""
        with self._lock:
            self._killed = True
            if self._proc is not None and not self._reaped:
                try:
                    os.killpg(self._proc.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass


def _reason(err: OSError) -> str:
    return err.strerror or str(err) if not isinstance(err, FileNotFoundError) else str(err)


def tail_bytes(path: Path, max_bytes: int) -> bytes:
    """The last `max_bytes` of a file (nothing if it cannot be read)."""
    try:
        with open(path, "rb") as f:
            f.seek(max(0, path.stat().st_size - max_bytes))
            return f.read()
    except OSError:
        return b""


def tail(path: Path, max_bytes: int = 2048) -> str:
    """The end of a text file, for error notes."""
    return tail_bytes(path, max_bytes).decode("utf-8", "replace").strip()
