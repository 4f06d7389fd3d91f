"""Failures seen end to end: a failing command is retried, then the job is suspended with the
worker's reason; a missing output fails the workunit the same way."""

from __future__ import annotations

from pathlib import Path

from tests.worker.workerproc import cluster, py_task

SERVER = {"queue": {"max_work_failure": 2}}


def test_a_failing_command_is_retried_then_the_job_suspended_with_stderr(tmp_path: Path) -> None:
    code = 'import sys; print("boom at line 7", file=sys.stderr); sys.exit(3)'
    with cluster(tmp_path, SERVER) as (_, api, workers):
        job = api.submit({"info": {"name": "fails"}, "tasks": [py_task("0", code)]})
        suspended = api.wait_state(job["id"], "suspend", timeout=60)
        wuid = f"{job['id']}_0_0"
        assert "boom at line 7" in suspended["notes"]
        assert "exited with status 3" in suspended["notes"]
        assert sum(w.count(rf"fail {wuid}:") for w in workers) == 2  # tried twice, on both
        assert "boom at line 7" in api.report(wuid, "stderr")
        assert "###[run]" in api.report(wuid, "worknotes")


def test_a_missing_output_fails_the_workunit(tmp_path: Path) -> None:
    task = {"taskid": "0", "cmd": {"name": "true"}, "outputs": [{"filename": "never.txt"}]}
    with cluster(tmp_path, SERVER) as (_, api, workers):
        job = api.submit({"info": {"name": "no-output"}, "tasks": [task]})
        suspended = api.wait_state(job["id"], "suspend", timeout=60)
        wuid = f"{job['id']}_0_0"
        assert f"output never.txt not generated for workunit {wuid}" in suspended["notes"]
        assert f"###[outputs]output never.txt not generated for workunit {wuid}" in api.report(
            wuid, "worknotes"
        )
        assert sum(w.count(rf"fail {wuid}:") for w in workers) == 2


def test_a_report_over_the_size_cap_is_sent_again_without_logs(tmp_path: Path) -> None:
    # the server refuses reports over 2 KB (JSON 413); the worker must still get `done` through
    code = 'print("x" * 50000)'
    with cluster(tmp_path, {"reports": {"max_bytes": 2048}}, workers=1) as (_, api, workers):
        job = api.submit({"info": {"name": "chatty"}, "tasks": [py_task("0", code)]})
        done = api.wait_state(job["id"], "completed", timeout=60)
        assert done["state"] == "completed"
        assert workers[0].count("too large; sending it without logs") == 1
