"""bench/run.py --quick proves the bench works: every row of issue 11 comes back with a number
or an explicit reason, and nothing it started is left behind. It asserts no speed."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]

ROWS = [
    "dispatch_k1",
    "dispatch_k8",
    "dispatch_k8_vs_celery",
    "dispatch_k32",
    "jobs_100_vs_1",
    "listing_p99",
    "query_p99",
    "checkout_big_vs_small",
    "recovery_serving",
    "recovery_all",
    "memory_per_job",
    "memory_per_queued_wu",
    "longpoll",
    "fleet",
    "dispatch_normal",
    "dispatch_split",
]
# rows that need something awe does not install (redis-server, celery) may say why not
OPTIONAL = {"dispatch_k8_vs_celery"}


@pytest.fixture(scope="module")
def quick(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict, Path]:
    data_root = tmp_path_factory.mktemp("bench-data")
    done = subprocess.run(
        [sys.executable, str(REPO / "bench" / "run.py"), "--quick", "--json",
         "--data-root", str(data_root)],
        capture_output=True, text=True, timeout=280, cwd=REPO,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout), data_root


@pytest.mark.timeout(300)
def test_quick_bench_gives_every_row_a_number_or_a_reason(quick: tuple[dict, Path]) -> None:
    doc, _ = quick
    rows = {row["key"]: row for row in doc["rows"]}
    assert list(rows) == ROWS
    for key, row in rows.items():
        if row["verdict"] == "not measured":
            assert key in OPTIONAL, f"{key} not measured: {row['reason']}"
            assert row["reason"], key
        else:
            assert isinstance(row["figure"], int | float) and math.isfinite(row["figure"]), key
            assert row["verdict"].split()[0] in ("met", "missed", "info"), row
        assert row["load"], f"{key}: no machine load recorded beside the figure"


@pytest.mark.timeout(300)
def test_quick_bench_reports_the_fleet_and_cleans_up(quick: tuple[dict, Path]) -> None:
    doc, data_root = quick
    fleet = doc["fleet"]
    assert fleet["registered"] == fleet["workers"] > 0
    for key in ("p50_ms", "p99_ms", "max_ms"):
        assert fleet["heartbeat"][key] is not None
    assert isinstance(fleet["errors"], dict)
    assert fleet["server_cpu_pct"] is not None and fleet["server_rss_mb"] > 0
    assert isinstance(fleet["limits"], list)
    assert list(data_root.iterdir()) == [], "temporary data dirs were left behind"
