"""`awe submit`, `awe jobs`, `awe show` and the job operations, against a real server."""

from __future__ import annotations

import json
from pathlib import Path

from tests.cli.conftest import AweRun, Http, Worker, job_script


def write_script(tmp_path: Path, **kwargs: str) -> Path:
    path = tmp_path / f"{kwargs.get('name', 'hello')}.json"
    path.write_text(json.dumps(job_script(**kwargs)))
    return path


def test_submit_prints_the_job_id_and_the_job_is_listed_by_the_server(
    awe: AweRun, http: Http, tmp_path: Path
) -> None:
    result = awe("submit", str(write_script(tmp_path, name="first")))
    assert result.returncode == 0, result.stderr
    listed = http.call("GET", "/job")["data"]
    assert len(listed) == 1
    job = listed[0]
    assert job["info"]["name"] == "first"
    assert f"submitted job {job['id']} (jid {job['jid']}) first: 2 tasks" in result.stdout


def test_submit_quiet_reads_stdin_and_prints_only_the_id(awe: AweRun, http: Http) -> None:
    result = awe("submit", "-q", "-", stdin=json.dumps(job_script(name="piped")))
    assert result.returncode == 0, result.stderr
    job_id = result.stdout.strip()
    assert http.job(job_id)["info"]["name"] == "piped"


def test_submit_of_an_invalid_script_shows_the_servers_reason(
    awe: AweRun, http: Http, tmp_path: Path
) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text('{"info": {"name": "x"}, "tasks": []}')
    result = awe("submit", str(bad))
    assert result.returncode == 1
    assert "error (HTTP 400)" in result.stderr
    assert "task list empty" in result.stderr
    assert http.call("GET", "/job")["total_count"] == 0


def test_jobs_filters_by_project_and_state(awe: AweRun, http: Http) -> None:
    soil = [http.submit(job_script(name=f"soil-{i}", project="soil"))["id"] for i in range(3)]
    water = http.submit(job_script(name="water-0", project="water"))["id"]
    http.data("PUT", f"/job/{soil[0]}?suspend")

    result = awe("jobs", "--project", "soil")
    assert result.returncode == 0, result.stderr
    rows = [line for line in result.stdout.splitlines() if line.split()[:1] in ([j] for j in soil)]
    assert len(rows) == 3
    assert water not in result.stdout
    assert "showing 1-3 of 3" in result.stdout

    suspended = awe("jobs", "--project", "soil", "--state", "suspend", "--json")
    assert [job["id"] for job in json.loads(suspended.stdout)] == [soil[0]]
    both = awe("jobs", "--state", "suspend", "--state", "queued", "--json")
    assert {job["id"] for job in json.loads(both.stdout)} == {*soil, water}


def test_jobs_table_row_shows_tasks_done_and_state(awe: AweRun, http: Http) -> None:
    job_id = http.submit(job_script(name="rowcheck", project="rows"))["id"]
    Worker(http).run_one()
    result = awe("jobs", "--user", "ana", "--pipeline", "smoke")
    row = next(line for line in result.stdout.splitlines() if line.startswith(job_id))
    cells = row.split()
    assert cells[1:7] == [http.job(job_id)["jid"], "rowcheck", "rows", "ana", "in-progress", "1/2"]


def test_jobs_pages_with_limit_offset_and_order(awe: AweRun, http: Http) -> None:
    ids = [http.submit(job_script(name=f"job-{i}"))["id"] for i in range(5)]
    first = awe("jobs", "--limit", "2", "--order", "info.submittime", "--asc", "--json")
    assert [job["id"] for job in json.loads(first.stdout)] == ids[:2]
    page = awe("jobs", "--limit", "2", "--offset", "2", "--order", "info.submittime", "--asc")
    assert page.returncode == 0, page.stderr
    shown = [line.split()[0] for line in page.stdout.splitlines()[1:-1]]
    assert shown == ids[2:4]
    assert page.stdout.rstrip().endswith("showing 3-4 of 5")
    newest = awe("jobs", "--limit", "1", "--order", "info.submittime", "--json")
    assert [job["id"] for job in json.loads(newest.stdout)] == [ids[-1]]


def test_jobs_on_an_empty_server_says_so(awe: AweRun) -> None:
    result = awe("jobs")
    assert result.returncode == 0
    assert result.stdout.strip() == "no jobs"


def test_show_prints_the_header_and_one_row_per_task(awe: AweRun, http: Http) -> None:
    job_id = http.submit(job_script(name="showme", project="p1", priority=4))["id"]
    worker = Worker(http, name="showworker")
    worker.run_one()
    result = awe("show", job_id)
    assert result.returncode == 0, result.stderr
    header = dict(
        line.split(None, 1) for line in result.stdout.splitlines()[:14] if len(line.split()) > 1
    )
    assert header["name"].strip() == "showme"
    assert header["project"].strip() == "p1"
    assert header["state"].strip() == "in-progress"
    assert header["priority"].strip() == "4"
    task_rows = {line.split()[0]: line.split() for line in result.stdout.splitlines()[-2:]}
    assert task_rows["0"][1:5] == ["uname", "-a", "completed", "1/1"]
    assert task_rows["1"][1:5] == ["wc", "-l", "queued", "0/2"]
    assert task_rows["1"][-1] == "0"  # dependsOn, as the user wrote it
    assert "2 queued" in result.stdout
    as_json = json.loads(awe("show", job_id, "--json").stdout)
    assert as_json["id"] == job_id and len(as_json["tasks"]) == 2


def test_show_of_a_wrong_job_id_is_a_clear_error(awe: AweRun) -> None:
    result = awe("show", "no-such-job")
    assert result.returncode == 1
    assert "error (HTTP 400): job not found:no-such-job" in result.stderr
    assert result.stdout == ""


def test_suspend_then_resume_changes_the_state(awe: AweRun, http: Http) -> None:
    job_id = http.submit(job_script())["id"]
    suspended = awe("suspend", job_id)
    assert suspended.returncode == 0, suspended.stderr
    assert suspended.stdout.strip() == f"job suspended: {job_id}"
    assert http.job(job_id)["state"] == "suspend"
    listed = json.loads(awe("jobs", "--suspended", "--json").stdout)
    assert [job["id"] for job in listed] == [job_id]

    resumed = awe("resume", job_id)
    assert resumed.returncode == 0, resumed.stderr
    assert resumed.stdout.strip() == f"job resumed: {job_id}"
    assert http.job(job_id)["state"] in ("queued", "in-progress")
    assert json.loads(awe("jobs", "--suspended", "--json").stdout) == []


def test_recompute_of_a_running_job_is_refused_with_the_servers_message(
    awe: AweRun, http: Http
) -> None:
    job_id = http.submit(job_script())["id"]
    expected = http.call("PUT", f"/job/{job_id}?recompute=0")["error"][0]
    result = awe("recompute", job_id, "0")
    assert result.returncode == 1
    assert f"error (HTTP 400): {expected}" in result.stderr
    assert http.job(job_id)["state"] == "queued"


def test_operation_on_a_missing_job_exits_1_with_not_found(awe: AweRun) -> None:
    result = awe("suspend", "missing-job")
    assert result.returncode == 1
    assert "error (HTTP 404): Not Found" in result.stderr
    assert "PUT /job/missing-job?suspend" in result.stderr


def test_priority_and_clientgroup_print_the_servers_answer(awe: AweRun, http: Http) -> None:
    job_id = http.submit(job_script())["id"]
    assert awe("priority", job_id, "7").stdout.strip() == f"job priority updated: {job_id} to 7"
    answer = awe("clientgroup", job_id, "bigmem,default").stdout.strip()
    assert answer == f"job group updated: {job_id} to bigmem,default"
    info = http.job(job_id)["info"]
    assert (info["priority"], info["clientgroups"]) == (7, "bigmem,default")


def test_resume_all_and_delete_suspended(awe: AweRun, http: Http) -> None:
    ids = [http.submit(job_script(name=f"j{i}"))["id"] for i in range(3)]
    for job_id in ids:
        http.data("PUT", f"/job/{job_id}?suspend")
    assert awe("resume", "--all").stdout.strip() == "3 suspended jobs resumed"
    http.data("PUT", f"/job/{ids[0]}?suspend")
    assert awe("delete", "--suspended").stdout.strip() == "deleted 1 suspended jobs"
    assert [http.job(j)["state"] for j in ids][0] == "deleted"
    assert awe("delete", ids[1]).stdout.strip() == f"job deleted: {ids[1]}"
    assert awe("delete", "--zombies").stdout.strip() == "deleted 0 zombie jobs"


def test_resume_needs_a_job_or_all(awe: AweRun) -> None:
    result = awe("resume")
    assert result.returncode == 2
    assert "give either a JOB or --all" in result.stderr


def test_recompute_of_a_completed_job_reruns_the_task_and_takes_full_taskids(
    awe: AweRun, http: Http
) -> None:
    job_id = http.submit(job_script())["id"]
    worker = Worker(http)
    for _ in range(3):
        worker.run_one()
    assert http.job(job_id)["state"] == "completed"
    result = awe("recompute", job_id, f"{job_id}_1")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"job recompute started: {job_id}"
    tasks = http.job(job_id)["tasks"]
    assert [t["state"] for t in tasks] == ["completed", "queued"]


def test_resubmit_of_a_job_in_the_queue_is_refused(awe: AweRun, http: Http) -> None:
    job_id = http.submit(job_script())["id"]
    expected = http.call("PUT", f"/job/{job_id}?resubmit")["error"][0]
    result = awe("resubmit", job_id)
    assert result.returncode == 1
    assert f"error (HTTP 400): {expected}" in result.stderr


def test_submit_with_a_datatoken_marks_the_job_as_authorised(
    awe: AweRun, http: Http, tmp_path: Path
) -> None:
    result = awe("submit", "-q", "--datatoken", "tok-123", str(write_script(tmp_path)))
    assert result.returncode == 0, result.stderr
    job = http.job(result.stdout.strip())
    assert job["info"]["auth"] is True
    assert "tok-123" not in json.dumps(job)


def test_jobs_refuses_an_unknown_state(awe: AweRun) -> None:
    result = awe("jobs", "--state", "queued,bogus")
    assert result.returncode == 2
    assert "unknown state 'bogus'" in result.stderr
    assert "in-progress" in result.stderr  # and says which states there are


def test_show_after_a_recompute_names_tasks_as_the_user_does(awe: AweRun, http: Http) -> None:
    job = http.submit(job_script())
    worker = Worker(http)
    for _ in range(3):
        worker.run_one()
    http.data("PUT", f"/job/{job['id']}?recompute=1")
    shown = awe("show", job["id"])
    assert "recomputed from task 1" in shown.stdout
    assert f"{job['id']}_1" not in shown.stdout


def test_show_history_prints_the_transitions_or_says_there_are_none(
    awe: AweRun, http: Http
) -> None:
    job = http.submit(job_script())
    shown = awe("show", job["id"], "--history")
    assert shown.returncode == 0, shown.stderr
    served = http.data("GET", f"/job/{job['id']}?history")
    if isinstance(served, dict):
        served = served.get("history")
    if isinstance(served, list):
        assert "history" in shown.stdout and "queued" in shown.stdout.split("history", 1)[1]
    else:
        assert "history: this server does not provide it" in shown.stdout
