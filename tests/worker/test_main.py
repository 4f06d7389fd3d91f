"""The awe-worker command: flags, config file, signals, exit codes."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

import yaml

from awe.worker.workunit import workdir_for
from tests.worker.fake_awe import FakeAwe
from tests.worker.helpers import wait_for, workunit_doc

STARTED_THEN_SLEEP = '-c \'open("started", "w").close(); import time; time.sleep(60)\''


def start(tmp_path: Path, *flags: str) -> subprocess.Popen[str]:
    config = {
        "heartbeat_interval_s": 0.2,
        "checkout_wait_s": 0.3,
        "shutdown_grace_s": 0.5,
        "report_retry": {"initial_s": 0.05, "max_s": 0.2},
        "backoff": {"idle_s": 0.05, "error_s": 0.05, "error_after_10_s": 0.1, "suspended_s": 0.1},
    }
    path = tmp_path / "worker.yaml"
    path.write_text(yaml.safe_dump(config))
    cmd = [sys.executable, "-m", "awe.worker.main", "--config", str(path), *flags]
    return subprocess.Popen(cmd, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True)


def test_sigterm_hands_back_running_work_and_exits_0(tmp_path: Path, fake_awe: FakeAwe) -> None:
    work = tmp_path / "work"
    proc = start(
        tmp_path,
        "--server",
        fake_awe.url,
        "--work-dir",
        str(work),
        "--name",
        "cli-w",
        "--apps",
        "python3,sort",
    )
    try:
        doc = workunit_doc("python3", STARTED_THEN_SLEEP)
        fake_awe.add_work(doc)
        wait_for(
            lambda: (workdir_for(work, doc["wuid"]) / "started").exists(), what="command started"
        )
        assert fake_awe.registrations[0]["name"] == "cli-w"
        assert fake_awe.registrations[0]["apps"] == ["python3", "sort"]
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(15) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
    log = proc.stderr.read() if proc.stderr else ""
    assert [r.status for r in fake_awe.reports_for(doc["wuid"])] == ["discarded"]
    assert f"checkout {doc['wuid']}" in log
    assert f"handed back {doc['wuid']}" in log


def test_a_bad_flag_value_is_a_usage_error(tmp_path: Path) -> None:
    proc = start(tmp_path, "--slots", "0")
    assert proc.wait(15) == 2
    assert "slots: must be at least 1" in (proc.stderr.read() if proc.stderr else "")


def test_a_refused_registration_exits_1(tmp_path: Path, fake_awe: FakeAwe) -> None:
    proc = start(tmp_path, "--server", fake_awe.url + "/nowhere", "--work-dir", str(tmp_path / "w"))
    assert proc.wait(15) == 1
    assert "registration refused" in (proc.stderr.read() if proc.stderr else "")
