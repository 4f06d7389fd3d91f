"""`awe get JOB TASK FILE`: an output downloaded from the datastore, verified, where asked."""

from __future__ import annotations

import hashlib
from pathlib import Path

import urllib3

from tests.cli.conftest import AweRun, Http, Worker

DATA = b"".join(f"{i},{i * i}\n".encode() for i in range(1, 5000))


def stored_job(http: Http) -> str:
    """A one-task job whose output `table.csv` a worker uploaded to the datastore."""
    script = {"info": {"name": "get"}, "tasks": [
        {"taskid": "0", "cmd": {"name": "true"}, "outputs": [{"filename": "table.csv"}]}]}  # fmt: skip
    job = http.submit(script)["id"]
    worker = Worker(http)
    wuid = worker.checkout()["wuid"]
    pool = urllib3.PoolManager(retries=False)
    put = pool.request("PUT", f"{http.url}/data/{job}/0/table.csv?client={worker.id}", body=DATA)
    assert put.status == 200, put.data
    worker.report(wuid)
    return job


def test_get_saves_the_output_and_says_it_was_verified(http: Http, awe: AweRun, tmp_path: Path):
    job = stored_job(http)
    dest = tmp_path / "t.csv"
    done = awe("get", job, "0", "table.csv", "-o", str(dest))
    assert done.returncode == 0, done.stderr
    assert hashlib.sha256(dest.read_bytes()).digest() == hashlib.sha256(DATA).digest()
    assert f"saved {job}/0/table.csv to" in done.stdout and "checksum verified" in done.stdout
    into_dir = awe("get", job, "0", "table.csv", "-o", str(tmp_path))
    assert into_dir.returncode == 0 and (tmp_path / "table.csv").read_bytes() == DATA


def test_get_of_a_missing_file_says_so(http: Http, awe: AweRun, tmp_path: Path):
    job = stored_job(http)
    missing = awe("get", job, "0", "nope.csv", "-o", str(tmp_path / "x"))
    assert missing.returncode == 1
    assert "file not found" in missing.stderr
    assert not (tmp_path / "x").exists()


def test_get_from_no_server_is_unreachable(tmp_path: Path) -> None:
    import subprocess

    from tests.cli.conftest import awe_command, cli_env

    done = subprocess.run(
        awe_command("--server", "http://127.0.0.1:1", "get", "j", "0", "f", "-o", str(tmp_path / "f")),
        capture_output=True, text=True, env=cli_env(), timeout=60,
    )  # fmt: skip
    assert done.returncode == 2
    assert "cannot reach the awe server" in done.stderr
