"""Issue 2 end to end: the real awe-server process, killed with SIGKILL, loses no accepted job."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor

import urllib3

from tests.e2e.serverproc import ServerProcess

HTTP = urllib3.PoolManager(maxsize=8, retries=False, timeout=urllib3.Timeout(connect=5, read=30))


def call(method: str, url: str, **kw) -> dict:
    response = HTTP.request(method, url, **kw)
    return json.loads(response.data)


def submit(base: str, name: str, project: str = "e2e") -> dict:
    script = {"info": {"name": name, "project": project},
              "tasks": [{"taskid": "0", "cmd": {"name": "true", "args": ""}, "totalwork": 2}]}  # fmt: skip
    body = call("POST", f"{base}/job", fields={"upload": ("job.json", json.dumps(script))})
    assert body["status"] == 200, body
    return body["data"]


def test_sigkill_after_accepting_loses_no_job_and_no_finished_workunit(tmp_path) -> None:
    server = ServerProcess(tmp_path / "srv").start()
    try:
        with ThreadPoolExecutor(8) as pool:
            accepted = list(pool.map(lambda i: submit(server.url, f"job-{i}"), range(24)))
        profile = json.dumps({"name": "w", "group": "default", "apps": ["*"]})
        client = call("POST", f"{server.url}/client", fields={"profile": ("p.json", profile)})[
            "data"
        ]
        work = call("GET", f"{server.url}/work?client={client['id']}")["data"]
        answer = call("PUT", f"{server.url}/work/{work['wuid']}?status=done&client={client['id']}")
        assert answer["data"] == "ok"
        server.kill()  # no flush, no goodbye

        server.start()
        listed = call("GET", f"{server.url}/job?limit=100&query&info.project=e2e")
        assert listed["total_count"] == len(accepted)
        by_id = {job["id"]: job for job in listed["data"]}
        assert set(by_id) == {job["id"] for job in accepted}
        assert {j["jid"] for j in by_id.values()} == {j["jid"] for j in accepted}
        assert all(job["registered"] for job in by_id.values())
        finished = call("GET", f"{server.url}/job/{work['wuid'].split('_')[0]}")["data"]
        units = {u["rank"]: u["state"] for u in finished["tasks"][0]["workunits"]}
        assert units[work["rank"]] == "done"
        assert finished["tasks"][0]["remainwork"] == 1
        page = call("GET", f"{server.url}/job?limit=10&offset=20")
        assert (page["total_count"], len(page["data"])) == (24, 4)
    finally:
        server.stop()


def test_zombie_left_by_a_stopped_server_is_found_deleted_and_resubmitted(tmp_path) -> None:
    server = ServerProcess(tmp_path / "srv").start()
    try:
        doomed = submit(server.url, "doomed")
        revived = submit(server.url, "revived")
        assert server.stop() == 0
        server.config = {"queue": {"recover": False}}
        server.start()
        assert call("GET", f"{server.url}/job?registered")["total_count"] == 0
        resubmitted = call("PUT", f"{server.url}/job/{revived['id']}?resubmit")
        assert resubmitted["data"] == f"job resubmitted: {revived['id']}"
        assert call("DELETE", f"{server.url}/job?zombie")["data"] == "deleted 1 zombie jobs"
        assert call("GET", f"{server.url}/job/{doomed['id']}")["data"]["state"] == "deleted"
        profile = json.dumps({"name": "w", "group": "default", "apps": ["*"]})
        client = call("POST", f"{server.url}/client", fields={"profile": ("p.json", profile)})[
            "data"
        ]
        for _ in range(2):
            work = call("GET", f"{server.url}/work?client={client['id']}")["data"]
            assert work["wuid"].startswith(revived["id"])
            call("PUT", f"{server.url}/work/{work['wuid']}?status=done&client={client['id']}")
        job = call("GET", f"{server.url}/job/{revived['id']}")["data"]
        assert job["state"] == "completed"
    finally:
        server.stop()


def test_bad_config_stops_startup_naming_the_key(tmp_path) -> None:
    server = ServerProcess(tmp_path / "srv", config={"queue": {"max_work_faliure": 3}})
    try:
        server.start(timeout=15)
    except RuntimeError as err:
        assert "unknown configuration key: queue.max_work_faliure" in str(err)
    else:
        server.stop()
        raise AssertionError("the server started with an unknown configuration key")


def test_unreachable_mongodb_at_startup_names_the_host_and_stops(tmp_path) -> None:
    config = {"store": {"mongodb": {"uri": "mongodb://127.0.0.1:1/", "timeout_s": 0.5}}}
    server = ServerProcess(tmp_path / "srv", config=config)
    try:
        server.start(timeout=20)
    except RuntimeError as err:
        assert "cannot open the store" in str(err)
        assert "127.0.0.1:1" in str(err)
        assert server.proc is not None and server.proc.returncode == 2
    else:
        server.stop()
        raise AssertionError("the server started without its MongoDB")


def test_sigterm_answers_waiting_checkouts_before_the_server_stops(tmp_path) -> None:
    server = ServerProcess(tmp_path / "srv").start()
    try:
        profile = json.dumps({"name": "w", "group": "default", "apps": ["*"]})
        client = call("POST", f"{server.url}/client", fields={"profile": ("p.json", profile)})[
            "data"
        ]
        with ThreadPoolExecutor(1) as pool:
            waiting = pool.submit(call, "GET", f"{server.url}/work?client={client['id']}&wait=60")
            status = {}
            for _ in range(200):  # until the long poll has reached the queue
                status = call("GET", f"{server.url}/queue?json")["data"]
                if status["waiting_checkouts"]:
                    break
            assert status["waiting_checkouts"] == 1
            assert server.stop() == 0
            answer = waiting.result(timeout=10)  # not the 60 s wait, not a dropped connection
        assert answer["error"] == ["Server queue is suspended"]  # AWE workers: idle, retry
    finally:
        server.stop()
