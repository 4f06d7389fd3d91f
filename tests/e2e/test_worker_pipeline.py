"""A real awe-server and two real awe-workers run a pipeline: chain, split, fan-in."""

from __future__ import annotations

from pathlib import Path

from awe.model.shares import line_share
from tests.worker.workerproc import cluster, py_task

READS = "".join(f"read {i}\n" for i in range(1, 31)).encode()

PIPELINE = {
    "info": {"name": "worker-e2e", "user": "tester", "userattr": {"sample": "S1"}},
    "tasks": [
        py_task(
            "0",
            'open("reads.txt", "w").write("".join(f"read {i}\\n" for i in range(1, 31)));'
            'print("made 30 reads")',
            outputs=[{"filename": "reads.txt"}],
        ),
        py_task(
            "1",
            'import os; r = os.environ["AWE_RANK"]; lines = open("reads.txt").read().splitlines();'
            'open("up.txt", "w").write("".join(f"{x.upper()} r{r}\\n" for x in lines))',
            dependsOn=["0"],
            totalwork=3,
            inputs=[{"filename": "reads.txt", "origin": "0"}],
            outputs=[{"filename": "up.txt"}],
        ),
        py_task(
            "2",
            'n = len(open("reads.txt").read().splitlines()); open("count.txt", "w").write(f"{n} reads\\n")',
            dependsOn=["0"],
            inputs=[{"filename": "reads.txt", "origin": "0"}],
            outputs=[{"filename": "count.txt"}],
        ),
        py_task(
            "3",
            'import sys; open("final.txt", "w").write(open(sys.argv[1]).read() + open(sys.argv[2]).read())',
            "@count.txt @up.txt",
            dependsOn=["1", "2"],
            inputs=[
                {"filename": "up.txt", "origin": "1"},
                {"filename": "count.txt", "origin": "2"},
            ],
            outputs=[{"filename": "final.txt"}],
        ),
    ],
}


def expected_final() -> bytes:
    up = b""
    for rank in (1, 2, 3):
        for line in line_share(READS, rank, 3).decode().splitlines():
            up += f"{line.upper()} r{rank}\n".encode()
    return b"30 reads\n" + up


def test_two_workers_run_a_pipeline_with_split_and_fan_in(tmp_path: Path) -> None:
    with cluster(tmp_path) as (server, api, workers):
        job = api.submit(PIPELINE)
        done = api.wait_state(job["id"], "completed", timeout=90)
        assert [t["state"] for t in done["tasks"]] == ["completed"] * 4
        final = server.data_dir / "datastore" / job["id"] / "3" / "final.txt"
        assert final.read_bytes() == expected_final()
        assert api.report(f"{job['id']}_0_0", "stdout") == "made 30 reads\n"
        wuids = [f"{job['id']}_{t}" for t in ("0_0", "1_1", "1_2", "1_3", "2_0", "3_0")]
        for wuid in wuids:
            runs = sum(w.count(rf"done {wuid} in") for w in workers)
            assert runs == 1, f"{wuid} done {runs} times"
