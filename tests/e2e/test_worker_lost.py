"""A worker killed with SIGKILL mid-command: after the client timeout its work is requeued and
another worker finishes it."""

from __future__ import annotations

import os
import signal
from pathlib import Path

from awe.worker.workunit import workdir_for
from tests.worker.helpers import wait_for
from tests.worker.workerproc import SLEEP_ONCE, WorkerProcess, cluster, pid_alive, py_task

SERVER = {"queue": {"client_timeout_s": 2, "client_check_interval_s": 0.5}}


def test_work_of_a_killed_worker_is_finished_by_another(tmp_path: Path) -> None:
    marker = tmp_path / "marker"
    task = py_task("0", SLEEP_ONCE, str(marker), outputs=[{"filename": "out.txt"}])
    with cluster(tmp_path, SERVER, workers=1) as (server, api, (first,)):
        job = api.submit({"info": {"name": "lost"}, "tasks": [task]})
        wuid = f"{job['id']}_0_0"
        pid_file = workdir_for(Path(first.config["work_dir"]), wuid) / "pid"
        orphan = int(wait_for(lambda: pid_file.exists() and pid_file.read_text(), timeout=30))
        second = WorkerProcess(server.url, tmp_path, "w2").start()
        try:
            first.kill()
            api.wait_state(job["id"], "completed", timeout=60)
            assert second.count(rf"done {wuid} in") == 1
            assert first.count(rf"done {wuid}") == 0
            out = server.data_dir / "datastore" / job["id"] / "0" / "out.txt"
            assert out.read_text() == "ok"
        finally:
            second.stop()
            print(f"---- w2 ----\n{second.log}")
            if pid_alive(orphan):  # a SIGKILLed worker cannot take its command with it
                os.kill(orphan, signal.SIGKILL)
