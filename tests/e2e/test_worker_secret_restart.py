"""With auth on, a restarted server (which forgot every client) takes a worker back with its
running work because it recognises the worker's secret, and no one else can claim that id;
a new key revokes every secret, and the worker carries on under a new id."""

from __future__ import annotations

import json
from pathlib import Path

import urllib3

from tests.worker.workerproc import AweApi, cluster, py_task

SERVER = {
    "anonymous": {"read": False, "write": False, "delete": False},
    "auth": {"tokens": {"t-ana": "ana"}, "clientgroup_tokens": {"default": "cg-t"}},
    "queue": {"client_timeout_s": 4, "client_check_interval_s": 0.5},
}
ANA = {"Authorization": "Bearer t-ana"}
WORKER = {"clientgroup_token": "cg-t"}
WAIT = "import os, sys, time; [time.sleep(0.05) for _ in range(1200) if not os.path.exists(sys.argv[1])]"


def as_ana(api: AweApi) -> AweApi:
    api.http = urllib3.PoolManager(headers=ANA, retries=False)
    return api


def test_a_restarted_server_takes_the_worker_back_with_its_work_and_nobody_else(
    tmp_path: Path,
) -> None:
    marker = tmp_path / "go"
    with cluster(tmp_path, SERVER, workers=1, **WORKER) as (server, api, (worker,)):
        job = as_ana(api).submit({"tasks": [py_task("0", WAIT, str(marker))]})
        worker.wait_log(r"run python3", timeout=30)
        client_id = worker.wait_log(r"registered as (\S+)").group(1)
        server.kill()
        server.start()
        # first in line after the restart: someone with the group's token, without the secret
        profile = {"id": client_id, "group": "default", "current_work": {f"{job['id']}_0_0": 1}}
        claim = urllib3.request(
            "POST", f"{server.url}/client", headers={"Authorization": "CG_TOKEN cg-t"},
            fields={"profile": ("p.json", json.dumps(profile).encode())},
        )  # fmt: skip
        assert (claim.status, json.loads(claim.data)["error"]) == (
            401,
            ["Client secret missing or wrong"],
        )
        worker.wait_log(r"re-attached", timeout=30)
        marker.touch()
        done = api.wait_state(job["id"], "completed", timeout=30)
        assert done["tasks"][0]["workunits"][0]["client"] == client_id  # the same id, once
        assert worker.count(rf"done {job['id']}_0_0 in") == 1


def test_a_new_key_revokes_the_secret_and_the_worker_registers_anew(tmp_path: Path) -> None:
    marker = tmp_path / "go"
    with cluster(tmp_path, SERVER, workers=1, **WORKER) as (server, api, (worker,)):
        job = as_ana(api).submit({"tasks": [py_task("0", WAIT, str(marker))]})
        worker.wait_log(r"run python3", timeout=30)
        old_id = worker.wait_log(r"registered as (\S+)").group(1)
        server.stop()
        (server.data_dir / "client-secret.key").unlink()
        server.start()
        worker.wait_log(r"registering as a new client", timeout=30)
        new_id = worker.wait_log(rf"registered as (?!{old_id})(\S+)", timeout=30).group(1)
        marker.touch()  # its old lease is released after the client timeout; it runs again
        done = api.wait_state(job["id"], "completed", timeout=60)
        assert done["tasks"][0]["workunits"][0]["client"] == new_id
