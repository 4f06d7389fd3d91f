"""Paths cannot escape (issue 10 item 4), with a real server and a real worker.

Each job below is an attack that worked before: reading a worker's secret or the server's
store through a file:// input, writing anywhere through a file:// output, sending a worker's
secret as an output through a link. Each must fail its workunit with a clear note, before the
command runs where a location is refused, and leave nothing behind.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.worker.workerproc import cluster

SECRET = b"worker private key: 0123456789\n"


def job(name: str, *tasks: dict[str, Any]) -> dict[str, Any]:
    return {"info": {"name": name, "noretry": True}, "tasks": list(tasks)}


def test_file_urls_outside_the_roots_and_linked_outputs_are_refused(tmp_path: Path) -> None:
    secret = tmp_path / "worker-secrets" / "key.pem"
    secret.parent.mkdir()
    secret.write_bytes(SECRET)
    planted = tmp_path / "planted.txt"
    ran = tmp_path / "ran"
    with cluster(tmp_path, workers=1, slots=2, file_roots=[]) as (server, api, _):
        sqlite = server.data_dir / "awe.sqlite3"
        attacks = {
            "read-secret": job("read-secret", {
                "taskid": "0", "cmd": {"name": "cat", "args": "@key.pem"},
                "inputs": [{"filename": "key.pem", "url": secret.as_uri()}]}),
            "copy-store": job("copy-store", {
                "taskid": "0", "cmd": {"name": "cp", "args": "@db stolen.db"},
                "inputs": [{"filename": "db", "url": sqlite.as_uri()}],
                "outputs": [{"filename": "stolen.db"}]}),
            "write-anywhere": job("write-anywhere", {
                "taskid": "0", "cmd": {"name": "sh", "args": f"-c 'touch {ran}; echo pwned > evil.txt'"},
                "outputs": [{"filename": "evil.txt", "url": planted.as_uri()}]}),
            "link-out": job("link-out", {
                "taskid": "0", "cmd": {"name": "ln", "args": f"-s {secret} out.txt"},
                "outputs": [{"filename": "out.txt"}]}),
        }  # fmt: skip
        ids = {name: api.submit(script)["id"] for name, script in attacks.items()}
        for name, job_id in ids.items():
            found = api.wait_state(job_id, "suspend", timeout=60)
            notes = found["notes"]
            if name == "link-out":
                assert "leads out of the work dir" in notes, notes
            else:
                assert "is outside the worker's file roots" in notes, notes
                assert "before the command ran" in notes, notes
            assert SECRET.decode() not in str(found)
            stored = server.data_dir / "datastore" / job_id
            assert not stored.exists() or not any(p.is_file() for p in stored.rglob("*")), name
        notes = api.report(f"{ids['read-secret']}_0_0", "worknotes")
        assert "###[inputs]input key.pem:" in notes and SECRET.decode() not in notes
        stdout = api.http.request("GET", f"{api.url}/work/{ids['read-secret']}_0_0?report=stdout")
        assert SECRET not in stdout.data
        assert not planted.exists() and not ran.exists()
        assert secret.read_bytes() == SECRET
