"""The bench's table never crashes on a missing piece: a row without a number says why."""

from __future__ import annotations

import pytest

from bench.lib import celerybench
from bench.lib.table import build_rows, render


def test_a_missing_redis_server_is_a_reason_not_a_crash(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(celerybench.shutil, "which", lambda name: None)
    assert "redis-server is not installed" in celerybench.missing()


def test_an_empty_run_gives_every_row_a_reason() -> None:
    doc = {
        "meta": {"started": "now", "mode": "quick", "rounds": 0, "cpus": 2, "python": "3",
                 "load_start": "1 1 1", "skipped": ["fleet"]},
        "rounds": [],
        "celery_missing": "redis-server is not installed",
        "failed": {"scale": "RuntimeError('boom')"},
    }  # fmt: skip
    rows = build_rows(doc)
    assert all(row.verdict == "not measured" and row.reason for row in rows)
    reasons = {row.key: row.reason for row in rows}
    assert reasons["dispatch_k8_vs_celery"] == "redis-server is not installed"
    assert "boom" in reasons["listing_p99"]
    assert reasons["fleet"].startswith("skipped")
    assert "| fleet" in render(doc, rows)
