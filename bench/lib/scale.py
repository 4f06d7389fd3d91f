"""Scale figures on one server holding many jobs: listing and query p99, checkout with a big vs
a small queue, memory per live job and per queued workunit, recovery after SIGKILL."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

from bench.lib.dispatch import Errors, queue_counts, submit_jobs, wait_queued
from bench.lib.httpc import AweClient, Connection, HTTPError, job_script
from bench.lib.procs import AweServerProc, machine_load, restart_port, rss_bytes
from bench.lib.stats import latency_ms, median, ratio

PROJECTS = 10  # jobs are spread over projects p0..p9; the query asks for one of them
QUERY = "/job?query&info.project=p3&limit=25"
LISTING = "/job?limit=25"


def _script(i: int) -> bytes:
    return job_script(f"scale-{i}", project=f"p{i % PROJECTS}")


async def timed_gets(url: str, path: str, count: int, errors: Errors) -> list[float]:
    """`count` sequential GETs of `path` on one connection; their durations."""
    client = AweClient(url)
    times = []
    for _ in range(count):
        t0 = time.perf_counter()
        try:
            await client.get_json(path)
        except (OSError, TimeoutError, HTTPError) as err:
            errors.add(f"GET {path}: {err!r}")
            continue
        times.append(time.perf_counter() - t0)
    client.close()
    return times


async def checkout_rate(url: str, count: int, warmup: int, errors: Errors) -> dict[str, Any]:
    """A new client checks out `warmup` + `count` workunits without reporting them."""
    client = AweClient(url)
    await client.register(f"bench-queue-{time.monotonic_ns()}")
    times = []
    for n in range(warmup + count):
        t0 = time.perf_counter()
        try:
            wuid = await client.checkout()
        except (OSError, TimeoutError, HTTPError) as err:
            errors.add(f"checkout: {err!r}")
            continue
        if wuid is None:
            errors.add("checkout: the queue ran dry")
            break
        if n >= warmup:
            times.append(time.perf_counter() - t0)
    client.close()
    total = sum(times)
    return {"per_s": len(times) / total if total else float("nan"), **latency_ms(times)}


async def settled_rss(pid: int, url: str) -> int:
    """RSS once a /metrics round trip has gone through (the server has caught up)."""
    await queue_counts(url)
    await asyncio.sleep(0.5)
    return rss_bytes(pid)


async def populate(server: AweServerProc, jobs: int, errors: Errors) -> dict[str, Any]:
    """Submit `jobs` one-task jobs; how long it took and the RSS each live job added."""
    await submit_jobs(server.url, 1, lambda i: job_script("warm-up"), errors)
    await timed_gets(server.url, LISTING, 3, errors)
    before = await settled_rss(server.pid, server.url)
    submit_s = await submit_jobs(server.url, jobs, _script, errors, concurrency=32)
    queued = await wait_queued(server.url, jobs + 1)
    after = await settled_rss(server.pid, server.url)
    return {
        "jobs": jobs,
        "submit_s": submit_s,
        "jobs_per_s": jobs / submit_s,
        "queued": queued,
        "rss_before": before,
        "rss_after": after,
        "bytes_per_job": (after - before) / jobs,
    }


def restart_after_kill(server: AweServerProc) -> dict[str, Any]:
    """SIGKILL, start again on the same port; seconds until it serves and until every job and
    workunit it held is back in the queue."""
    status = asyncio.run(queue_counts(server.url))
    jobs = status["jobs"]
    units = status["queued"] + status["checkout"]
    server.kill()
    load = machine_load()
    started = time.perf_counter()
    server.spawn()
    url = f"http://127.0.0.1:{server.port}"

    async def until_serving() -> float:
        while True:
            conn = Connection(url)
            try:
                if (await conn.request("GET", "/", timeout=5)).status == 200:
                    return time.perf_counter() - started
            except (OSError, TimeoutError):
                pass
            finally:
                conn.close()
            if not server.alive():
                raise RuntimeError(
                    "awe-server died while recovering:\n" + "\n".join(server.log_lines()[-20:])
                )
            await asyncio.sleep(0.01)

    async def until_recovered() -> float:
        while True:
            try:
                now = await queue_counts(url)
                if now["jobs"] >= jobs and now["queued"] + now["checkout"] >= units:
                    return time.perf_counter() - started
            except (OSError, TimeoutError, HTTPError) as err:
                if not server.alive():
                    raise RuntimeError(
                        "awe-server died while recovering:\n" + "\n".join(server.log_lines()[-20:])
                    ) from err
            await asyncio.sleep(0.05)

    serving = asyncio.run(until_serving())
    recovered = asyncio.run(until_recovered())
    server.url = url
    return {
        "jobs": jobs,
        "workunits": units,
        "serving_s": serving,
        "recovered_s": recovered,
        "rss_after": rss_bytes(server.pid),
        "load": load,
    }


def queued_unit_cost(root: Path, totalwork: int, errors: Errors) -> dict[str, Any]:
    """RSS one task of `totalwork` workunits adds while none of them is handed out."""
    server = AweServerProc(root / "memory").start()
    try:

        async def run() -> dict[str, Any]:
            await submit_jobs(server.url, 1, lambda i: job_script("warm-up"), errors)
            before = await settled_rss(server.pid, server.url)
            started = time.perf_counter()
            await submit_jobs(
                server.url, 1, lambda i: job_script("big", totalwork=totalwork), errors
            )
            await wait_queued(server.url, totalwork + 1)
            submit_s = time.perf_counter() - started
            after = await settled_rss(server.pid, server.url)
            return {
                "totalwork": totalwork,
                "submit_s": submit_s,
                "bytes_per_workunit": (after - before) / totalwork,
            }

        return asyncio.run(run())
    finally:
        server.stop()


def scale_section(
    root: Path,
    jobs: int,
    rounds: int,
    requests: int,
    checkouts: int,
    totalwork: int,
    small: int = 100,
) -> dict[str, Any]:
    """Every figure of the 'stored jobs' rows; each timing a median over `rounds` rounds."""
    errors = Errors()
    warmup = 20
    out: dict[str, Any] = {"load_start": machine_load(), "rounds": []}
    big = AweServerProc(root / "scale")
    big.port = restart_port()  # restarted on the same port after each SIGKILL
    big.start()
    little = AweServerProc(root / "small-queue").start()
    try:
        out["populate"] = asyncio.run(populate(big, jobs, errors))
        for _ in range(rounds):
            out["rounds"].append(
                asyncio.run(_round(big, little, requests, checkouts, warmup, small, errors))
            )
        out["recovery"] = [restart_after_kill(big) for _ in range(rounds)]
    finally:
        big.stop()
        little.stop()
    out["memory"] = queued_unit_cost(root, totalwork, errors)
    rs = out["rounds"]
    out["summary"] = {
        "listing_p99_ms": median(r["listing"]["p99_ms"] for r in rs),
        "query_p99_ms": median(r["query"]["p99_ms"] for r in rs),
        "checkout_ratio": median(ratio(r["big"]["per_s"], r["small"]["per_s"]) for r in rs),
        "serving_s": median(r["serving_s"] for r in out["recovery"]),
        "recovered_s": median(r["recovered_s"] for r in out["recovery"]),
    }
    # the checkout clients never heartbeat: their leases are requeued after 40 s, by design
    quiet = big.problems(ignore="(bench-queue-")
    out["errors"], out["error_samples"] = errors.count, errors.samples + quiet
    return out


async def _round(
    big: AweServerProc,
    little: AweServerProc,
    requests: int,
    checkouts: int,
    warmup: int,
    small: int,
    errors: Errors,
) -> dict[str, Any]:
    load = machine_load()
    listing = latency_ms(await timed_gets(big.url, LISTING, requests, errors))
    query = latency_ms(await timed_gets(big.url, QUERY, requests, errors))
    # the small queue holds `small` workunits once this round's checkouts are done
    status = await queue_counts(little.url)
    top_up = small + checkouts + warmup - status["queued"]
    await submit_jobs(little.url, max(0, top_up), _script, errors)
    await wait_queued(little.url, small + checkouts + warmup)
    small_rate = await checkout_rate(little.url, checkouts, warmup, errors)
    big_rate = await checkout_rate(big.url, checkouts, warmup, errors)
    queued = (await queue_counts(big.url))["queued"]
    return {
        "load": load,
        "listing": listing,
        "query": query,
        "small": small_rate,
        "big": big_rate,
        "big_queued_after": queued,
    }
