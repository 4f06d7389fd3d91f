"""The worker's loops against a scripted server: register, heartbeat, checkout, report, stop."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from awe.worker.config import WorkerConfig
from awe.worker.loop import Worker
from awe.worker.outcome import Outcome
from awe.worker.workunit import workdir_for
from tests.worker.fake_awe import FakeAwe
from tests.worker.helpers import wait_for, workunit_doc
from tests.worker.httpthread import free_port

# A command that runs until a file named `go` appears in its work dir.
WAIT_FOR_GO = "-c 'import os, time\nwhile not os.path.exists(\"go\"): time.sleep(0.02)'"


class Running:
    def __init__(self, worker: Worker) -> None:
        self.worker = worker
        self.exit_codes: list[int] = []
        self.thread = threading.Thread(target=lambda: self.exit_codes.append(worker.run()))
        self.thread.start()

    def wait_exit(self, timeout: float = 15.0) -> int:
        self.thread.join(timeout)
        assert not self.thread.is_alive(), "worker did not exit"
        return self.exit_codes[0]


@pytest.fixture
def start_worker(
    make_config: Callable[..., WorkerConfig], fake_awe: FakeAwe
) -> Iterator[Callable[..., Running]]:
    started: list[Running] = []

    def start(**config: Any) -> Running:
        running = Running(Worker(make_config(server_url=fake_awe.url, **config)))
        started.append(running)
        wait_for(lambda: running.worker.client_id or running.exit_codes, what="registration")
        return running

    yield start
    for running in started:
        running.worker.request_stop("test over", force=True)
        running.thread.join(15)


def go(worker: Worker, wuid: str) -> None:
    (workdir_for(worker.config.work_path, wuid) / "go").write_text("")


def test_registration_sends_the_profile_and_saves_it(
    start_worker: Callable[..., Running], fake_awe: FakeAwe
) -> None:
    running = start_worker(name="w1", group="g1", apps=["sort", "wc"])
    profile = fake_awe.registrations[0]
    assert {k: profile[k] for k in ("name", "group", "apps", "current_work")} == {
        "name": "w1", "group": "g1", "apps": ["sort", "wc"], "current_work": {},
    }  # fmt: skip
    assert profile["cores"] >= 1 and profile["host"] and profile["version"]
    saved = json.loads((running.worker.config.data_path / "clientprofile.json").read_text())
    assert saved["id"] == running.worker.client_id and saved["name"] == "w1"
    wait_for(lambda: fake_awe.heartbeats >= 2, what="heartbeats")


def test_a_checked_out_workunit_is_run_and_reported_done(
    start_worker: Callable[..., Running], fake_awe: FakeAwe
) -> None:
    running = start_worker()
    doc = workunit_doc("echo", "hi there")
    fake_awe.add_work(doc)
    (report,) = wait_for(lambda: fake_awe.reports_for(doc["wuid"]), what="report")
    assert report.status == "done" and report.client == running.worker.client_id
    assert report.parts["stdout"] == b"hi there\n"
    assert report.json("perf")["client_id"] == running.worker.client_id
    assert report.computetime == "0"
    assert "notes" not in report.parts


def test_slots_run_workunits_at_the_same_time(
    start_worker: Callable[..., Running], fake_awe: FakeAwe
) -> None:
    running = start_worker(slots=2)
    docs = [workunit_doc("python3", WAIT_FOR_GO) for _ in range(2)]
    for doc in docs:
        fake_awe.add_work(doc)
    wait_for(lambda: len(running.worker.held_ids()) == 2, what="two workunits held at once")
    for doc in docs:
        wait_for(lambda d=doc: (workdir_for(running.worker.config.work_path, d["wuid"])).exists())
        go(running.worker, doc["wuid"])
    for doc in docs:
        wait_for(lambda d=doc: fake_awe.reports_for(d["wuid"]), what="report")


def test_an_unknown_client_registers_again_with_its_work(
    start_worker: Callable[..., Running], fake_awe: FakeAwe
) -> None:
    running = start_worker()
    doc = workunit_doc("python3", WAIT_FOR_GO)
    fake_awe.add_work(doc)
    wait_for(lambda: running.worker.held_ids() == [doc["wuid"]])
    first_id = running.worker.client_id
    fake_awe.forget_clients()  # as after a server restart
    wait_for(lambda: len(fake_awe.registrations) >= 2, what="re-registration")
    again = fake_awe.registrations[1]
    assert again["id"] == first_id
    assert again["current_work"] == {doc["wuid"]: True}
    go(running.worker, doc["wuid"])
    (report,) = wait_for(lambda: fake_awe.reports_for(doc["wuid"]))
    assert report.status == "done" and report.client == first_id


def test_a_heartbeat_discard_kills_the_command_and_reports_discarded(
    start_worker: Callable[..., Running], fake_awe: FakeAwe
) -> None:
    running = start_worker()
    doc = workunit_doc("sleep", "60")
    fake_awe.add_work(doc)
    wait_for(lambda: any(w.running for w in running.worker._held.values()), what="command running")
    fake_awe.instructions = {"discard": f"other_0_0,{doc['wuid']}"}
    (report,) = wait_for(lambda: fake_awe.reports_for(doc["wuid"]), what="discard report")
    assert report.status == "discarded"
    assert b"discarded by the server" in report.parts["worknotes"]


def test_a_heartbeat_stop_ends_the_worker(
    start_worker: Callable[..., Running], fake_awe: FakeAwe
) -> None:
    running = start_worker(shutdown_grace_s=30.0)
    doc = workunit_doc("sleep", "60")
    fake_awe.add_work(doc)
    wait_for(lambda: any(w.running for w in running.worker._held.values()), what="command running")
    fake_awe.instructions = {"stop": running.worker.client_id}
    assert running.wait_exit() == 0
    assert [r.status for r in fake_awe.reports_for(doc["wuid"])] == ["discarded"]


def test_client_deleted_on_checkout_exits_with_1(
    start_worker: Callable[..., Running], fake_awe: FakeAwe
) -> None:
    fake_awe.checkout_errors = ["Client deleted"]
    running = start_worker()
    assert running.wait_exit() == 1


def test_a_suspended_client_waits_then_checks_out_again(
    start_worker: Callable[..., Running], fake_awe: FakeAwe
) -> None:
    fake_awe.checkout_errors = ["Client suspended", "Server queue is suspended", "something odd"]
    start_worker()
    doc = workunit_doc("true")
    fake_awe.add_work(doc)
    wait_for(lambda: fake_awe.reports_for(doc["wuid"]), what="work after the errors")
    assert fake_awe.checkout_errors == []


def test_stop_lets_running_work_finish_within_the_grace(
    start_worker: Callable[..., Running], fake_awe: FakeAwe
) -> None:
    running = start_worker(shutdown_grace_s=30.0)
    doc = workunit_doc("python3", WAIT_FOR_GO)
    fake_awe.add_work(doc)
    wait_for(lambda: any(w.running for w in running.worker._held.values()), what="command running")
    running.worker.request_stop("SIGTERM")
    go(running.worker, doc["wuid"])
    assert running.wait_exit() == 0
    assert [r.status for r in fake_awe.reports_for(doc["wuid"])] == ["done"]
    assert running.worker.finished == [doc["wuid"]] and running.worker.handed_back == []
    assert len(fake_awe.checkouts) == 1


def test_stop_hands_back_work_still_running_after_the_grace(
    start_worker: Callable[..., Running], fake_awe: FakeAwe
) -> None:
    running = start_worker(shutdown_grace_s=0.3)
    doc = workunit_doc("sleep", "60")
    fake_awe.add_work(doc)
    wait_for(lambda: any(w.running for w in running.worker._held.values()), what="command running")
    running.worker.request_stop("SIGTERM")
    assert running.wait_exit() == 0
    assert [r.status for r in fake_awe.reports_for(doc["wuid"])] == ["discarded"]
    assert running.worker.handed_back == [doc["wuid"]]


# ---- report retry ----------------------------------------------------------------------------


def idle_worker(make_config: Callable[..., WorkerConfig], url: str) -> Worker:
    worker = Worker(make_config(server_url=url))
    worker.client_id = "c1"
    worker.profile = {"name": "w", "group": "default", "id": "c1", "current_work": {}}
    worker.config.data_path.mkdir(parents=True, exist_ok=True)
    return worker


def test_a_report_is_retried_until_the_server_takes_it(
    make_config: Callable[..., WorkerConfig], fake_awe: FakeAwe, tmp_path: Path
) -> None:
    fake_awe.clients["c1"] = {"id": "c1"}
    fake_awe.report_failures = 3
    worker = idle_worker(make_config, fake_awe.url)
    started = time.monotonic()
    assert worker.send_report("j_0_0", Outcome("done", 1, tmp_path, perf={}))
    assert time.monotonic() - started >= 0.05 + 0.1 + 0.2  # backoff doubles up to max_s
    assert fake_awe.report_attempts == 4
    assert [r.status for r in fake_awe.reports_for("j_0_0")] == ["done"]


def test_a_report_waits_for_a_server_that_is_down(
    make_config: Callable[..., WorkerConfig], tmp_path: Path
) -> None:
    port = free_port()
    worker = idle_worker(make_config, f"http://127.0.0.1:{port}")
    sent: list[bool] = []
    thread = threading.Thread(
        target=lambda: sent.append(
            worker.send_report("j_0_0", Outcome("fail", 0, tmp_path, notes="x"))
        )
    )
    thread.start()
    thread.join(0.5)
    assert thread.is_alive()  # still retrying against a refused port
    awe = FakeAwe().start(port=port)  # comes up knowing no client: re-registration, then report
    try:
        thread.join(10)
        assert sent == [True]
        assert awe.registrations[0]["id"] == "c1"
        assert [r.status for r in awe.reports_for("j_0_0")] == ["fail"]
        assert awe.reports_for("j_0_0")[0].parts["notes"] == b"x"
    finally:
        awe.stop()


def test_a_refused_report_is_not_retried(
    make_config: Callable[..., WorkerConfig], fake_awe: FakeAwe, tmp_path: Path
) -> None:
    fake_awe.report_refusal = "invalid work id: j"
    worker = idle_worker(make_config, fake_awe.url)
    assert worker.send_report("j", Outcome("done", 0, tmp_path))
    assert fake_awe.report_attempts == 1


def test_an_idle_worker_polls_again_at_once_after_a_long_poll(
    start_worker: Callable[..., Running], fake_awe: FakeAwe
) -> None:
    # idle_s is long: only the long poll (wait=1) paces the checkouts.
    start_worker(checkout_wait_s=1.0, backoff={"idle_s": 60.0})
    wait_for(lambda: fake_awe.polls >= 3, timeout=10, what="three long polls in a row")
    doc = workunit_doc("true")
    fake_awe.add_work(doc)
    wait_for(lambda: fake_awe.reports_for(doc["wuid"]), timeout=5, what="work picked up")


def test_without_long_poll_an_idle_worker_sleeps_idle_s(
    start_worker: Callable[..., Running], fake_awe: FakeAwe
) -> None:
    start_worker(checkout_wait_s=0.0, backoff={"idle_s": 60.0})
    wait_for(lambda: fake_awe.polls >= 1)
    wait_for(lambda: fake_awe.heartbeats >= 3, what="time passing: three heartbeats")
    assert fake_awe.polls == 1  # asleep for idle_s, not polling


def test_a_report_is_kept_when_re_registration_fails_at_first(
    make_config: Callable[..., WorkerConfig], fake_awe: FakeAwe, tmp_path: Path
) -> None:
    # the server lost the client; the first re-registration attempt fails: the report must
    # still go out once registration works, not be counted as answered
    worker = idle_worker(make_config, fake_awe.url)
    fake_awe.registration_failures = 1
    assert worker.send_report("j_0_0", Outcome("done", 1, tmp_path, perf={}))
    assert len(fake_awe.registrations) == 1
    assert [r.status for r in fake_awe.reports_for("j_0_0")] == ["done"]


def test_a_malformed_workunit_is_reported_failed_not_dropped(
    start_worker: Callable[..., Running], fake_awe: FakeAwe
) -> None:
    start_worker()
    doc = {**workunit_doc("true"), "rank": "first"}
    fake_awe.add_work(doc)
    wait_for(lambda: fake_awe.reports_for(doc["wuid"]), timeout=10, what="the report")
    (report,) = fake_awe.reports_for(doc["wuid"])
    assert report.status == "fail"
