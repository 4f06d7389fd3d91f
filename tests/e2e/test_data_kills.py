"""Data transfers survive SIGKILL: of the server mid-upload and mid-download, of a worker
mid-download. Nothing half-written ever has its final name, and the result is right.

The server throttles transfers (`datastore.throttle_bytes_per_s`), so a 4 MB file takes about
two seconds each way; the tests wait for a transfer to be under way (a temporary file growing)
before they kill, never for a fixed time.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

from tests.e2e.serverproc import ServerProcess
from tests.worker.helpers import wait_for
from tests.worker.workerproc import AweApi, WorkerProcess, py_task

LINES = 300_000
BIG = "".join(f"line {i:07d}\n" for i in range(LINES)).encode()  # 3.9 MB
RATE = 2 * 1024 * 1024
SCRIPT = {
    "info": {"name": "big-data", "noretry": True},
    "tasks": [
        py_task("0", f'open("big.bin", "w").write("".join(f"line {{i:07d}}\\n" for i in range({LINES})))',
                outputs=[{"filename": "big.bin"}]),
        py_task("1", 'import hashlib; open("sum.txt", "w").write(hashlib.sha256(open("big.bin", "rb").read()).hexdigest())',
                dependsOn=["0"], inputs=[{"filename": "big.bin", "origin": "0"}],
                outputs=[{"filename": "sum.txt"}]),
    ],
}  # fmt: skip
TRANSFER = {"attempts": 60, "pause_s": 0.1, "max_pause_s": 0.5}


def growing(folder: Path, pattern: str) -> bool:
    """A temporary file of a transfer in progress, with bytes in it."""
    return folder.is_dir() and any(p.stat().st_size > 0 for p in folder.rglob(pattern))


def check_result(server: ServerProcess, api: AweApi, job: str) -> None:
    done = api.wait_state(job, "completed", timeout=120)
    assert [t["state"] for t in done["tasks"]] == ["completed", "completed"]
    stored = server.data_dir / "datastore" / job / "0" / "big.bin"
    assert stored.read_bytes() == BIG
    total = api.http.request("GET", f"{server.url}/data/{job}/1/sum.txt")
    assert total.data.decode() == hashlib.sha256(BIG).hexdigest()


def test_a_server_killed_mid_upload_and_mid_download_loses_nothing(tmp_path: Path) -> None:
    server = ServerProcess(tmp_path / "server", {"datastore": {"throttle_bytes_per_s": RATE}})
    server.start()
    worker = WorkerProcess(server.url, tmp_path, "w1", file_roots=[], transfer=TRANSFER)
    try:
        worker.start()
        api = AweApi(server.url)
        job = api.submit(SCRIPT)["id"]
        folder = server.data_dir / "datastore" / job
        wait_for(lambda: growing(folder / "_incoming", "*"), 60, "an upload under way")
        server.kill()
        assert not (folder / "0" / "big.bin").exists()  # half an upload never has the name
        server.start()
        work = worker.root / "work"
        wait_for(lambda: growing(work, ".big.bin.*.part"), 60, "task 1's download under way")
        server.kill()
        server.start()
        check_result(server, api, job)
        cut = re.search(r"download of big.bin: cut after (\d+) bytes", worker.log)
        assert cut and int(cut.group(1)) > 0, worker.log  # resumed from there, not from 0
        assert list((folder / "_incoming").glob("*")) == []  # the killed upload was swept
        assert worker.count(rf"done {job}_0_0 in") == worker.count(rf"done {job}_1_0 in") == 1
    finally:
        worker.stop()
        server.stop()
        print(f"---- worker ----\n{worker.log}\n---- server ----\n" + "\n".join(server.log_lines))


def test_a_worker_killed_mid_download_leaves_no_corrupt_file(tmp_path: Path) -> None:
    config = {"datastore": {"throttle_bytes_per_s": RATE},
              "queue": {"client_timeout_s": 2, "client_check_interval_s": 0.3}}  # fmt: skip
    server = ServerProcess(tmp_path / "server", config).start()
    first = WorkerProcess(server.url, tmp_path, "w1", file_roots=[], transfer=TRANSFER)
    second = WorkerProcess(server.url, tmp_path, "w2", file_roots=[], transfer=TRANSFER)
    try:
        first.start()
        api = AweApi(server.url)
        job = api.submit(SCRIPT)["id"]
        work = first.root / "work"
        wait_for(lambda: growing(work, ".big.bin.*.part"), 60, "task 1's download under way")
        first.kill()
        assert not list(work.rglob(f"{job}_1_0/big.bin"))  # only the temporary file exists
        second.start()
        check_result(server, api, job)
        assert second.count(rf"done {job}_1_0 in") == 1
    finally:
        for worker in (first, second):
            worker.stop()
        server.stop()
        for worker in (first, second):
            print(f"---- {worker.name} ----\n{worker.log}")
        print("---- server ----\n" + "\n".join(server.log_lines))
