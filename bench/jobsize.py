"""What a checkout + done report costs by the size of the job it belongs to (prints numbers).

A change to one task of a job should cost the same whatever the job's size. For each size
(default 1, 100, 1,000 and 10,000 tasks, each task one workunit, all independent) a fresh
awe-server gets enough such jobs for `--cycles` workunits, and `--clients` clients loop
checkout -> report done over them; it prints wu/s, the server's CPU per cycle and the
checkout and report p50. `limits.tasks_per_job` is raised to the largest size. Jobs of one
task also finish a job in every cycle (its actor leaves the queue): they are the floor, not
the reference; compare 100 with 10,000.

    python bench/jobsize.py [--sizes 1,100,1000,10000] [--clients 1] [--cycles 1000]
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.lib.dispatch import Shape, dispatch_round  # noqa: E402
from bench.lib.procs import install_signal_handlers, machine_load, stop_all  # noqa: E402


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--sizes", default="1,100,1000,10000", help="tasks per job, comma list")
    p.add_argument("--clients", type=int, default=1)
    p.add_argument("--cycles", type=int, default=1000)
    p.add_argument("--rounds", type=int, default=1)
    p.add_argument("--json", action="store_true", help="print JSON instead of text")
    return p.parse_args(argv)


def measure(sizes: list[int], clients: int, cycles: int, rounds: int) -> list[dict[str, Any]]:
    root = Path(tempfile.mkdtemp(prefix="awe-jobsize-"))
    config = {"limits": {"tasks_per_job": max(sizes)}}
    out = []
    try:
        for n in range(rounds):
            for size in sizes:
                shape = Shape(tasks_per_job=size)
                result = dispatch_round(root, clients, cycles, shape, config=config)
                out.append({"round": n, "tasks_per_job": size, **result})
    finally:
        stop_all()
        shutil.rmtree(root, ignore_errors=True)
    return out


def render(results: list[dict[str, Any]], clients: int, load: str) -> str:
    lines = [f"checkout + done report by job size, {clients} client(s) (load {load} -> "
             f"{machine_load()})",  # fmt: skip
             "| tasks per job | wu/s | server CPU per cycle | checkout p50 | report p50 | errors |",
             "|---|---|---|---|---|---|"]  # fmt: skip
    for r in results:
        lines.append(
            f"| {r['tasks_per_job']:,} | {r['wu_per_s']:.0f} | "
            f"{r['server_cpu_ms_per_cycle']:.2f} ms | {r['checkout']['p50_ms']:.2f} ms | "
            f"{r['report']['p50_ms']:.2f} ms | {r['errors']} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    install_signal_handlers()
    load = machine_load()
    sizes = [int(s) for s in args.sizes.split(",")]
    results = measure(sizes, args.clients, args.cycles, args.rounds)
    print(json.dumps(results, indent=1) if args.json else render(results, args.clients, load))


if __name__ == "__main__":
    main()
