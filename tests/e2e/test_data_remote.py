"""The README's pipeline with the worker on "another machine": no shared filesystem (issue 13).

The worker has its own directories only, and its file:// roots exclude the server's; every byte
moves over HTTP through /data. Where the machine allows it, the worker also runs in its own
network namespace, so the server is reachable only at an address of another host.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import urllib3

from awe.model.shares import line_share
from tests.e2e.netns import namespace
from tests.e2e.serverproc import ServerProcess, console_script
from tests.worker.helpers import wait_for
from tests.worker.workerproc import AweApi, WorkerProcess

SQUARES = json.loads((Path(__file__).resolve().parents[2] / "examples/squares.json").read_text())
NUMBERS = "".join(f"{n}\n" for n in range(1, 301)).encode()


def expected_squares() -> bytes:
    """Each rank squares its own line share, and the server joins the parts in rank order."""
    parts = (line_share(NUMBERS, rank, 3).decode().split() for rank in (1, 2, 3))
    return "".join(f"{int(n) ** 2}\n" for part in parts for n in part).encode()


def run_squares(server: ServerProcess, worker: WorkerProcess) -> None:
    """Submit examples/squares.json; check every byte of the result and what travelled."""
    api = AweApi(server.url)
    job = api.submit(SQUARES)["id"]
    done = api.wait_state(job, "completed", timeout=120)
    assert [t["state"] for t in done["tasks"]] == ["completed"] * 3
    squares = api.http.request("GET", f"{server.url}/data/{job}/1/squares.txt")
    assert squares.status == 200 and squares.data == expected_squares()
    pasted = "".join(
        f"{n},{s}\n" for n, s in zip(NUMBERS.decode().split(), expected_squares().decode().split(),
                                     strict=True)
    )  # fmt: skip
    assert api.report(f"{job}_2_0", "stdout") == pasted
    assert done["tasks"][1]["outputs"][0]["url"].endswith(f"/data/{job}/1/squares.txt")
    # each rank fetched only its share of numbers.txt, and the shares add up to the file
    found = re.finditer(rf"input numbers.txt \((\d+) bytes\) for {job}_1_(\d)", worker.log)
    sizes = {int(m.group(2)): int(m.group(1)) for m in found}
    assert sorted(sizes) == [1, 2, 3], worker.log
    assert sizes == {r: len(line_share(NUMBERS, r, 3)) for r in (1, 2, 3)}
    server_log = "\n".join(server.log_lines)
    for rank in (1, 2, 3):  # each asked the server for its share's range, not for the file
        assert f"/data/{job}/0/numbers.txt?meta&rank={rank}&totalwork=3&client=" in server_log
    shared = "datastore: inputs are read from the shared path" in worker.log
    assert shared or "datastore: files move over HTTP" in worker.log


def remote_worker(server: ServerProcess, root: Path, **extra: Any) -> WorkerProcess:
    """A worker with its own dirs only: file:// roots are its work and data dirs, nothing else."""
    return WorkerProcess(
        server.url, root, "remote", slots=2, file_roots=[], datastore_path="",
        data_dir=str(root / "remote" / "data"), **extra,
    )  # fmt: skip


def test_the_readme_pipeline_runs_with_no_shared_filesystem(tmp_path: Path) -> None:
    server = ServerProcess(tmp_path / "server").start()
    worker = remote_worker(server, tmp_path / "elsewhere")
    try:
        worker.start()
        run_squares(server, worker)
        assert str(server.data_dir) not in worker.log  # it never learnt where the server keeps data
        assert re.search(r"GET /data/\S+/0/numbers.txt\?client", "\n".join(server.log_lines))
    finally:
        worker.stop()
        server.stop()
        print(f"---- worker ----\n{worker.log}\n---- server ----\n" + "\n".join(server.log_lines))


def test_a_worker_that_shares_the_datastore_folder_reads_inputs_from_it(tmp_path: Path) -> None:
    server = ServerProcess(tmp_path / "server").start()
    worker = WorkerProcess(server.url, tmp_path, "local", slots=2,
                           datastore_path=str(server.data_dir / "datastore"))  # fmt: skip
    try:
        worker.start()
        run_squares(server, worker)
        assert "datastore: inputs are read from the shared path" in worker.log
        assert not re.search(r"GET /data/\S+/0/numbers.txt\?client", "\n".join(server.log_lines))
    finally:
        worker.stop()
        server.stop()


def test_the_readme_pipeline_runs_with_the_worker_in_another_network_namespace(tmp_path) -> None:
    with namespace() as ns:
        server = ServerProcess(tmp_path / "server", {"api": {"host": ns.host_address}}).start()
        assert server.url.startswith(f"http://{ns.host_address}:")
        # inside the namespace, this machine's loopback is not the server's: another host
        probe = "import socket, sys; socket.create_connection(('127.0.0.1', int(sys.argv[1])), 5)"
        alone = subprocess.run([*ns.prefix, sys.executable, "-c", probe, str(server.port)],
                               capture_output=True, text=True, timeout=30)  # fmt: skip
        assert alone.returncode != 0 and "ConnectionRefusedError" in alone.stderr
        worker = remote_worker(server, tmp_path / "elsewhere", prefix=ns.prefix)
        try:
            worker.start()
            run_squares(server, worker)
        finally:
            worker.stop()
            server.stop()
            print(
                f"---- worker ----\n{worker.log}\n---- server ----\n" + "\n".join(server.log_lines)
            )


def test_worker_help_names_the_data_options() -> None:
    text = subprocess.run([*console_script("awe-worker"), "--help"], capture_output=True,
                          text=True, timeout=30).stdout  # fmt: skip
    assert "--datastore-path" in text and "--file-root" in text


def test_workers_read_by_their_lease_when_anonymous_reading_is_off(tmp_path: Path) -> None:
    config = {"anonymous": {"read": False, "write": True, "delete": False},
              "auth": {"tokens": {"t-ana": "ana"}, "clientgroup_tokens": {"default": "cg-d"}}}  # fmt: skip
    server = ServerProcess(tmp_path / "server", config).start()
    worker = remote_worker(server, tmp_path / "elsewhere", clientgroup_token="cg-d")
    try:
        worker.start()
        http = urllib3.PoolManager(retries=False)
        ana = {"Authorization": "Bearer t-ana"}
        upload = ("squares.json", json.dumps(SQUARES).encode())
        posted = http.request("POST", f"{server.url}/job", fields={"upload": upload}, headers=ana)
        job = json.loads(posted.data)["data"]["id"]

        def state() -> str:
            answer = http.request("GET", f"{server.url}/job/{job}", headers=ana)
            return json.loads(answer.data)["data"]["state"]

        wait_for(lambda: state() in ("completed", "suspend"), 60, "the job to end")
        assert state() == "completed", worker.log
        anonymous = http.request("GET", f"{server.url}/data/{job}/1/squares.txt")
        assert anonymous.status == 401
        owner = http.request("GET", f"{server.url}/data/{job}/1/squares.txt", headers=ana)
        assert owner.data == expected_squares()
    finally:
        worker.stop()
        server.stop()
        print(f"---- worker ----\n{worker.log}\n---- server ----\n" + "\n".join(server.log_lines))
