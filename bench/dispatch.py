#!/usr/bin/env python
"""Dispatch benchmark: how fast a real awe-server hands out and takes back workunits.

Starts `awe-server` subprocesses (tests/e2e/serverproc.py) on 127.0.0.1 with a temporary data
dir and measures, printing a table (or JSON with --json):

1. throughput: N simulated clients (threads) register, then loop checkout -> report(done) with
   no-op work until the queue is drained; workunits/s and p50/p99 latency of both requests;
2. checkout cost vs queue size: one client doing checkout-only against a small queue and a
   large one (the large one submitted by parallel threads, timed); with indexed ready work the
   two should be about the same;
3. store durability cost: (1) with `store.embedded.synchronous: full` and `normal`.

This prints numbers; it asserts nothing about timing.

    /tmp/v/bin/python bench/dispatch.py --quick
    /tmp/v/bin/python bench/dispatch.py --clients 1,4,16 --json > result.json
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import shutil
import signal
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import urllib3

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
# the server subprocess runs `python -m awe.server` when no console script is installed
os.environ["PYTHONPATH"] = os.pathsep.join(
    p for p in (str(REPO), os.environ.get("PYTHONPATH", "")) if p
)
for _proxy in ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY"):
    os.environ.pop(_proxy, None)

from tests.e2e.serverproc import ServerProcess  # noqa: E402

NO_WORK = "No eligible workunit found"
TIMEOUT = urllib3.Timeout(connect=10.0, read=120.0)
MAX_ERROR_SAMPLES = 10


def log(msg: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


# --------------------------------------------------------------------------------------------
# HTTP


@dataclass
class Errors:
    """Unexpected responses, shared by all threads: a count plus the first few, in full."""

    count: int = 0
    samples: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, what: str) -> None:
        with self.lock:
            self.count += 1
            if len(self.samples) < MAX_ERROR_SAMPLES:
                self.samples.append(what)


class Api:
    """One thread's HTTP client: one keep-alive connection, reused, unless KEEPALIVE is off
    (--no-keepalive: `Connection: close` on every request, a new TCP connection each time)."""

    keepalive = True

    def __init__(self, url: str) -> None:
        self.url = url
        headers = {} if self.keepalive else {"Connection": "close"}
        self.http = urllib3.PoolManager(timeout=TIMEOUT, retries=False, headers=headers)

    def call(self, method: str, path: str, **kw: Any) -> tuple[int, Any, float]:
        """(status, decoded body or text, seconds). A transport error is status 0."""
        t0 = time.perf_counter()
        try:
            resp = self.http.request(method, self.url + path, **kw)
        except Exception as err:  # noqa: BLE001 - a refused/timed-out request is data here
            return 0, f"{type(err).__name__}: {err}", time.perf_counter() - t0
        elapsed = time.perf_counter() - t0
        try:
            body = json.loads(resp.data)
        except ValueError:
            body = resp.data.decode(errors="replace")
        return resp.status, body, elapsed

    def register(self, name: str) -> str:
        profile = json.dumps({"name": name, "group": "default", "apps": ["*"]})
        fields = {"profile": ("profile.json", profile, "application/json")}
        status, body, _ = self.call("POST", "/client", fields=fields)
        if status != 200:
            raise RuntimeError(f"POST /client -> {status} {body!r}")
        return body["data"]["id"]

    def submit(self, name: str, totalwork: int) -> tuple[int, Any, float]:
        script = {
            "info": {"name": name, "project": "bench"},
            "tasks": [{"taskid": "0", "cmd": {"name": "true", "args": ""}, "totalwork": totalwork}],
        }
        fields = {"upload": ("job.json", json.dumps(script), "application/json")}
        return self.call("POST", "/job", fields=fields)

    def queue_status(self) -> dict[str, Any] | None:
        status, body, _ = self.call("GET", "/queue?json")
        return body.get("data") if status == 200 and isinstance(body, dict) else None


def describe(method: str, path: str, status: int, body: Any) -> str:
    text = body if isinstance(body, str) else json.dumps(body)
    return f"{method} {path} -> {status} {text[:400]}"


def error_message(body: Any) -> str:
    if isinstance(body, dict) and body.get("error"):
        return "; ".join(str(e) for e in body["error"])
    return ""


# --------------------------------------------------------------------------------------------
# statistics


def pct(values: list[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..1), NaN for no values."""
    if not values:
        return math.nan
    ordered = sorted(values)
    return ordered[max(0, min(len(ordered) - 1, math.ceil(q * len(ordered)) - 1))]


def latency(values: list[float]) -> dict[str, float]:
    """p50/p99/mean in milliseconds."""
    return {
        "n": len(values),
        "p50_ms": pct(values, 0.50) * 1000,
        "p99_ms": pct(values, 0.99) * 1000,
        "mean_ms": (sum(values) / len(values) * 1000) if values else math.nan,
    }


# --------------------------------------------------------------------------------------------
# server and workload


SERVER_PROBLEMS: list[str] = []  # WARNING/ERROR lines of every server's log, and crashes


def collect_problems(name: str, proc: ServerProcess) -> None:
    bad = [ln for ln in proc.log_lines if any(k in ln for k in (" WARNING ", " ERROR ", "Trace"))]
    for line in bad[:MAX_ERROR_SAMPLES]:
        SERVER_PROBLEMS.append(f"{name}: {line}")
    if len(bad) > MAX_ERROR_SAMPLES:
        SERVER_PROBLEMS.append(f"{name}: ... {len(bad) - MAX_ERROR_SAMPLES} more such log lines")


@contextmanager
def server(root: Path, name: str, synchronous: str) -> Iterator[ServerProcess]:
    data_dir = root / name
    config = {"store": {"embedded": {"synchronous": synchronous}}}
    proc = ServerProcess(data_dir, config=config)
    log(f"starting awe-server ({name}, synchronous={synchronous})")
    proc.start()
    log(f"  {proc.url}")
    try:
        yield proc
    finally:
        died = proc.proc is not None and proc.proc.poll() is not None
        code = proc.stop()
        if died:
            log(f"  awe-server {name} had exited by itself (code {code}); last log lines:")
            for line in proc.log_lines[-30:]:
                log(f"    {line}")
            SERVER_PROBLEMS.append(f"{name}: server exited by itself with code {code}")
        elif code not in (0, None):
            SERVER_PROBLEMS.append(f"{name}: clean stop (SIGTERM) ended with exit code {code}")
        collect_problems(name, proc)
        shutil.rmtree(data_dir, ignore_errors=True)


def start_threads(count: int, target: Callable[[int], None]) -> list[threading.Thread]:
    threads = [threading.Thread(target=target, args=(i,), daemon=True) for i in range(count)]
    for t in threads:
        t.start()
    return threads


def join_threads(threads: list[threading.Thread], stop: threading.Event) -> None:
    """Wait for every thread, staying responsive to Ctrl-C (which sets `stop` and re-raises)."""
    try:
        for t in threads:
            while t.is_alive():
                t.join(0.2)
    except BaseException:
        stop.set()
        raise


def run_threads(count: int, target: Callable[[int], None], stop: threading.Event) -> None:
    """Run target(i) in `count` daemon threads until all are done."""
    join_threads(start_threads(count, target), stop)


def submit_jobs(url: str, sizes: list[int], threads: int, errors: Errors, tag: str) -> float:
    """Submit one job per entry of `sizes` (its totalwork) from `threads` threads; seconds."""
    counter = iter(range(len(sizes)))
    lock = threading.Lock()
    stop = threading.Event()

    def submitter(_: int) -> None:
        api = Api(url)
        while not stop.is_set():
            with lock:
                i = next(counter, None)
            if i is None:
                return
            status, body, _ = api.submit(f"bench-{tag}-{i}", sizes[i])
            if status != 200:
                errors.add(describe("POST", "/job", status, body))

    t0 = time.perf_counter()
    run_threads(min(threads, len(sizes)), submitter, stop)
    return time.perf_counter() - t0


def fsync_cost(directory: Path, count: int = 50) -> float:
    """Median seconds of write(4 KiB) + fsync in `directory`: what one durable commit costs."""
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
    return pct(times, 0.5)


def job_sizes(total: int, per_job: int) -> list[int]:
    """totalwork of each job so that they add up to `total` workunits (the last one smaller)."""
    sizes = [per_job] * (total // per_job)
    if total % per_job:
        sizes.append(total % per_job)
    return sizes


def wait_queued(url: str, expected: int, timeout: float = 120.0) -> int | None:
    """Wait until GET /queue?json shows `expected` workunits queuing; the last count seen."""
    api = Api(url)
    deadline = time.monotonic() + timeout
    seen = None
    while time.monotonic() < deadline:
        status = api.queue_status()
        if status is None:
            return None
        seen = status.get("workunits", {}).get("queuing")
        if seen is not None and seen >= expected:
            return seen
        time.sleep(0.1)
    log(f"  warning: queue shows {seen} workunits queuing, expected {expected}")
    return seen


# --------------------------------------------------------------------------------------------
# 1. throughput


def throughput(
    proc: ServerProcess, synchronous: str, nclients: int, cycles: int, per_job: int
) -> dict[str, Any]:
    url = proc.url
    errors = Errors()
    sizes = job_sizes(cycles, per_job)
    total = sum(sizes)
    log(f"throughput sync={synchronous} clients={nclients}: submitting {total} workunits")
    submit_s = submit_jobs(url, sizes, 4, errors, f"tp{nclients}")
    queued = wait_queued(url, total)

    ids: list[str] = [""] * nclients
    checkout: list[list[float]] = [[] for _ in range(nclients)]
    report: list[list[float]] = [[] for _ in range(nclients)]
    done = [0] * nclients
    ready = threading.Barrier(nclients + 1)
    stop = threading.Event()
    end: list[float] = [0.0] * nclients

    def client(i: int) -> None:
        api = Api(url)
        try:
            ids[i] = api.register(f"bench-{synchronous}-{nclients}-{i}")
        except RuntimeError as err:
            errors.add(str(err))
        ready.wait()
        if not ids[i]:
            return
        cid = ids[i]
        while not stop.is_set():
            path = f"/work?client={cid}"
            status, body, dt = api.call("GET", path)
            if status != 200:
                if status == 400 and error_message(body) == NO_WORK:
                    break
                errors.add(describe("GET", path, status, body))
                break
            checkout[i].append(dt)
            wuid = body["data"]["wuid"]
            path = f"/work/{wuid}?status=done&client={cid}"
            status, body, dt = api.call("PUT", path)
            if status != 200:
                errors.add(describe("PUT", path, status, body))
                break
            report[i].append(dt)
            done[i] += 1
        end[i] = time.perf_counter()

    threads = start_threads(nclients, client)
    ready.wait(timeout=60)
    t0 = time.perf_counter()
    join_threads(threads, stop)
    wall = max(end) - t0
    after = Api(url).queue_status() or {}
    cycles_done = sum(done)
    all_checkout = [x for xs in checkout for x in xs]
    all_report = [x for xs in report for x in xs]
    result = {
        "synchronous": synchronous,
        "clients": nclients,
        "workunits_submitted": total,
        "workunits_queued_before": queued,
        "submit_s": submit_s,
        "cycles": cycles_done,
        "wall_s": wall,
        "workunits_per_s": cycles_done / wall if wall > 0 else math.nan,
        "checkout": latency(all_checkout),
        "report": latency(all_report),
        "queuing_after": after.get("workunits", {}).get("queuing"),
        "checkout_after": after.get("workunits", {}).get("checkout"),
        "errors": errors.count,
        "error_samples": errors.samples,
    }
    if cycles_done != total:
        errors.add(f"only {cycles_done} of {total} workunits were checked out and reported")
        result["errors"], result["error_samples"] = errors.count, errors.samples
    log(f"  {cycles_done} cycles in {wall:.2f} s = {result['workunits_per_s']:.1f} wu/s")
    return result


# --------------------------------------------------------------------------------------------
# 2. checkout cost vs queue size


def checkout_cost(
    root: Path,
    synchronous: str,
    size: int,
    checkouts: int,
    warmup: int,
    per_job: int,
    submit_threads: int,
) -> dict[str, Any]:
    """One client, checkout only, with at least `size` workunits queued all along."""
    # the queue drains by `warmup + checkouts` as we go (no reports): submit that much on top
    sizes = job_sizes(size + checkouts + warmup, per_job)
    njobs, total = len(sizes), sum(sizes)
    errors = Errors()
    with server(root, f"queue-{size}", synchronous) as proc:
        log(
            f"checkout cost, queue {size}: submitting {njobs} jobs, {total} workunits "
            f"from {submit_threads} threads"
        )
        submit_s = submit_jobs(proc.url, sizes, submit_threads, errors, f"q{size}")
        log(f"  submitted in {submit_s:.1f} s")
        t0 = time.perf_counter()
        queued = wait_queued(proc.url, total, timeout=max(120.0, submit_s * 2))
        settle_s = time.perf_counter() - t0
        api = Api(proc.url)
        cid = api.register(f"bench-checkout-{size}")
        times: list[float] = []
        t_start = 0.0
        for n in range(warmup + checkouts):
            if n == warmup:
                t_start = time.perf_counter()
            path = f"/work?client={cid}"
            status, body, dt = api.call("GET", path)
            if status != 200:
                errors.add(describe("GET", path, status, body))
                if status == 0 or error_message(body) == NO_WORK:
                    break
                continue
            if n >= warmup:
                times.append(dt)
        elapsed = time.perf_counter() - t_start
        after = api.queue_status() or {}
    result = {
        "queue_size": size,
        "synchronous": synchronous,
        "jobs": njobs,
        "workunits_submitted": total,
        "submit_s": submit_s,
        "submit_jobs_per_s": njobs / submit_s if submit_s > 0 else math.nan,
        "submit_workunits_per_s": total / submit_s if submit_s > 0 else math.nan,
        "settle_s": settle_s,
        "queued_at_start": queued,
        "queued_at_end": after.get("workunits", {}).get("queuing"),
        "checkouts": len(times),
        "checkout": latency(times),
        "checkouts_per_s": len(times) / elapsed if elapsed > 0 else math.nan,
        "errors": errors.count,
        "error_samples": errors.samples,
    }
    log(
        f"  {len(times)} checkouts: p50 {result['checkout']['p50_ms']:.2f} ms, "
        f"{result['checkouts_per_s']:.1f}/s"
    )
    return result


# --------------------------------------------------------------------------------------------
# output


def no_nan(obj: Any) -> Any:
    """NaN (no samples) as null, so the JSON is strict."""
    if isinstance(obj, float) and math.isnan(obj):
        return None
    if isinstance(obj, dict):
        return {k: no_nan(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [no_nan(v) for v in obj]
    return obj


def fmt(x: Any, nd: int = 1) -> str:
    if x is None:
        return "-"
    if isinstance(x, float):
        return "nan" if math.isnan(x) else f"{x:.{nd}f}"
    return str(x)


def ratio(a: float, b: float) -> float:
    return a / b if b else math.nan


def table(headers: list[str], rows: list[list[str]]) -> str:
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(headers)]
    line = "  ".join(h.rjust(w) for h, w in zip(headers, widths, strict=True))
    out = [line, "  ".join("-" * w for w in widths)]
    out += ["  ".join(c.rjust(w) for c, w in zip(r, widths, strict=True)) for r in rows]
    return "\n".join(out)


def throughput_rows(results: list[dict[str, Any]]) -> list[list[str]]:
    return [
        [
            r["synchronous"],
            str(r["clients"]),
            str(r["cycles"]),
            fmt(r["wall_s"], 2),
            fmt(r["workunits_per_s"]),
            fmt(r["checkout"]["p50_ms"], 2),
            fmt(r["checkout"]["p99_ms"], 2),
            fmt(r["report"]["p50_ms"], 2),
            fmt(r["report"]["p99_ms"], 2),
            str(r["errors"]),
        ]
        for r in results
    ]


TP_HEADERS = [
    "sync",
    "clients",
    "cycles",
    "wall s",
    "wu/s",
    "co p50 ms",
    "co p99 ms",
    "rep p50 ms",
    "rep p99 ms",
    "errors",
]


def render(doc: dict[str, Any]) -> str:
    out: list[str] = []
    meta = doc["meta"]
    out.append("awe dispatch benchmark")
    out.append(f"  host: {meta['cpus']} CPUs, Python {meta['python']}, {meta['platform']}")
    out.append(f"  mode: {meta['mode']}; started {meta['started']}; took {meta['total_s']:.0f} s")
    out.append(
        f"  server data dirs under {meta['data_root']} (removed at the end); "
        f"write+fsync there: {meta['fsync_ms']:.2f} ms (p50)"
    )
    out.append("  NOTE: numbers are noisy: client threads, the server and anything else running on")
    out.append("  this machine (e.g. other test suites) share the same CPUs. Compare within a run.")
    if meta["keepalive"]:
        out.append(
            "  Each client thread reuses one keep-alive HTTP/1.1 connection (--no-keepalive:"
        )
        out.append("  a new TCP connection per request).")
    else:
        out.append("  --no-keepalive: every request is a new TCP connection (Connection: close).")

    tp = [r for r in doc["throughput"] if r["synchronous"] == "full"]
    if tp:
        out.append("")
        out.append("1. Throughput: N clients loop checkout -> report(done) until drained")
        out.append("   co = GET /work?client=<id>, rep = PUT /work/<wuid>?status=done&client=<id>;")
        out.append("   store synchronous=full (the default)")
        out.append(table(TP_HEADERS, throughput_rows(tp)))

    cc = doc["checkout_cost"]
    if cc:
        out.append("")
        out.append(
            f"2. Checkout cost vs queue size: 1 client, checkout only (no reports), "
            f"{doc['config']['checkouts']} timed checkouts after "
            f"{doc['config']['warmup']} warm-up"
        )
        headers = [
            "queue",
            "jobs",
            "submit s",
            "jobs/s",
            "wu queued start->end",
            "co p50 ms",
            "co p99 ms",
            "co mean ms",
            "checkouts/s",
            "errors",
        ]
        rows = [
            [
                str(r["queue_size"]),
                str(r["jobs"]),
                fmt(r["submit_s"], 1),
                fmt(r["submit_jobs_per_s"], 1),
                f"{fmt(r['queued_at_start'])}->{fmt(r['queued_at_end'])}",
                fmt(r["checkout"]["p50_ms"], 2),
                fmt(r["checkout"]["p99_ms"], 2),
                fmt(r["checkout"]["mean_ms"], 2),
                fmt(r["checkouts_per_s"], 1),
                str(r["errors"]),
            ]
            for r in cc
        ]
        out.append(table(headers, rows))
        if len(cc) == 2:
            small, big = cc
            p50 = ratio(big["checkout"]["p50_ms"], small["checkout"]["p50_ms"])
            p99 = ratio(big["checkout"]["p99_ms"], small["checkout"]["p99_ms"])
            rate = ratio(big["checkouts_per_s"], small["checkouts_per_s"])
            out.append(
                f"   ratio large/small: p50 x{fmt(p50, 2)}, p99 x{fmt(p99, 2)}, "
                f"checkouts/s x{fmt(rate, 2)}   (~1 = checkout does not scan the queue)"
            )

    sync = doc["sync_compare"]
    if sync:
        out.append("")
        n = sync[0]["clients"]
        out.append(f"3. Store durability: throughput at {n} clients, synchronous=full vs normal")
        out.append(table(TP_HEADERS, throughput_rows(sync)))
        by = {r["synchronous"]: r for r in sync}
        if "full" in by and "normal" in by:
            f, m = by["full"], by["normal"]
            out.append(
                f"   normal/full: wu/s x{fmt(ratio(m['workunits_per_s'], f['workunits_per_s']), 2)}"
                f", report p50 x{fmt(ratio(m['report']['p50_ms'], f['report']['p50_ms']), 2)}"
                "   (>1 wu/s = what fsync per group commit costs)"
            )

    samples = [
        (section, s)
        for section in ("throughput", "checkout_cost")
        for r in doc[section]
        for s in r["error_samples"]
    ]
    if samples or doc.get("server_problems"):
        out.append("")
        out.append("Problems seen:")
        for section, s in samples:
            out.append(f"  [{section}] {s}")
        for p in doc.get("server_problems", []):
            out.append(f"  [server] {p}")
    return "\n".join(out)


# --------------------------------------------------------------------------------------------
# main


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--clients", default="1,4,16", help="client counts for (1) (default 1,4,16)")
    p.add_argument("--quick", action="store_true", help="small sizes, well under a minute")
    p.add_argument("--json", action="store_true", help="print JSON instead of the table")
    p.add_argument("--cycles", type=int, help="workunits per throughput run")
    p.add_argument(
        "--sync-clients",
        type=int,
        default=4,
        help="client count for the full-vs-normal comparison (3) (default 4)",
    )
    p.add_argument("--small-queue", type=int, default=100, help="small queue size for (2)")
    p.add_argument("--large-queue", type=int, help="large queue size for (2)")
    p.add_argument("--checkouts", type=int, help="timed checkouts per queue size in (2)")
    p.add_argument("--per-job", type=int, default=100, help="workunits per job (totalwork)")
    p.add_argument("--submit-threads", type=int, default=8, help="threads submitting jobs")
    p.add_argument(
        "--no-keepalive",
        action="store_true",
        help="send Connection: close, a new TCP connection per request (as AWE's server forces)",
    )
    p.add_argument("--data-root", help="where the servers' temp data dirs go (default: $TMPDIR)")
    p.add_argument("--skip", default="", help="comma list of sections to skip: 1,2,3")
    args = p.parse_args(argv)
    args.client_counts = [int(x) for x in args.clients.split(",") if x.strip()]
    if args.cycles is None:
        args.cycles = 600 if args.quick else 3000
    if args.large_queue is None:
        args.large_queue = 10_000 if args.quick else 100_000
    if args.checkouts is None:
        args.checkouts = 300 if args.quick else 500
    args.warmup = 20
    args.skip_sections = {s.strip() for s in args.skip.split(",") if s.strip()}
    return args


def _interrupt(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    Api.keepalive = not args.no_keepalive
    signal.signal(signal.SIGTERM, _interrupt)  # clean up on kill too, not only on Ctrl-C
    signal.signal(signal.SIGINT, _interrupt)  # even where the shell started us ignoring SIGINT
    started = time.time()
    doc: dict[str, Any] = {
        "meta": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "platform": platform.platform(),
            "mode": "quick" if args.quick else "full",
            "keepalive": not args.no_keepalive,
            "started": time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(started)),
        },
        "config": {
            "clients": args.client_counts,
            "cycles": args.cycles,
            "per_job": args.per_job,
            "sync_clients": args.sync_clients,
            "queue_sizes": [args.small_queue, args.large_queue],
            "checkouts": args.checkouts,
            "warmup": args.warmup,
        },
        "throughput": [],
        "checkout_cost": [],
        "sync_compare": [],
        "server_problems": [],
    }
    root = Path(tempfile.mkdtemp(prefix="awe-bench-", dir=args.data_root))
    doc["meta"]["data_root"] = str(root)
    doc["meta"]["fsync_ms"] = fsync_cost(root) * 1000
    try:
        # 1 and 3: a fresh server for every run, so no run inherits another's finished jobs
        runs: list[tuple[str, int]] = []
        if "1" not in args.skip_sections:
            runs += [("full", n) for n in args.client_counts]
        if "3" not in args.skip_sections:
            if ("full", args.sync_clients) not in runs:
                runs.append(("full", args.sync_clients))
            runs.append(("normal", args.sync_clients))
        for synchronous, n in runs:
            with server(root, f"throughput-{synchronous}-{n}", synchronous) as proc:
                r = throughput(proc, synchronous, n, args.cycles, args.per_job)
            doc["throughput"].append(r)
            if n == args.sync_clients and "3" not in args.skip_sections:
                doc["sync_compare"].append(r)
        # 2
        if "2" not in args.skip_sections:
            for size in (args.small_queue, args.large_queue):
                doc["checkout_cost"].append(
                    checkout_cost(
                        root,
                        "full",
                        size,
                        args.checkouts,
                        args.warmup,
                        args.per_job,
                        args.submit_threads,
                    )
                )
    except KeyboardInterrupt:
        log("interrupted: stopping servers and removing temp dirs")
        return 130
    finally:
        shutil.rmtree(root, ignore_errors=True)
    doc["meta"]["total_s"] = time.time() - started
    doc["server_problems"] = SERVER_PROBLEMS
    if args.json:
        print(json.dumps(no_nan(doc), indent=1, default=str))
    else:
        print(render(doc))
    return 0


if __name__ == "__main__":
    sys.exit(main())
