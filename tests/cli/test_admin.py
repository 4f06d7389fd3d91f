"""`awe clients`, `awe client …`, `awe logs`, `awe work` and `awe queue` against a real server."""

from __future__ import annotations

import json

from tests.cli.conftest import AweRun, Http, Worker, job_script


def test_clients_table_shows_each_worker_with_its_counters(awe: AweRun, http: Http) -> None:
    http.submit(job_script())
    busy = Worker(http, name="busy-node")
    idle = Worker(http, name="idle-node")
    busy.run_one()
    busy.checkout()
    result = awe("clients")
    assert result.returncode == 0, result.stderr
    rows = {line.split()[0]: line.split() for line in result.stdout.splitlines()[1:-1]}
    assert rows[busy.id][1:8] == ["busy-node", "default", "active-busy", "1", "2", "1", "0"]
    assert rows[idle.id][1:8] == ["idle-node", "default", "active-idle", "0", "0", "0", "0"]
    assert result.stdout.rstrip().endswith("2 clients")
    only_busy = json.loads(awe("clients", "--busy", "--json").stdout)
    assert [c["id"] for c in only_busy] == [busy.id]


def test_clients_on_an_empty_server_says_so(awe: AweRun) -> None:
    assert awe("clients").stdout.strip() == "no clients registered"


def test_client_suspend_resume_show_and_delete(awe: AweRun, http: Http) -> None:
    worker = Worker(http, name="node9")
    assert awe("client", "suspend", worker.id).stdout.strip() == "client suspended"
    assert http.data("GET", f"/client/{worker.id}")["Status"] == "suspend"
    shown = awe("client", "show", worker.id)
    assert "node9" in shown.stdout and "suspend" in shown.stdout
    again = awe("client", "suspend", worker.id)
    assert again.returncode == 1
    assert "error (HTTP 400): Client not active" in again.stderr
    assert awe("client", "resume", worker.id).stdout.strip() == "client resumed"
    assert awe("client", "suspend", "--all").stdout.strip() == "1 clients suspended"
    assert awe("client", "resume", "--all").stdout.strip() == "1 suspended clients resumed"
    deleted = awe("client", "delete", worker.id)
    assert deleted.returncode == 0, deleted.stderr
    missing = awe("client", "show", "no-such-client")
    assert missing.returncode == 1
    assert "Client not found" in missing.stderr


def test_logs_print_what_the_worker_reported(awe: AweRun, http: Http) -> None:
    http.submit(job_script())
    wuid = Worker(http).run_one(stdout="Linux box 6.1\nsecond line\n", stderr="a warning\n")
    out = awe("logs", wuid)
    assert out.returncode == 0, out.stderr
    assert out.stdout == "Linux box 6.1\nsecond line\n"
    assert awe("logs", wuid, "--stderr").stdout == "a warning\n"
    notes = awe("logs", wuid, "--worknotes")  # the worker sent none: it is empty, not an error
    assert (notes.returncode, notes.stdout) == (0, "")
    assert notes.stderr.strip() == f"worknotes of {wuid} is empty"


def test_logs_tell_an_unknown_workunit_from_one_that_has_not_run(awe: AweRun, http: Http) -> None:
    job = http.submit(job_script())
    waiting = awe("logs", f"{job['id']}_0_0", "--stderr")
    assert (waiting.returncode, waiting.stdout) == (0, "")
    assert "has not reported yet (it is queued)" in waiting.stderr
    for wuid in (f"{job['id']}_7_0", "nope_1_0"):
        unknown = awe("logs", wuid, "--stderr")
        assert unknown.returncode == 1
        assert unknown.stderr.strip() == f"no such workunit: {wuid}"


def test_work_shows_one_workunit(awe: AweRun, http: Http) -> None:
    job_id = http.submit(job_script(name="wu-job"))["id"]
    worker = Worker(http)
    wuid = worker.checkout()["wuid"]
    result = awe("work", wuid)
    assert result.returncode == 0, result.stderr
    assert wuid in result.stdout
    assert "uname -a" in result.stdout
    assert "checkout" in result.stdout
    assert worker.id in result.stdout
    data = json.loads(awe("work", wuid, "--json").stdout)
    assert (data["wuid"], data["state"], data["client"]) == (wuid, "checkout", worker.id)
    assert data["wuid"].startswith(job_id)


def test_queue_shows_counts_and_can_be_suspended_and_resumed(awe: AweRun, http: Http) -> None:
    http.submit(job_script())
    Worker(http)
    counts = json.loads(awe("queue", "--json").stdout)
    assert counts["jobs"]["active"] == 1
    panel = awe("queue").stdout
    assert "queue running" in panel
    assert "idle 1" in panel
    assert awe("queue", "suspend").stdout.strip() == "work queue suspended"
    assert "queue suspended" in awe("queue").stdout
    late = Worker(http, name="w2")
    assert http.call("GET", f"/work?client={late.id}")["error"] == ["Server queue is suspended"]
    assert awe("queue", "resume").stdout.strip() == "work queue resumed"
    assert json.loads(awe("queue", "--json").stdout)["queue_status"] == "running"
