"""The server is killed and restarted while workers run: they re-attach their work, the job
completes, and every workunit is done exactly once."""

from __future__ import annotations

from pathlib import Path

from tests.worker.workerproc import cluster, py_task

# Keep leases through the restart until the workers re-register with them (D3).
SERVER = {"queue": {"client_timeout_s": 10, "client_check_interval_s": 0.5}}

SLOW_PART = (
    'import os, time; time.sleep(1.5); r = os.environ["AWE_RANK"];'
    'open("part.txt", "w").write(f"part {r}\\n")'
)
JOIN = 'import sys; open("all.txt", "w").write(open(sys.argv[1]).read())'


def test_workers_reattach_after_a_server_restart(tmp_path: Path) -> None:
    script = {
        "info": {"name": "restart"},
        "tasks": [
            py_task("0", SLOW_PART, totalwork=4, outputs=[{"filename": "part.txt"}]),
            py_task(
                "1",
                JOIN,
                "@part.txt",
                dependsOn=["0"],
                inputs=[{"filename": "part.txt", "origin": "0"}],
                outputs=[{"filename": "all.txt"}],
            ),
        ],
    }
    with cluster(tmp_path, SERVER, workers=2) as (server, api, workers):
        job = api.submit(script)
        for worker in workers:
            worker.wait_log(r"run python3", timeout=30)
        server.kill()
        server.start()
        api.wait_state(job["id"], "completed", timeout=90)
        all_txt = server.data_dir / "datastore" / job["id"] / "1" / "all.txt"
        assert all_txt.read_text() == "".join(f"part {r}\n" for r in (1, 2, 3, 4))
        for wuid in [f"{job['id']}_0_{r}" for r in (1, 2, 3, 4)] + [f"{job['id']}_1_0"]:
            runs = sum(w.count(rf"done {wuid} in") for w in workers)
            assert runs == 1, f"{wuid} done {runs} times"
        assert any(w.count(r"registering again") for w in workers)
