"""The fleet simulation: thousands of workers in one asyncio process, one socket each, each
registering, heartbeating on an even schedule and holding a long-poll checkout between
heartbeats, while a submitter keeps jobs flowing. Used by bench/fleet.py."""

from __future__ import annotations

import asyncio
import collections
import resource
import sys
import time
from dataclasses import dataclass, field
from typing import Any

from bench.lib.httpc import AweClient, HTTPError, job_script
from bench.lib.stats import latency_ms

CLIENT_NOT_FOUND = "Client not found"
MARGIN_S = 0.05  # a long poll ends this long before the worker's next heartbeat is due


@dataclass
class FleetConfig:
    url: str
    workers: int
    ramp_s: float
    duration_s: float
    heartbeat_s: float = 10.0
    jobs_per_s: float = 10.0
    submitters: int = 8
    request_timeout_s: float = 60.0


@dataclass
class Samples:
    """(time, seconds) pairs; `steady` keeps those after the ramp."""

    values: list[tuple[float, float]] = field(default_factory=list)

    def add(self, at: float, seconds: float) -> None:
        self.values.append((at, seconds))

    def steady(self, since: float) -> dict[str, float]:
        return latency_ms([s for t, s in self.values if t >= since])


def kind_of(op: str, err: BaseException) -> str:
    """An error's kind for the counts: the operation and the exception or AWE message."""
    if isinstance(err, HTTPError):
        return f"{op}: HTTP {err.status} {err.message[:80]}"
    if isinstance(err, TimeoutError):
        return f"{op}: timed out"
    return f"{op}: {type(err).__name__} {str(err)[:60]}".rstrip()


class Fleet:
    """Runs the workers and the submitter against one server and keeps what they saw."""

    def __init__(self, config: FleetConfig) -> None:
        self.cfg = config
        self.errors: collections.Counter[str] = collections.Counter()
        self.registered = 0
        self.connected = 0
        self.live = 0
        self.register = Samples()
        self.heartbeat = Samples()
        self.report = Samples()
        self.poll_late = Samples()  # how late an empty long poll came back
        self.loop_lag = Samples()  # this process's event-loop delay: is the client the limit?
        self.submitted: dict[str, float] = {}
        self.held: list[tuple[str, float]] = []  # (wuid, when a worker got it)
        self.jobs_sent = 0
        self.workunits_done = 0
        self.reregistered = 0

    async def run(self) -> None:
        """Ramp up, run steady for the duration, then stop every coroutine."""
        cfg = self.cfg
        self.t0 = time.perf_counter()
        self.steady_from = self.t0 + cfg.ramp_s
        self.end = self.steady_from + cfg.duration_s
        tasks = [asyncio.ensure_future(self._lag_monitor())]
        tasks += [asyncio.ensure_future(self._submitter(i)) for i in range(cfg.submitters)]
        for i in range(cfg.workers):
            start_at = self.t0 + cfg.ramp_s * i / max(1, cfg.workers)
            await _sleep_until(start_at)
            tasks.append(asyncio.ensure_future(self._worker(i)))
        await _sleep_until(self.steady_from)
        self.usage0 = _usage()
        await _sleep_until(self.end)
        self.usage1 = _usage()
        for task in tasks:
            task.cancel()
        _, stuck = await asyncio.wait(tasks, timeout=15)
        if stuck:  # never hang the bench: say so and leave them
            self.errors[f"load client: {len(stuck)} coroutine(s) did not stop"] += 1
            for frame in next(iter(stuck)).get_stack():
                print(f"stuck at {frame.f_code.co_filename}:{frame.f_lineno}", file=sys.stderr)

    async def _lag_monitor(self) -> None:
        while True:
            t0 = time.perf_counter()
            await asyncio.sleep(0.1)
            now = time.perf_counter()
            self.loop_lag.add(now, now - t0 - 0.1)

    async def _submitter(self, i: int) -> None:
        """Submitter i of n sends every n-th job of a steady `jobs_per_s` stream."""
        cfg = self.cfg
        if cfg.jobs_per_s <= 0:
            return
        client = AweClient(cfg.url)
        interval = cfg.submitters / cfg.jobs_per_s
        at = self.t0 + i / cfg.jobs_per_s
        n = 0
        while True:
            await _sleep_until(at)
            at = max(at + interval, time.perf_counter())
            t0 = time.perf_counter()
            try:
                job_id = await client.submit(job_script(f"fleet-{i}-{n}"), cfg.request_timeout_s)
                self.submitted[job_id] = t0
                self.jobs_sent += 1
            except (OSError, TimeoutError, HTTPError) as err:
                self.errors[kind_of("submit", err)] += 1
            n += 1

    async def _worker(self, i: int) -> None:
        cfg = self.cfg
        client = AweClient(cfg.url)
        t0 = time.perf_counter()
        try:
            await client.conn.connect()
            self.connected += 1
            await asyncio.wait_for(client.register(f"fleet-{i}"), cfg.request_timeout_s)
        except (OSError, TimeoutError, HTTPError) as err:
            self.errors[kind_of("register", err)] += 1
            client.close()
            return
        now = time.perf_counter()
        self.register.add(now, now - t0)
        self.registered += 1
        self.live += 1
        # heartbeats spread evenly over the period, whatever the ramp
        next_beat = self.t0 + cfg.heartbeat_s * i / max(1, cfg.workers)
        while next_beat < now:
            next_beat += cfg.heartbeat_s
        try:
            await self._serve(client, next_beat, f"fleet-{i}")
        finally:
            self.live -= 1
            client.close()

    async def _failed(self, op: str, err: BaseException, client: AweClient, name: str) -> bool:
        """Count an error; True when the worker must give up (its socket is gone). Like
        awe-worker, a worker the server forgot registers again."""
        self.errors[kind_of(op, err)] += 1
        if isinstance(err, OSError | TimeoutError):
            return True
        if isinstance(err, HTTPError) and err.message == CLIENT_NOT_FOUND:
            try:
                await client.register(name)
                self.reregistered += 1
            except (OSError, TimeoutError, HTTPError) as again:
                self.errors[kind_of("re-register", again)] += 1
                return not isinstance(again, HTTPError)
        else:
            await asyncio.sleep(1.0)  # a server error: do not hammer it
        return False

    async def _serve(self, client: AweClient, next_beat: float, name: str) -> None:
        cfg = self.cfg
        while True:
            now = time.perf_counter()
            if now >= next_beat:
                try:
                    await client.heartbeat()
                except (OSError, TimeoutError, HTTPError) as err:
                    if await self._failed("heartbeat", err, client, name):
                        return
                done = time.perf_counter()
                self.heartbeat.add(done, done - now)
                while next_beat <= done:
                    next_beat += cfg.heartbeat_s
                continue
            wait = next_beat - now - MARGIN_S
            if wait < 0.2:
                await _sleep_until(next_beat)
                continue
            try:
                wuid = await client.checkout(wait=wait, timeout=cfg.request_timeout_s)
            except (OSError, TimeoutError, HTTPError) as err:
                if await self._failed("checkout", err, client, name):
                    return
                continue
            got = time.perf_counter()
            if wuid is None:
                self.poll_late.add(got, max(0.0, got - now - wait))
                continue
            self.held.append((wuid, got))
            try:
                await client.report(wuid)
                self.workunits_done += 1
            except (OSError, TimeoutError, HTTPError) as err:
                if await self._failed("report", err, client, name):
                    return
            done = time.perf_counter()
            self.report.add(done, done - got)

    def dispatch_latency(self) -> dict[str, float]:
        """Submit -> a waiting worker holds the workunit, for jobs submitted in the steady part."""
        values = []
        for wuid, got in self.held:
            sent = self.submitted.get(wuid.split("_", 1)[0])
            if sent is not None and sent >= self.steady_from:
                values.append(got - sent)
        return latency_ms(values)

    def summary(self) -> dict[str, Any]:
        """What the fleet saw, steady-state figures after the ramp."""
        wall = self.end - self.steady_from
        cpu = (self.usage1 - self.usage0) / wall * 100 if wall > 0 else float("nan")
        return {
            "workers": self.cfg.workers,
            "connected": self.connected,
            "registered": self.registered,
            "live_at_end": self.live,
            "heartbeat": self.heartbeat.steady(self.steady_from),
            "heartbeats": len(self.heartbeat.values),
            "register": self.register.steady(0.0),
            "dispatch": self.dispatch_latency(),
            "report": self.report.steady(self.steady_from),
            "empty_poll_late": self.poll_late.steady(self.steady_from),
            "jobs_submitted": self.jobs_sent,
            "workunits_done": self.workunits_done,
            "reregistered": self.reregistered,
            "errors": dict(self.errors.most_common()),
            "error_count": sum(self.errors.values()),
            "load_client_cpu_pct": cpu,
            "load_client_loop_lag": self.loop_lag.steady(self.steady_from),
        }


async def _sleep_until(at: float) -> None:
    delay = at - time.perf_counter()
    if delay > 0:
        await asyncio.sleep(delay)


def _usage() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime
