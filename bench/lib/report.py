"""The one table: every row of issue 11 with its figure, target and verdict, built from the
measurements of one run (medians over rounds, ratios taken within each round)."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from bench.lib.stats import median, ratio

NOT_MEASURED = "not measured"


@dataclass
class Row:
    key: str
    measurement: str
    awe: str = ""
    baseline: str = ""
    figure: float | None = None  # the number the target is about
    figure_text: str = ""
    target: str = ""
    verdict: str = NOT_MEASURED
    reason: str = ""  # why not measured, or what the figure means
    load: str = ""
    numbers: dict[str, Any] = field(default_factory=dict)


def _ok(x: float | None) -> bool:
    return x is not None and not math.isnan(x)


def judge(row: Row, value: float | None, op: str | None, threshold: float, unit: str = "") -> Row:
    """Fill figure, target and verdict: op is '>=', '<' or None (a figure with no target)."""
    row.figure = value if _ok(value) else None
    if row.figure is None:
        row.verdict = NOT_MEASURED
        return row
    row.figure_text = f"{_num(value)}{unit}"
    if op is None:
        row.verdict = "info"
        return row
    row.target = f"{op} {_num(threshold)}{unit}"
    met = value >= threshold if op == ">=" else value < threshold
    of = "of the target" if op == ">=" else "of the limit"
    row.verdict = ("met" if met else "missed") + f" (×{_num(value / threshold)} {of})"
    return row


def _num(x: float) -> str:
    if abs(x) >= 100:
        return f"{x:,.0f}"
    if abs(x) >= 10:
        return f"{x:.1f}"
    return f"{x:.2f}"


def _loads(rounds: list[dict[str, Any]]) -> str:
    ones = [float(r["load"].split()[0]) for r in rounds if r.get("load")]
    if not ones:
        return ""
    return f"{min(ones):.1f}" if min(ones) == max(ones) else f"{min(ones):.1f}–{max(ones):.1f}"


def _get(rounds: list[dict[str, Any]], *path: str) -> list[Any]:
    out = []
    for r in rounds:
        for key in path:
            r = r.get(key) if isinstance(r, dict) else None
        out.append(r)
    return out


def dispatch_rows(doc: dict[str, Any]) -> list[Row]:
    """Dispatch at K clients against hello world, Celery, and jobs of 1 task."""
    rounds = doc.get("rounds", [])
    rows = []
    for k, op, threshold in ((1, None, 0.0), (8, ">=", 0.5), (32, None, 0.0)):
        clients = "1 client" if k == 1 else f"{k} clients"
        row = Row(
            f"dispatch_k{k}", f"dispatch (checkout + done report), {clients}, jobs of 100 tasks"
        )
        wu = median(_get(rounds, "dispatch", f"k{k}", "wu_per_s"))
        hello = median(_get(rounds, "hello", f"k{k}", "req_per_s"))
        cycle = median(_get(rounds, "dispatch", f"k{k}", "cycle_ms"))
        if _ok(wu):
            row.awe = f"{wu:,.0f} wu/s ({cycle:.1f} ms a cycle)"
        if _ok(hello):
            row.baseline = f"hello {hello:,.0f} req/s"
        per_round = _ratios(
            _get(rounds, "dispatch", f"k{k}", "wu_per_s"),
            _get(rounds, "hello", f"k{k}", "req_per_s"),
            scale=2.0,  # a workunit costs two requests
        )
        judge(row, median(per_round), op, threshold)
        row.figure_text = f"2×wu/s÷hello = {row.figure_text}" if row.figure is not None else ""
        if k == 1 and row.figure is not None:
            row.target = "say where the time goes"
            row.reason = "profile: bench/profile.py, findings in bench/README.md"
        elif k == 32 and row.figure is not None:
            row.reason = "no target in the issue"
        row.load = _loads(rounds)
        row.numbers = {
            "wu_per_s": wu,
            "hello_req_per_s": hello,
            "cycle_ms": cycle,
            "server_cpu_ms_per_cycle": median(
                _get(rounds, "dispatch", f"k{k}", "server_cpu_ms_per_cycle")
            ),
            "switches_per_cycle": median(_get(rounds, "dispatch", f"k{k}", "switches_per_cycle")),
        }
        rows.append(row)
        if k == 8:
            rows.append(celery_row(doc, rounds, wu))
    rows.append(one_task_row(rounds))
    return rows


def celery_row(doc: dict[str, Any], rounds: list[dict[str, Any]], wu: float) -> Row:
    """awe at 8 clients against Celery + Redis on the same number of no-op tasks: >= 2x."""
    row = Row(
        "dispatch_k8_vs_celery",
        "dispatch, 8 clients, vs Celery + Redis (2 prefork workers, same number of no-op tasks)",
    )
    celery = median(_get(rounds, "celery", "tasks_per_s"))
    if _ok(wu):
        row.awe = f"{wu:,.0f} wu/s"
    if _ok(celery):
        row.baseline = f"Celery {celery:,.0f} tasks/s"
    per_round = _ratios(
        _get(rounds, "dispatch", "k8", "wu_per_s"), _get(rounds, "celery", "tasks_per_s")
    )
    judge(row, median(per_round), ">=", 2.0)
    if row.figure is not None:
        row.figure_text = f"wu/s÷Celery = {row.figure_text}"
    else:
        row.reason = doc.get("celery_missing") or "Celery baseline skipped"
    row.load = _loads(rounds)
    row.numbers = {"wu_per_s": wu, "celery_tasks_per_s": celery}
    return row


def one_task_row(rounds: list[dict[str, Any]]) -> Row:
    """Work proportional to a job's size shows as jobs of 100 tasks slower than jobs of 1."""
    row = Row("jobs_100_vs_1", "dispatch, 8 clients: jobs of 100 tasks vs jobs of 1 task")
    one = median(_get(rounds, "dispatch_1task", "k8", "wu_per_s"))
    hundred = median(_get(rounds, "dispatch", "k8", "wu_per_s"))
    if _ok(one):
        row.awe = f"jobs of 1 task: {one:,.0f} wu/s"
    if _ok(hundred):
        row.baseline = f"jobs of 100 tasks: {hundred:,.0f} wu/s"
    per_round = _ratios(
        _get(rounds, "dispatch", "k8", "wu_per_s"), _get(rounds, "dispatch_1task", "k8", "wu_per_s")
    )
    judge(row, median(per_round), ">=", 0.9)
    if row.figure is not None:
        row.figure_text = f"100÷1 = {row.figure_text}"
    row.load = _loads(rounds)
    row.numbers = {"jobs_of_1_wu_per_s": one, "jobs_of_100_wu_per_s": hundred}
    return row


def longpoll_row(rounds: list[dict[str, Any]]) -> Row:
    """Submit -> a waiting worker holds the workunit: p99 < 10 ms."""
    row = Row("longpoll", "long-poll dispatch: submit → a waiting worker holds the workunit")
    p50 = median(_get(rounds, "longpoll", "hold", "p50_ms"))
    p99 = median(_get(rounds, "longpoll", "hold", "p99_ms"))
    if _ok(p50):
        row.awe = f"p50 {p50:.1f} ms, p99 {p99:.1f} ms"
    judge(row, p99, "<", 10.0, " ms")
    if row.figure is None and not any(r.get("longpoll") for r in rounds):
        row.reason = "skipped (--skip longpoll)"
    row.load = _loads(rounds)
    row.numbers = {"p50_ms": p50, "p99_ms": p99}
    return row


def extra_rows(doc: dict[str, Any]) -> list[Row]:
    """Not in the issue's table, no target: what durability costs, and one split task."""
    rounds = doc.get("rounds", [])
    base = _get(rounds, "dispatch", "k8", "wu_per_s")
    rows = []
    for key, label, what in (
        (
            "dispatch_normal",
            "dispatch, 8 clients, synchronous: normal vs full (what fsync per group commit costs)",
            "normal÷full",
        ),
        (
            "dispatch_split",
            "dispatch, 8 clients, one job of one task split into many "
            "workunits vs jobs of 100 tasks",
            "split÷100 tasks",
        ),
    ):
        row = Row(key, label)
        other = _get(rounds, key, "k8", "wu_per_s")
        wu = median(other)
        if _ok(wu):
            shape = next((r for r in _get(rounds, key, "k8") if r), {}).get("shape", "")
            row.awe = f"{wu:,.0f} wu/s ({shape})"
        if _ok(median(base)):
            row.baseline = f"full, jobs of 100 tasks: {median(base):,.0f} wu/s"
        per_round = _ratios(other, base)
        judge(row, median(per_round), None, 0.0)
        if row.figure is not None:
            row.figure_text = f"{what} = {row.figure_text}"
            row.reason = "no target (not in the issue's table)"
        row.load = _loads(rounds)
        rows.append(row)
    return rows


def _ratios(tops: list[Any], bottoms: list[Any], scale: float = 1.0) -> list[float | None]:
    """Per round, scale × top ÷ bottom (None for a round that lacks either): ratios are taken
    within a round, then their median is shown."""
    return [
        ratio(scale * t, b) if t is not None and b is not None else None
        for t, b in zip(tops, bottoms, strict=True)
    ]
