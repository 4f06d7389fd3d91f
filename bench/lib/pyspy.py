"""py-spy on a running server: record while a measurement runs, then say where the samples
went (by thread, and by kind of work: HTTP, JSON, actor messaging, SQLite, ...)."""

from __future__ import annotations

import collections
import functools
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from bench.lib.procs import REPO

RAW_LINE = re.compile(r"^thread \((\d+)\): (.*?);(.*) (\d+)$")
FRAME = re.compile(r"^(.*) \((.+?):(\d+)\)$")

# (category, test on the frame's file) in priority order; the leaf-most matching frame wins.
RULES: list[tuple[str, Any]] = [
    ("JSON encode/decode", lambda f: f.startswith("json/")),
    ("copy.deepcopy", lambda f: f == "copy.py"),
    ("logging", lambda f: f.startswith("logging/")),
    (
        "IOLoop/asyncio scheduling",
        lambda f: (
            f.startswith(("asyncio/", "selectors.py"))
            or f in ("tornado/ioloop.py", "tornado/gen.py", "tornado/concurrent.py")
            or f.startswith("tornado/platform/")
        ),
    ),
    ("Tornado HTTP (parse, route, write)", lambda f: f.startswith("tornado/")),
    (
        "actor messaging (pykka, futures, queues, locks)",
        lambda f: (
            f.startswith(("pykka/", "concurrent/futures/"))
            or f in ("queue.py", "threading.py", "awe/actors/base.py")
        ),
    ),
    ("awe model (pure logic)", lambda f: f.startswith("awe/model/")),
    ("awe actors", lambda f: f.startswith("awe/actors/")),
    ("awe HTTP handlers", lambda f: f.startswith("awe/http/")),
    ("awe store (Python side)", lambda f: f.startswith("awe/store/")),
]


def pyspy_binary() -> str | None:
    """py-spy next to this interpreter (the venv) or on PATH."""
    local = Path(sys.executable).parent / "py-spy"
    return str(local) if local.exists() else shutil.which("py-spy")


def thread_names(pid: int) -> dict[int, str]:
    """OS thread id -> Python thread name, from one `py-spy dump` ({} without py-spy)."""
    binary = pyspy_binary()
    if binary is None:
        return {}
    try:
        dump = subprocess.run(
            [binary, "dump", "--pid", str(pid)], capture_output=True, text=True, timeout=30
        ).stdout
    except (OSError, subprocess.TimeoutExpired):
        return {}
    found = re.findall(r'^Thread (\d+) \([^)]*\): "([^"]*)"', dump, re.MULTILINE)
    return {int(tid): name for tid, name in found}


class Recorder:
    """`py-spy record` attached to a pid from start() to stop(), writing `out`."""

    def __init__(self, out: Path, fmt: str = "raw", gil: bool = False, rate: int = 200) -> None:
        self.out, self.fmt, self.gil, self.rate = out, fmt, gil, rate
        self.proc: subprocess.Popen | None = None
        self.wall_s = 0.0

    def start(self, pid: int) -> None:
        """Attach, and return once py-spy says it samples."""
        binary = pyspy_binary()
        if binary is None:
            raise RuntimeError("py-spy is not installed (pip install -e '.[bench]')")
        cmd = [
            binary,
            "record",
            "--pid",
            str(pid),
            "--rate",
            str(self.rate),
            "--nonblocking",
            "--format",
            self.fmt,
            "-o",
            str(self.out),
        ]
        if self.fmt == "raw":
            cmd.append("--threads")
        if self.gil:
            cmd.append("--gil")
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            if b"Sampling process" in line:
                break
        self.t0 = time.perf_counter()

    def stop(self) -> None:
        """Ctrl-C py-spy, which then writes its file."""
        if self.proc is None:
            return
        self.wall_s = time.perf_counter() - self.t0
        self.proc.send_signal(signal.SIGINT)
        try:
            self.proc.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.communicate()


@functools.lru_cache(maxsize=64)
def _source(file: str) -> list[str]:
    try:
        return (REPO / file).read_text().splitlines()
    except OSError:
        return []


def _source_line(file: str, line: int) -> str:
    lines = _source(file)
    return lines[line - 1] if 0 < line <= len(lines) else ""


# a leaf in one of these is a thread blocked or just woken (runnable, waiting for a CPU/GIL)
WAITS = ("Condition.wait", "Event.wait", "EpollSelector.select", "_worker", "time.sleep")
WAITING = "waiting / being woken (thread switches)"


def classify(frames: list[str]) -> str:
    """The kind of work a stack (root first) was doing, judged from its leaf upwards."""
    leaf = FRAME.match(frames[-1]) if frames else None
    if leaf and leaf.group(1) in WAITS:
        return WAITING
    for frame in reversed(frames):
        match = FRAME.match(frame)
        if not match:
            continue
        file, line = match.group(2), int(match.group(3))
        if file.startswith("awe/store/"):
            text = _source_line(file, line)
            if "COMMIT" in text:
                return "SQLite COMMIT (WAL write; fsync when not idle)"
            if "execute" in text or "fetch" in text:
                return "SQLite statements"
        for category, test in RULES:
            if test(file):
                return category
    return "other"


def thread_group(name: str) -> str:
    """Pool and actor threads share a name without their number."""
    return re.sub(r"[-_]\d+$", "", name)


def summarise(raw: Path, wall_s: float, rate: int) -> dict[str, Any]:
    """Shares of the samples by kind of work (overall and per thread), and each thread's busy
    time as a percent of one core, from a `py-spy record --format raw --threads` file."""
    by_kind: collections.Counter[str] = collections.Counter()
    by_thread: dict[str, collections.Counter[str]] = collections.defaultdict(collections.Counter)
    functions: collections.Counter[str] = collections.Counter()
    inclusive: collections.Counter[str] = collections.Counter()
    total = 0
    for line in raw.read_text(errors="replace").splitlines():
        match = RAW_LINE.match(line)
        if not match:
            continue
        name, stack, count = match.group(2), match.group(3).split(";"), int(match.group(4))
        kind = classify(stack)
        by_kind[kind] += count
        by_thread[thread_group(name)][kind] += count
        functions[stack[-1]] += count
        for func in {FRAME.sub(r"\1 (\2)", f) for f in stack if "(awe/" in f}:
            inclusive[func] += count
        total += count
    wall_samples = max(1.0, wall_s * rate)
    return {
        "samples": total,
        "wall_s": wall_s,
        "busy_pct_of_one_core": 100 * total / wall_samples,
        "by_kind_pct": {k: 100 * v / total for k, v in by_kind.most_common()} if total else {},
        "threads": {
            name: {
                "busy_pct": 100 * sum(c.values()) / wall_samples,
                "top": {k: 100 * v / sum(c.values()) for k, v in c.most_common(3)},
            }
            for name, c in sorted(by_thread.items(), key=lambda kv: -sum(kv[1].values()))
        },
        "top_functions_pct": {f: 100 * v / total for f, v in functions.most_common(12)},
        "inclusive_awe_pct": {f: 100 * v / total for f, v in inclusive.most_common(15)},
    }
