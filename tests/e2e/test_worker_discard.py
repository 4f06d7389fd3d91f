"""Suspending a job while its command runs: the worker kills it and reports it discarded."""

from __future__ import annotations

from pathlib import Path

from awe.worker.workunit import workdir_for
from tests.worker.helpers import wait_for
from tests.worker.workerproc import SLEEP_ONCE, cluster, pid_alive, py_task


def test_suspending_a_job_kills_its_running_command(tmp_path: Path) -> None:
    marker = tmp_path / "marker"
    task = py_task("0", SLEEP_ONCE, str(marker), outputs=[{"filename": "out.txt"}])
    with cluster(tmp_path, workers=1) as (_, api, (worker,)):
        job = api.submit({"info": {"name": "discard"}, "tasks": [task]})
        wuid = f"{job['id']}_0_0"
        pid_file = workdir_for(Path(worker.config["work_dir"]), wuid) / "pid"
        pid = int(wait_for(lambda: pid_file.exists() and pid_file.read_text(), timeout=30))
        assert pid_alive(pid)
        api.control(job["id"], "suspend")
        worker.wait_log(rf"reported {wuid} discarded", timeout=30)
        wait_for(lambda: not pid_alive(pid), timeout=10, what="the command killed")
        assert api.job(job["id"])["state"] == "suspend"
        assert worker.count(rf"done {wuid}") == 0
        api.control(job["id"], "resume")
        api.wait_state(job["id"], "completed", timeout=60)
        assert worker.count(rf"done {wuid} in") == 1
