#!/usr/bin/env python
"""Profile the dispatch hot path: py-spy on a real awe-server while clients loop checkout ->
report done, so that whoever optimises knows where one cycle's time goes.

For each client count it runs the dispatch measurement of bench/run.py three times on fresh
servers: once under `py-spy record` (all busy threads), once under `py-spy record --gil` (only
the thread holding the GIL), once recording a flame graph (SVG). The server also counts its
SQLite statements (bench/lib/sqltrace, nothing under awe/ changes). It writes the raw
profiles (open them in speedscope.app), the SVGs and profile.json to --out, and prints the
shares by kind of work. Profiling slows the server: compare shares, not speeds.

    .venv/bin/python bench/profile.py --out /tmp/awe-profile
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.lib.dispatch import dispatch_round  # noqa: E402
from bench.lib.procs import REPO, install_signal_handlers, machine_load, stop_all  # noqa: E402
from bench.lib.pyspy import Recorder, pyspy_binary, summarise  # noqa: E402
from bench.lib.stats import pct  # noqa: E402


class Hook:
    """What dispatch_round calls around the timed part: py-spy, and the SQL statement counts."""

    def __init__(self, recorder: Recorder, sql_counts: Path) -> None:
        self.recorder, self.sql_counts = recorder, sql_counts

    def start(self, pid: int) -> None:
        self.sql0 = self._read()
        self.recorder.start(pid)

    def stop(self) -> None:
        self.recorder.stop()
        time.sleep(0.6)  # the counts are written twice a second
        after = self._read()
        self.sql = {k: v - self.sql0.get(k, 0) for k, v in after.items() if v - self.sql0.get(k, 0)}

    def _read(self) -> dict[str, int]:
        try:
            return json.loads(self.sql_counts.read_text())
        except (OSError, ValueError):
            return {}


def fsync_ms(directory: Path, count: int = 50) -> float:
    """Median ms of write(4 KiB) + fsync in `directory`: what one durable commit costs at least."""
    path = directory / "fsync-probe"
    times = []
    fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        for _ in range(count):
            t0 = time.perf_counter()
            os.write(fd, b"x" * 4096)
            os.fsync(fd)
            times.append(time.perf_counter() - t0)
    finally:
        os.close(fd)
        path.unlink()
    return pct(times, 0.5) * 1000


def sql_figures(sql: dict[str, int], cycles: int) -> dict[str, float]:
    """Statements and commits of the writer (SnapshotActor) and readers, per cycle and batch."""
    writer = {k.split()[1]: v for k, v in sql.items() if k.startswith("SnapshotActor ")}
    commits = writer.get("COMMIT", 0)
    statements = sum(v for k, v in writer.items() if k not in ("BEGIN", "COMMIT"))
    reads = sum(
        v for k, v in sql.items() if not k.startswith("SnapshotActor ") and k.split()[1] == "SELECT"
    )
    return {
        "batches_per_cycle": commits / cycles if cycles else float("nan"),
        "statements_per_batch": statements / commits if commits else float("nan"),
        "statements_per_cycle": statements / cycles if cycles else float("nan"),
        "reads_per_cycle": reads / cycles if cycles else float("nan"),
    }


def profile_clients(root: Path, out: Path, clients: int, cycles: int, rate: int) -> dict[str, Any]:
    """Three profiled dispatch runs at one client count; their summaries."""
    sql_path = root / f"sql-{clients}.json"
    env = {
        "PYTHONPATH": str(REPO / "bench" / "lib" / "sqltrace"),
        "AWE_BENCH_SQLTRACE": str(sql_path),
    }
    result: dict[str, Any] = {"clients": clients, "load": machine_load()}
    for mode in ("cpu", "gil", "svg"):
        suffix = "svg" if mode == "svg" else "txt"
        target = out / f"dispatch-k{clients}-{mode}.{suffix}"
        recorder = Recorder(target, "flamegraph" if mode == "svg" else "raw", mode == "gil", rate)
        hook = Hook(recorder, sql_path)
        run = dispatch_round(root, clients, cycles, profiler=hook, env=env)
        result[f"{mode}_file"] = str(target)
        if mode == "svg":
            continue
        result[mode] = summarise(target, recorder.wall_s, rate)
        result[mode]["run"] = {
            k: run[k]
            for k in ("wu_per_s", "cycles", "wall_s", "server_cpu_pct", "load_client_cpu_pct")
        }
        if mode == "cpu":
            result["sql"] = sql_figures(hook.sql, run["cycles"])
            result["sql_counts"] = hook.sql
            result["cpu_ms_per_cycle"] = (
                run["server_cpu_pct"] / 100 * run["wall_s"] / run["cycles"] * 1000
            )
            result["cycle_ms"] = run["cycle_ms"]
    return result


def render(doc: dict[str, Any]) -> str:
    """The shares, per client count."""
    lines = [
        f"awe dispatch profile (py-spy {doc['rate']} Hz; load {doc['load']}; "
        f"write+fsync in the data dir: {doc['fsync_ms']:.2f} ms)"
    ]
    for r in doc["runs"]:
        cpu, gil, sql = r["cpu"], r["gil"], r["sql"]
        lines += [
            "",
            f"{r['clients']} client(s), jobs of 100 tasks: {cpu['run']['wu_per_s']:.0f} wu/s "
            f"under py-spy; server CPU {cpu['run']['server_cpu_pct']:.0f}% of a core = "
            f"{r['cpu_ms_per_cycle']:.2f} ms CPU per cycle (a cycle takes {r['cycle_ms']:.2f} "
            f"ms per client); GIL held {gil['busy_pct_of_one_core']:.0f}% of the time",
            f"  {'kind of work':48} {'CPU %':>6} {'GIL %':>6}",
        ]
        for kind in dict.fromkeys([*cpu["by_kind_pct"], *gil["by_kind_pct"]]):
            lines.append(
                f"  {kind:48} {cpu['by_kind_pct'].get(kind, 0):6.1f} "
                f"{gil['by_kind_pct'].get(kind, 0):6.1f}"
            )
        lines.append("  threads (busy % of one core; top kinds of work):")
        for name, t in list(cpu["threads"].items())[:8]:
            top = ", ".join(f"{k} {v:.0f}%" for k, v in t["top"].items())
            lines.append(f"    {name:24} {t['busy_pct']:5.1f}%  {top}")
        lines.append(
            f"  SQLite: {sql['batches_per_cycle']:.2f} write batches (commits) per cycle, "
            f"{sql['statements_per_batch']:.1f} statements per batch, "
            f"{sql['statements_per_cycle']:.1f} per cycle; {sql['reads_per_cycle']:.2f} reads "
            f"per cycle; at {doc['fsync_ms']:.2f} ms a fsync that is >= "
            f"{sql['batches_per_cycle'] * doc['fsync_ms']:.2f} ms of fsync per cycle"
        )
        lines.append(
            "  top leaf functions: "
            + "; ".join(f"{f} {v:.1f}%" for f, v in list(cpu["top_functions_pct"].items())[:6])
        )
    lines.append("")
    lines.append(
        f"files in {doc['out']}: *-cpu.txt / *-gil.txt (py-spy raw; speedscope.app "
        "opens them), *-svg.svg (flame graphs), profile.json"
    )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--out", default="bench-profile", help="directory for the profiles")
    p.add_argument("--clients", default="1,8", help="client counts (1,8)")
    p.add_argument("--cycles", type=int, default=2000, help="cycles per profiled run (2000)")
    p.add_argument("--rate", type=int, default=200, help="py-spy samples per second (200)")
    args = p.parse_args(argv)
    if pyspy_binary() is None:
        print("py-spy is not installed: pip install -e '.[bench]'", file=sys.stderr)
        return 2
    install_signal_handlers()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    root = Path(tempfile.mkdtemp(prefix="awe-profile-"))
    doc: dict[str, Any] = {
        "rate": args.rate,
        "load": machine_load(),
        "out": str(out),
        "fsync_ms": fsync_ms(root),
        "runs": [],
    }
    try:
        for clients in (int(c) for c in args.clients.split(",")):
            cycles = args.cycles if clients > 1 else max(200, args.cycles // 3)
            doc["runs"].append(profile_clients(root, out, clients, cycles, args.rate))
    except KeyboardInterrupt:
        print("interrupted: servers stopped, temporary files removed", file=sys.stderr)
        return 130
    finally:
        stop_all()
        shutil.rmtree(root, ignore_errors=True)
    (out / "profile.json").write_text(json.dumps(doc, indent=1))
    print(render(doc))
    return 0


if __name__ == "__main__":
    sys.exit(main())
