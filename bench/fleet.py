#!/usr/bin/env python
"""Fleet bench: many simulated workers (default 10,000) against one real awe-server.

Every worker has its own socket to 127.0.0.1, registers, heartbeats every --heartbeat seconds
(spread evenly over the period) and holds a long-poll checkout (`GET /work?client=ID&wait=S`)
until its next heartbeat, while jobs are submitted at a steady rate; a worker that gets a
workunit reports it done and goes back to waiting. Prints heartbeat, dispatch and report
latency percentiles, errors by kind, the server's CPU (per thread) and RSS, and what limited
the run. It asserts nothing about speed.

    .venv/bin/python bench/fleet.py                       # 10,000 workers, 60 s ramp + 60 s
    .venv/bin/python bench/fleet.py --workers 500 --ramp 5 --duration 20 --json
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.lib.fleet import Fleet, FleetConfig  # noqa: E402
from bench.lib.procs import (  # noqa: E402
    AweServerProc,
    cpu_seconds,
    install_signal_handlers,
    machine_load,
    nofile_limit,
    raise_nofile,
    rss_bytes,
    stop_all,
    threads_cpu,
)
from bench.lib.pyspy import thread_names  # noqa: E402

FD_MARGIN = 256  # sockets and files the load process and the server need besides the workers


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--workers", type=int, default=10_000, help="simulated workers (10000)")
    p.add_argument("--ramp", type=float, default=60.0, help="seconds to connect them all (60)")
    p.add_argument("--duration", type=float, default=60.0, help="steady seconds after the ramp")
    p.add_argument("--heartbeat", type=float, default=10.0, help="heartbeat period, s (10)")
    p.add_argument("--jobs-per-s", type=float, default=10.0, help="jobs submitted per second")
    p.add_argument("--json", action="store_true", help="print JSON instead of text")
    p.add_argument("--data-root", help="where the server's temporary data dir goes")
    p.add_argument("--keep", action="store_true", help="keep the server's dir and log")
    return p.parse_args(argv)


def run_fleet(args: argparse.Namespace) -> dict[str, Any]:
    """Start a server with a raised fd limit, run the fleet against it, measure the server."""
    got, why = raise_nofile(args.workers + FD_MARGIN)
    workers = args.workers
    limits: list[str] = []
    if got < args.workers + FD_MARGIN:
        workers = max(0, got - FD_MARGIN)
        limits.append(f"fd limit: RLIMIT_NOFILE is {got}, so only {workers} workers ({why})")
    root = Path(tempfile.mkdtemp(prefix="awe-fleet-", dir=args.data_root))
    out: dict[str, Any] = {"load_start": machine_load()}
    try:
        # limits.registered_clients (2,000 by default) would refuse most of the fleet
        server = AweServerProc(root / "server", {"limits": {"registered_clients": workers}})
        server.start()
        out["server_nofile"] = nofile_limit(server.pid)
        if out["server_nofile"].isdigit() and int(out["server_nofile"]) < workers + FD_MARGIN:
            limits.append(f"fd limit: the server may open only {out['server_nofile']} files")
        fleet = Fleet(
            FleetConfig(
                server.url, workers, args.ramp, args.duration, args.heartbeat, args.jobs_per_s
            )
        )
        sampler = ServerSampler(server.pid, fleet)
        budget = args.ramp + args.duration + 120
        try:
            asyncio.run(asyncio.wait_for(_run(fleet, sampler), budget))
        except TimeoutError:
            limits.append(f"the load client did not finish within {budget:.0f} s (a bench bug)")
        out.update(fleet.summary())
        out.update(sampler.result())
        out["server_alive"] = server.alive()
        out["server_problems"] = server.problems()
        server.stop()
    finally:
        stop_all()
        if args.keep:
            out["kept"] = str(root)
        else:
            shutil.rmtree(root, ignore_errors=True)
    out["load_end"] = machine_load()
    out["limits"] = limits + limited_by(out)
    return out


class ServerSampler:
    """Server CPU (whole and per thread) and RSS over the steady part of the run."""

    def __init__(self, pid: int, fleet: Fleet) -> None:
        self.pid, self.fleet = pid, fleet

    async def watch(self) -> None:
        await asyncio.sleep(max(0.0, self.fleet.steady_from - time.perf_counter()))
        self.names = await asyncio.to_thread(thread_names, self.pid)
        self.t0, self.cpu0 = time.perf_counter(), cpu_seconds(self.pid)
        self.threads0 = threads_cpu(self.pid, self.names)
        await asyncio.sleep(max(0.0, self.fleet.end - time.perf_counter() - 0.05))
        self.t1, self.cpu1 = time.perf_counter(), cpu_seconds(self.pid)
        self.threads1 = threads_cpu(self.pid, self.names)
        self.rss = rss_bytes(self.pid)

    def result(self) -> dict[str, Any]:
        if not hasattr(self, "t1"):
            return {}
        wall = self.t1 - self.t0
        per_thread = {
            name: 100 * (spent - self.threads0.get(name, 0.0)) / wall
            for name, spent in self.threads1.items()
        }
        busiest = dict(sorted(per_thread.items(), key=lambda kv: -kv[1])[:6])
        return {
            "server_cpu_pct": 100 * (self.cpu1 - self.cpu0) / wall,
            "server_threads_cpu_pct": busiest,
            "server_rss_mb": self.rss / 2**20,
        }


async def _run(fleet: Fleet, sampler: ServerSampler) -> None:
    watcher = asyncio.ensure_future(_after_start(fleet, sampler))
    await fleet.run()
    await watcher


async def _after_start(fleet: Fleet, sampler: ServerSampler) -> None:
    while not hasattr(fleet, "end"):
        await asyncio.sleep(0.01)
    await sampler.watch()


def limited_by(out: dict[str, Any]) -> list[str]:
    """Say plainly what kept the run from being a clean 10,000-worker steady state."""
    found = []
    if out.get("registered", 0) < out.get("workers", 0):
        found.append(f"only {out.get('registered')} of {out.get('workers')} workers registered")
    if out.get("error_count"):
        top = ", ".join(f"{k} x{v}" for k, v in list(out["errors"].items())[:3])
        found.append(f"errors: {top}")
    if not out.get("server_alive", True):
        found.append("the server died during the run")
    lag = out.get("load_client_loop_lag", {}).get("p99_ms", 0.0)
    if out.get("load_client_cpu_pct", 0) > 90 or lag > 100:
        found.append(
            f"load client saturated (CPU {out.get('load_client_cpu_pct', 0):.0f}%, "
            f"loop lag p99 {lag:.0f} ms): latencies include the client's delay"
        )
    threads = out.get("server_threads_cpu_pct", {})
    top = max(threads.items(), key=lambda kv: kv[1], default=None)
    if top and top[1] > 90:
        found.append(f"server thread '{top[0]}' at {top[1]:.0f}% of a core (GIL-bound)")
    beat = out.get("heartbeat", {}).get("p99_ms", 0.0)
    if beat > 100 and not found:
        busiest = f"; busiest thread {top[0]} {top[1]:.0f}%" if top else ""
        found.append(
            f"the server: heartbeat p99 {beat:.0f} ms with the load client idle "
            f"(server CPU {out.get('server_cpu_pct', 0):.0f}%{busiest})"
        )
    load, cpus = float(out.get("load_end", "0").split()[0]), os.cpu_count() or 1
    if load > cpus + 1:  # this bench itself (server + load client) accounts for about 1-2
        found.append(
            f"machine load {load:.1f} on {cpus} CPUs: other processes took CPU the "
            "server could have used"
        )
    errors = [p for p in out.get("server_problems", []) if " ERROR " in p]
    if errors:
        found.append(f"server errors, first: {errors[0][:200]}")
    return found


def render(out: dict[str, Any]) -> str:
    """The human-readable report."""

    def lat(d: dict[str, float]) -> str:
        return "p50 {} / p99 {} / max {} ms (n={})".format(
            *(f"{d.get(k, math.nan):.1f}" for k in ("p50_ms", "p99_ms", "max_ms")), d.get("n")
        )

    lines = [
        f"awe fleet bench: {out.get('workers')} workers (load {out['load_start']} -> "
        f"{out['load_end']}; a shared machine: absolute numbers are from a loaded machine)",
        f"  connected {out.get('connected')}, registered {out.get('registered')}, "
        f"live at the end {out.get('live_at_end')}; server fd limit {out.get('server_nofile')}",
        f"  heartbeat       {lat(out.get('heartbeat', {}))}",
        f"  dispatch        {lat(out.get('dispatch', {}))}  (submit -> a waiting worker holds it)",
        f"  report          {lat(out.get('report', {}))}",
        f"  empty poll late {lat(out.get('empty_poll_late', {}))}  (past its wait=)",
        f"  register        {lat(out.get('register', {}))}",
        f"  jobs submitted {out.get('jobs_submitted')}, workunits done "
        f"{out.get('workunits_done')}, errors {out.get('error_count')}, re-registered "
        f"{out.get('reregistered')}",
    ]
    for kind, count in out.get("errors", {}).items():
        lines.append(f"    {count:6d}  {kind}")
    if "server_cpu_pct" in out:
        threads = ", ".join(f"{k} {v:.0f}%" for k, v in out["server_threads_cpu_pct"].items())
        lines.append(
            f"  server CPU {out['server_cpu_pct']:.0f}% of one core ({threads}); "
            f"RSS {out['server_rss_mb']:.0f} MiB"
        )
    lines.append(
        f"  load client CPU {out.get('load_client_cpu_pct', math.nan):.0f}%, event-loop "
        f"lag {lat(out.get('load_client_loop_lag', {}))}"
    )
    lines.append("  limited by: " + ("; ".join(out["limits"]) or "nothing seen"))
    for line in out.get("server_problems", []):
        lines.append(f"  server log: {line[:300]}")
    if out.get("kept"):
        lines.append(f"  kept: {out['kept']} (server log in server/awe-server.log)")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    install_signal_handlers()
    try:
        out = run_fleet(args)
    except KeyboardInterrupt:
        print("interrupted: servers stopped, temporary files removed", file=sys.stderr)
        return 130
    print(json.dumps(out, indent=1, default=str) if args.json else render(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
