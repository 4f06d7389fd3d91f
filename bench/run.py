#!/usr/bin/env python
"""awe's bench: every figure of issue 11 in one table, with its target and verdict.

Starts real processes on 127.0.0.1 — awe-server (embedded store, synchronous: full), Tornado's
hello world, redis-server + a Celery worker — and drives them with one asyncio load client.
Prints a Markdown table (or --json). It asserts nothing about speed; --quick (well under a
minute) proves that every row can be produced.

    .venv/bin/python bench/run.py --quick
    .venv/bin/python bench/run.py                 # 3 rounds, 100,000 jobs, 10,000 workers
    .venv/bin/python bench/run.py --json > bench.json
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import platform
import shutil
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.lib import celerybench  # noqa: E402
from bench.lib.dispatch import Shape, dispatch_round, hello_load, longpoll  # noqa: E402
from bench.lib.procs import (  # noqa: E402
    REPO,
    AweServerProc,
    HelloServerProc,
    install_signal_handlers,
    machine_load,
    run_child,
    stop_all,
)
from bench.lib.scale import scale_section  # noqa: E402
from bench.lib.table import build_rows, render, rows_json  # noqa: E402

SECTIONS = ("hello", "dispatch", "celery", "longpoll", "scale", "fleet")
# full / --quick defaults
SIZES = {
    "rounds": (3, 1),
    "cycles": (3000, 300),
    "cycles_k1": (1000, 150),
    "hello_seconds": (5.0, 1.0),
    "jobs": (100_000, 1000),
    "requests": (200, 30),
    "checkouts": (500, 100),
    "totalwork": (100_000, 10_000),
    "split_totalwork": (20_000, 2_000),
    "longpoll": (200, 20),
    "fleet_workers": (10_000, 100),
    "fleet_ramp": (60.0, 2.0),
    "fleet_duration": (60.0, 4.0),
    "fleet_heartbeat": (10.0, 2.0),
}


def log(msg: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--quick", action="store_true", help="1 round, small sizes (< 1 minute)")
    p.add_argument("--json", action="store_true", help="print JSON (rows + raw measurements)")
    p.add_argument("--save", help="also write the JSON to this file")
    p.add_argument("--clients", default="1,8,32", help="dispatch client counts (1,8,32)")
    p.add_argument("--skip", default="", help="comma list of: " + ",".join(SECTIONS))
    p.add_argument("--data-root", help="where temporary data dirs go (default $TMPDIR)")
    for name, (full, quick) in SIZES.items():
        p.add_argument(
            "--" + name.replace("_", "-"), type=type(full), help=f"default {full}, --quick {quick}"
        )
    args = p.parse_args(argv)
    for name, (full, quick) in SIZES.items():
        if getattr(args, name) is None:
            setattr(args, name, quick if args.quick else full)
    args.client_counts = [int(c) for c in args.clients.split(",") if c.strip()]
    args.skipped = {s.strip() for s in args.skip.split(",") if s.strip()}
    unknown = args.skipped - set(SECTIONS)
    if unknown:
        p.error(f"unknown section(s) for --skip: {', '.join(sorted(unknown))}")
    return args


class Bench:
    """One run: the processes it started, the measurements, the problems seen."""

    def __init__(self, args: argparse.Namespace, root: Path) -> None:
        self.args, self.root = args, root
        self.doc: dict[str, Any] = {
            "meta": {
                "started": time.strftime("%Y-%m-%d %H:%M:%S"),
                "mode": "quick" if args.quick else "full",
                "rounds": args.rounds,
                "cpus": os.cpu_count(),
                "python": platform.python_version(),
                "load_start": machine_load(),
                "sizes": {name: getattr(args, name) for name in SIZES},
                "skipped": sorted(args.skipped),
            },
            "rounds": [],
            "problems": [],
        }

    def attempt(self, what: str, fn: Callable[[], Any]) -> Any:
        """Run one measurement; a failure becomes a problem line and a missing number."""
        log(what)
        try:
            result = fn()
        except KeyboardInterrupt:
            raise
        except Exception as err:  # noqa: BLE001 - one failed measurement must not end the run
            frames = traceback.extract_tb(err.__traceback__)
            ours = [f for f in frames if f.filename.startswith(str(REPO))] or frames
            where = f"{Path(ours[-1].filename).relative_to(REPO)}:{ours[-1].lineno}"
            self.doc["problems"].append(f"{what}: {err!r} (at {where})")
            self.doc.setdefault("failed", {})[what.split(":")[0]] = f"{err!r} (at {where})"
            log(f"  FAILED: {err!r}\n" + "".join(traceback.format_exception(err)))
            return None
        if isinstance(result, dict) and result.get("error_samples"):
            for sample in result["error_samples"]:
                self.doc["problems"].append(f"{what}: {sample}")
        return result

    def run(self) -> None:
        args = self.args
        celery = self.start_celery()
        hello = None
        if "hello" not in args.skipped:
            hello = self.attempt(
                "starting Tornado hello world", lambda: HelloServerProc(self.root / "hello").start()
            )
        for n in range(args.rounds):
            self.doc["rounds"].append(self.one_round(n, hello, celery))
        if hello is not None:
            hello.stop()
        if celery is not None:
            celery.stop()
        if "scale" in args.skipped:
            self.doc["scale_skipped"] = "skipped (--skip scale)"
        else:
            self.doc["scale"] = self.attempt(
                f"scale: {args.jobs:,} jobs stored, {args.rounds} round(s)",
                lambda: scale_section(
                    self.root, args.jobs, args.rounds, args.requests, args.checkouts, args.totalwork
                ),
            )
        if "fleet" in args.skipped or args.fleet_workers <= 0:
            self.doc["fleet_skipped"] = "skipped (--skip fleet or --fleet-workers 0)"
        else:
            self.doc["fleet"] = self.attempt(f"fleet: {args.fleet_workers:,} workers", self.fleet)

    def start_celery(self) -> Any:
        if "celery" in self.args.skipped:
            self.doc["celery_missing"] = "skipped (--skip celery)"
            return None
        reason = celerybench.missing()
        if reason:
            self.doc["celery_missing"] = reason
            log(f"Celery baseline not measured: {reason}")
            return None
        baseline = celerybench.CeleryBaseline(self.root / "celery")
        started = self.attempt(
            "starting redis-server and a Celery worker (2 prefork)", baseline.start
        )
        if started is None:
            self.doc["celery_missing"] = "Celery baseline failed to start (see problems)"
            baseline.stop()
        return started

    def one_round(self, n: int, hello: Any, celery: Any) -> dict[str, Any]:
        args, out = self.args, {"load": machine_load()}
        log(f"round {n + 1} of {args.rounds} (load {out['load']})")
        if hello is not None:
            out["hello"] = {}
            for k in args.client_counts:
                out["hello"][f"k{k}"] = self.attempt(
                    f"hello world, {k} client(s)",
                    lambda k=k: asyncio.run(
                        hello_load(hello.url, k, args.hello_seconds, hello.pid)
                    ),
                )
        if "dispatch" not in args.skipped:
            for key, k, shape, cycles in self.dispatch_plan():
                out.setdefault(key, {})[f"k{k}"] = self.attempt(
                    f"dispatch, {k} client(s), {cycles} cycles, {shape.label()}",
                    lambda k=k, c=cycles, shape=shape: dispatch_round(self.root, k, c, shape),
                )
        if celery is not None:
            out["celery"] = self.attempt(
                f"Celery: {args.cycles} no-op tasks", lambda: celery.run(args.cycles)
            )
        if "longpoll" not in args.skipped:
            out["longpoll"] = self.attempt(
                f"long-poll dispatch, {args.longpoll} samples", self.longpoll
            )
        return out

    def dispatch_plan(self) -> list[tuple[str, int, Shape, int]]:
        """(result key, clients, shape, cycles) of every dispatch measurement of a round."""
        a = self.args
        plan = [
            ("dispatch", k, Shape(), a.cycles_k1 if k == 1 else a.cycles) for k in a.client_counts
        ]
        plan.append(("dispatch_1task", 8, Shape(tasks_per_job=1), a.cycles))
        plan.append(
            ("dispatch_split", 8, Shape(tasks_per_job=1, totalwork=a.split_totalwork), a.cycles)
        )
        plan.append(("dispatch_normal", 8, Shape(synchronous="normal"), a.cycles))
        return plan

    def longpoll(self) -> dict[str, Any]:
        server = AweServerProc(self.root / f"longpoll-{time.monotonic_ns()}").start()
        try:
            return asyncio.run(longpoll(server.url, self.args.longpoll))
        finally:
            server.stop()

    def fleet(self) -> dict[str, Any]:
        """bench/fleet.py in its own process: its own fd limit, its own CPU to measure."""
        a = self.args
        cmd = [
            sys.executable,
            str(REPO / "bench" / "fleet.py"),
            "--json",
            "--workers",
            str(a.fleet_workers),
            "--ramp",
            str(a.fleet_ramp),
            "--duration",
            str(a.fleet_duration),
            "--heartbeat",
            str(a.fleet_heartbeat),
        ]
        if a.data_root:
            cmd += ["--data-root", a.data_root]
        done = run_child(cmd, timeout=a.fleet_ramp + a.fleet_duration + 300)
        if done.returncode != 0:
            raise RuntimeError(f"bench/fleet.py exited {done.returncode}: {done.stderr[-500:]}")
        return json.loads(done.stdout)


def no_nan(obj: Any) -> Any:
    """NaN as null, so that the JSON is strict."""
    if isinstance(obj, float) and math.isnan(obj):
        return None
    if isinstance(obj, dict):
        return {k: no_nan(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [no_nan(v) for v in obj]
    return obj


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    install_signal_handlers()
    started = time.time()
    root = Path(tempfile.mkdtemp(prefix="awe-bench-", dir=args.data_root))
    bench = Bench(args, root)
    try:
        bench.run()
    except KeyboardInterrupt:
        log("interrupted: stopping every process started, removing temporary dirs")
        return 130
    finally:
        stop_all()
        shutil.rmtree(root, ignore_errors=True)
    doc = bench.doc
    doc["meta"]["total_s"] = time.time() - started
    doc["meta"]["load_end"] = machine_load()
    rows = build_rows(doc)
    text = json.dumps(no_nan({**doc, "rows": rows_json(rows)}), indent=1, default=str)
    if args.save:
        Path(args.save).write_text(text)
    if args.json:
        print(text)
    else:
        print(render(doc, rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
