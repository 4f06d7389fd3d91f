"""Dispatch measurements: checkout + done report by K clients, the hello-world baseline driven
by the same client, and long-poll latency (submit -> a waiting worker holds the workunit)."""

from __future__ import annotations

import asyncio
import re
import resource
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.lib.httpc import AweClient, Connection, HTTPError, job_script
from bench.lib.procs import AweServerProc, context_switches, cpu_split, machine_load
from bench.lib.stats import latency_ms

MAX_SAMPLES = 5


@dataclass
class Errors:
    """Unexpected answers of one measurement: how many, and the first few in full."""

    count: int = 0
    samples: list[str] = field(default_factory=list)

    def add(self, what: object) -> None:
        self.count += 1
        if len(self.samples) < MAX_SAMPLES:
            self.samples.append(str(what)[:300])


class CpuMeter:
    """CPU (user, system) and context switches of the server, and CPU of this load process,
    between start() and stop()."""

    def __init__(self, pid: int) -> None:
        self.pid = pid

    def start(self) -> None:
        self.t0 = time.perf_counter()
        self.split0 = cpu_split(self.pid)
        self.switches0 = context_switches(self.pid)
        self.self0 = _own_cpu()

    def stop(self) -> dict[str, float]:
        """CPU in percent of one core over the wall time since start()."""
        wall = time.perf_counter() - self.t0
        user, system = (b - a for a, b in zip(self.split0, cpu_split(self.pid), strict=True))
        return {
            "server_cpu_pct": 100 * (user + system) / wall,
            "server_sys_pct": 100 * system / wall,
            "server_cpu_s": user + system,
            "server_switches": context_switches(self.pid) - self.switches0,
            "load_client_cpu_pct": 100 * (_own_cpu() - self.self0) / wall,
        }


def _own_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


async def submit_jobs(
    url: str, count: int, script: Callable[[int], bytes], errors: Errors, concurrency: int = 16
) -> float:
    """Submit `count` jobs from `concurrency` connections; the seconds it took."""
    numbers = iter(range(count))

    async def submitter() -> None:
        client = AweClient(url)
        for i in numbers:
            try:
                await client.submit(script(i))
            except (OSError, TimeoutError, HTTPError) as err:
                errors.add(f"submit: {err!r}")
        client.close()

    started = time.perf_counter()
    await asyncio.gather(*(submitter() for _ in range(min(concurrency, count))))
    return time.perf_counter() - started


METRIC = re.compile(r'^awe_(jobs|workunits)\{state="(\w+)"\} ([0-9.e+]+)$', re.MULTILINE)


async def queue_counts(url: str) -> dict[str, int]:
    """Live jobs, and queued and checked-out workunits, from `GET /metrics`: gauges read from
    the queue actor's own counters, cheap at any size (unlike /queue?json, which asks every
    live job)."""
    conn = Connection(url)
    try:
        response = await conn.request("GET", "/metrics")
    finally:
        conn.close()
    if response.status != 200:
        raise HTTPError("GET /metrics", response)
    found = {
        (kind, state): int(float(value))
        for kind, state, value in METRIC.findall(response.body.decode())
    }
    return {
        "jobs": found.get(("jobs", "active"), 0) + found.get(("jobs", "suspended"), 0),
        "queued": found.get(("workunits", "queued"), 0),
        "checkout": found.get(("workunits", "checkout"), 0),
    }


async def wait_queued(url: str, expected: int, timeout: float = 600.0) -> int:
    """Wait until /metrics shows `expected` workunits queued (offers reach the queue after the
    submit is answered); the last count seen."""
    deadline = time.monotonic() + timeout
    seen = -1
    while time.monotonic() < deadline:
        seen = (await queue_counts(url))["queued"]
        if seen >= expected:
            break
        await asyncio.sleep(0.05)
    return seen


async def cycles(url: str, clients: int, total: int, errors: Errors, pid: int) -> dict[str, Any]:
    """`clients` workers loop checkout -> report done until `total` cycles are done."""
    workers = [AweClient(url) for _ in range(clients)]
    for i, worker in enumerate(workers):
        await worker.register(f"bench-{clients}-{i}")
    left = [total]
    checkout: list[float] = []
    report: list[float] = []

    async def loop(worker: AweClient) -> None:
        while left[0] > 0:
            left[0] -= 1
            t0 = time.perf_counter()
            try:
                wuid = await worker.checkout()
                t1 = time.perf_counter()
                if wuid is None:
                    errors.add("checkout: no eligible workunit before the count was done")
                    return
                await worker.report(wuid)
            except (OSError, TimeoutError, HTTPError) as err:
                errors.add(f"cycle: {err!r}")
                return
            checkout.append(t1 - t0)
            report.append(time.perf_counter() - t1)

    meter = CpuMeter(pid)
    meter.start()
    started = time.perf_counter()
    await asyncio.gather(*(loop(w) for w in workers))
    wall = time.perf_counter() - started
    for worker in workers:
        worker.close()
    done = len(report)
    cpu = meter.stop()
    nan = float("nan")
    return {
        "clients": clients,
        "cycles": done,
        "wall_s": wall,
        "wu_per_s": done / wall if wall > 0 else nan,
        "cycle_ms": 1000 * wall * clients / done if done else nan,
        "checkout": latency_ms(checkout),
        "report": latency_ms(report),
        "server_cpu_ms_per_cycle": 1000 * cpu["server_cpu_s"] / done if done else nan,
        "switches_per_cycle": cpu["server_switches"] / done if done else nan,
        **cpu,
    }


@dataclass
class Shape:
    """What the dispatched workunits look like, and the store's durability setting."""

    tasks_per_job: int = 100
    totalwork: int = 1  # workunits per task
    synchronous: str = "full"

    def label(self) -> str:
        split = f" of totalwork {self.totalwork:,}" if self.totalwork > 1 else ""
        sync = f", synchronous: {self.synchronous}" if self.synchronous != "full" else ""
        tasks = "1 task" if self.tasks_per_job == 1 else f"{self.tasks_per_job} tasks"
        return f"jobs of {tasks}{split}{sync}"


def dispatch_round(
    root: Path,
    clients: int,
    total: int,
    shape: Shape | None = None,
    profiler: Any = None,
    env: dict[str, str] | None = None,
    config: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """One fresh awe-server: submit `total` workunits in jobs of the given shape, then
    `clients` clients check them out and report them done. `config`: more server settings."""
    shape = shape or Shape()
    errors = Errors()
    load = machine_load()
    workdir = root / f"dispatch-{clients}-{time.monotonic_ns()}"
    config = {**(config or {}), "store": {"embedded": {"synchronous": shape.synchronous}}}
    server = AweServerProc(workdir, config=config, env=env)
    server.start()
    per_job = shape.tasks_per_job * shape.totalwork
    jobs = -(-total // per_job)

    def script(i: int) -> bytes:
        return job_script(f"bench-{i}", tasks=shape.tasks_per_job, totalwork=shape.totalwork)

    async def run() -> dict[str, Any]:
        submit_s = await submit_jobs(server.url, jobs, script, errors)
        queued = await wait_queued(server.url, jobs * per_job)
        if profiler is not None:
            profiler.start(server.pid)
        try:
            result = await cycles(server.url, clients, min(total, queued), errors, server.pid)
        finally:
            if profiler is not None:
                profiler.stop()
        return {"submit_s": submit_s, "jobs": jobs, **result}

    try:
        result = asyncio.run(run())
    finally:
        server.stop()
    return {
        "shape": shape.label(),
        "load": load,
        **result,
        "errors": errors.count,
        "error_samples": errors.samples + server.problems(),
    }


async def hello_load(url: str, clients: int, seconds: float, pid: int) -> dict[str, Any]:
    """`clients` connections loop `GET /` for `seconds`: the same client code as dispatch."""
    errors = Errors()
    conns = [Connection(url) for _ in range(clients)]
    for conn in conns:
        await conn.connect()
    times: list[float] = []
    meter = CpuMeter(pid)
    meter.start()
    deadline = time.perf_counter() + seconds

    async def loop(conn: Connection) -> None:
        while time.perf_counter() < deadline:
            t0 = time.perf_counter()
            try:
                response = await conn.request("GET", "/")
            except (OSError, TimeoutError) as err:
                errors.add(f"GET /: {err!r}")
                return
            if response.status != 200:
                errors.add(f"GET / -> {response.status}")
            times.append(time.perf_counter() - t0)

    started = time.perf_counter()
    await asyncio.gather(*(loop(c) for c in conns))
    wall = time.perf_counter() - started
    for conn in conns:
        conn.close()
    return {
        "clients": clients,
        "requests": len(times),
        "req_per_s": len(times) / wall,
        "latency": latency_ms(times),
        **meter.stop(),
        "errors": errors.count,
        "error_samples": errors.samples,
    }


async def longpoll(url: str, samples: int, settle_s: float = 0.02) -> dict[str, Any]:
    """One worker holds `GET /work?wait=`; a job is submitted; time until the worker has it."""
    errors = Errors()
    worker, user = AweClient(url), AweClient(url)
    await worker.register("bench-longpoll")
    held: list[float] = []
    submit: list[float] = []

    async def timed_checkout() -> tuple[str | None, float]:
        wuid = await worker.checkout(wait=30)
        return wuid, time.perf_counter()  # the answer may come before the submit's own

    for i in range(samples):
        waiting = asyncio.ensure_future(timed_checkout())
        await asyncio.sleep(settle_s)  # let the checkout reach the queue and wait there
        t0 = time.perf_counter()
        try:
            await user.submit(job_script(f"longpoll-{i}"))
            submit.append(time.perf_counter() - t0)
            wuid, t_held = await waiting
            if wuid is None:
                errors.add("long poll ended without work")
                continue
            held.append(t_held - t0)
            await worker.report(wuid)
        except (OSError, TimeoutError, HTTPError) as err:
            errors.add(f"long poll: {err!r}")
            waiting.cancel()
    worker.close()
    user.close()
    return {
        "hold": latency_ms(held),
        "submit": latency_ms(submit),
        "errors": errors.count,
        "error_samples": errors.samples,
    }
