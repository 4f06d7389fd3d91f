"""All rows in the issue's order, and the table printed from them (Markdown, so that the same
text reads in a terminal and pastes into bench/README.md)."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from bench.lib.report import Row, dispatch_rows, extra_rows, judge, longpoll_row

SCALE_TARGET_JOBS = 100_000
FLEET_TARGET = 10_000


def scale_rows(doc: dict[str, Any]) -> list[Row]:
    """Listing, query, queue size, recovery and memory, from the scale section."""
    scale = doc.get("scale")
    failed = doc.get("failed", {}).get("scale")
    why = f"the scale section failed: {failed}" if failed else doc.get("scale_skipped", "")
    jobs = (scale or {}).get("populate", {}).get("jobs", 0)
    at = f"{jobs:,} jobs stored" if jobs else "100,000 jobs stored"
    smaller = (
        f" (at {jobs:,} jobs; the target is for 100,000)" if 0 < jobs < SCALE_TARGET_JOBS else ""
    )
    rows = [
        Row("listing_p99", f"GET /job?limit=25, {at}"),
        Row("query_p99", f"GET /job?query&info.project=…&limit=25 (1 job in 10 matches), {at}"),
        Row("checkout_big_vs_small", f"checkout with {jobs or 100_000:,} queued vs 100 queued"),
        Row(
            "recovery_serving",
            f"recovery after SIGKILL, {jobs or 100_000:,} unfinished jobs: restart → serving",
        ),
        Row(
            "recovery_all",
            "recovery after SIGKILL: restart → every job and workunit back in the queue",
        ),
        Row("memory_per_job", "server memory per live job (RSS delta ÷ jobs)"),
        Row(
            "memory_per_queued_wu",
            "server memory per queued workunit (one task, "
            f"totalwork {(scale or {}).get('memory', {}).get('totalwork', 100_000):,})",
        ),
    ]
    if not scale:
        for row in rows:
            row.reason = why
        return rows
    s, rounds = scale["summary"], scale["rounds"]
    lst, qry, rec = rows[0], rows[1], scale["recovery"]
    lst.awe = f"p99 {s['listing_p99_ms']:.1f} ms"
    judge(lst, s["listing_p99_ms"], "<", 20.0, " ms")
    qry.awe = f"p99 {s['query_p99_ms']:.1f} ms"
    judge(qry, s["query_p99_ms"], "<", 20.0, " ms")
    co = rows[2]
    big = sorted(r["big"]["p50_ms"] for r in rounds)[len(rounds) // 2]
    small = sorted(r["small"]["p50_ms"] for r in rounds)[len(rounds) // 2]
    co.awe, co.baseline = f"p50 {big:.2f} ms", f"100 queued: p50 {small:.2f} ms"
    judge(co, s["checkout_ratio"], ">=", 0.9)
    if co.figure is not None:
        co.figure_text = f"checkouts/s big÷small = {co.figure_text}"
    serve, every = rows[3], rows[4]
    serve.awe = f"{s['serving_s']:.1f} s"
    judge(serve, s["serving_s"], "<", 10.0, " s")
    every.awe = f"{s['recovered_s']:.1f} s ({rec[0]['workunits']:,} workunits)" if rec else ""
    judge(every, s["recovered_s"], "<", 10.0, " s")
    pop, mem = scale["populate"], scale["memory"]
    per_job, per_wu = rows[5], rows[6]
    per_job.awe = f"{pop['bytes_per_job'] / 1000:.1f} KB ({pop['jobs']:,} jobs of 1 task)"
    judge(per_job, pop["bytes_per_job"], "<", 5000.0, " B")
    per_wu.awe = f"{mem['bytes_per_workunit']:,.0f} B"
    judge(per_wu, mem["bytes_per_workunit"], "<", 100.0, " B")
    per_wu.reason = "'(almost) nothing': the bench reads it as < 100 B"
    loads = ", ".join(r["load"].split()[0] for r in rounds)
    for row in rows:
        row.load = loads
        if smaller and row.verdict not in ("info", "not measured"):
            row.reason = (row.reason + "; " if row.reason else "") + smaller.strip(" ()")
    serve.load = every.load = ", ".join(r["load"].split()[0] for r in rec)
    return rows


def fleet_row(doc: dict[str, Any]) -> Row:
    """The moonshot: 10,000 connected workers, heartbeat p99 < 100 ms, no errors."""
    fleet = doc.get("fleet")
    row = Row(
        "fleet",
        "fleet: N workers heartbeating every 10 s + long-poll checkout, jobs "
        "flowing: heartbeat p99 (and no errors)",
    )
    if not fleet or "heartbeat" not in fleet:
        failed = doc.get("failed", {}).get("fleet")
        row.reason = f"failed: {failed}" if failed else doc.get("fleet_skipped", "")
        return row
    workers, reg, errs = fleet["workers"], fleet["registered"], fleet["error_count"]
    p99 = fleet["heartbeat"]["p99_ms"]
    row.measurement = row.measurement.replace("N workers", f"{workers:,} workers")
    row.awe = (
        f"{reg:,} registered, heartbeat p99 {p99:.0f} ms, {errs} errors, server CPU "
        f"{fleet.get('server_cpu_pct', float('nan')):.0f}%"
    )
    judge(row, p99, "<", 100.0, " ms")
    row.target = f"{FLEET_TARGET:,} workers, < 100 ms, no errors"
    if row.figure is not None and (reg < workers or errs):
        row.verdict = row.verdict.replace("met", "missed", 1)
    limits = "; ".join(fleet.get("limits", []))
    row.reason = f"limited by: {limits}" if limits else ""
    if workers < FLEET_TARGET:
        note = f"ran {workers:,} workers; the target is for {FLEET_TARGET:,}"
        row.reason = (row.reason + "; " if row.reason else "") + note
    row.load = fleet.get("load_start", "").split(" ")[0]
    row.numbers = {
        k: fleet.get(k)
        for k in ("workers", "registered", "error_count", "server_cpu_pct", "server_rss_mb")
    }
    row.numbers["heartbeat_p99_ms"] = p99
    return row


def build_rows(doc: dict[str, Any]) -> list[Row]:
    """Every row of the issue's table, in its order."""
    rows = dispatch_rows(doc) + scale_rows(doc)
    rows.append(longpoll_row(doc.get("rounds", [])))
    rows.append(fleet_row(doc))
    rows += extra_rows(doc)
    skipped = set(doc["meta"].get("skipped", []))
    for row in rows:
        if row.verdict == "not measured" and not row.reason:
            needs = {row.key}
            if row.key.startswith(("dispatch", "jobs_")):
                needs = {"dispatch", "hello"} if row.key[-1].isdigit() else {"dispatch"}
            off = sorted(needs & skipped)
            row.reason = (
                f"skipped (--skip {','.join(off)})"
                if off
                else "the measurement produced no number (see problems below)"
            )
    return rows


def render(doc: dict[str, Any], rows: list[Row]) -> str:
    """The header (machine, load, sizes), the table, and the problems seen."""
    meta = doc["meta"]
    out = [
        f"awe bench — {meta['started']}, {meta['mode']} mode, {meta['rounds']} round(s), "
        f"took {meta.get('total_s', 0):.0f} s; {meta['cpus']} CPUs, Python {meta['python']}",
        f"machine load (1/5/15 min) at start {meta['load_start']}, at end "
        f"{meta.get('load_end', '?')}: a shared machine, so the absolute numbers are from a "
        "loaded machine; ratios measured in the same run are what matter.",
        "Store: embedded SQLite, synchronous: full. Each figure is a median over the rounds; "
        "ratios are taken within a round.",
        "",
        "| measurement | awe | baseline, same run | figure | target | verdict | load |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        verdict = r.verdict + (f": {r.reason}" if r.reason else "")
        out.append(
            f"| {r.measurement} | {r.awe or '—'} | {r.baseline or '—'} | "
            f"{r.figure_text or '—'} | {r.target or '—'} | {verdict} | {r.load or '—'} |"
        )
    problems = doc.get("problems", [])
    if problems:
        out += ["", "Problems seen:"] + [f"  {p}" for p in problems[:30]]
    return "\n".join(out)


def rows_json(rows: list[Row]) -> list[dict[str, Any]]:
    """The rows as plain dicts for --json."""
    return [asdict(r) for r in rows]
