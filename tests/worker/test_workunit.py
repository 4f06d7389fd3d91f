"""One workunit end to end on the worker side: work dir, staging, command, outputs, outcome."""

from __future__ import annotations

import json
import os
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from awe.model.shares import line_share
from awe.shock import ShockClient
from awe.worker.client import ServerApi, make_pool
from awe.worker.config import WorkerConfig
from awe.worker.outcome import Outcome
from awe.worker.workunit import Services, Workunit, workdir_for
from tests.worker.fake_awe import FakeAwe
from tests.worker.helpers import FileServer, wait_for, workunit_doc
from tests.worker.shock_fixture import ShockFixture

PY = sys.executable


@pytest.fixture
def run_workunit(make_config: Callable[..., WorkerConfig], fake_awe: FakeAwe) -> Callable[..., Any]:
    """Execute a workunit doc as client `c1` of the fake server; returns (outcome, workunit)."""

    def run(doc: dict[str, Any], **config: Any) -> tuple[Outcome, Workunit]:
        fake_awe.held[doc["wuid"]] = "c1"
        workunit = make_workunit(doc, make_config(**config), fake_awe)
        return workunit.execute(), workunit

    return run


def make_workunit(doc: dict[str, Any], config: WorkerConfig, fake_awe: FakeAwe) -> Workunit:
    http = make_pool(1)
    services = Services(
        config, ServerApi(fake_awe.url, http), http, ShockClient(http, 10.0, 0.05), lambda: "c1"
    )
    return Workunit(doc, services, time.time())


def py(code: str) -> str:
    """cmd.args running a Python snippet (single quotes group it into one argument)."""
    assert "'" not in code
    return f"-c '{code}'"


def test_work_dirs_are_laid_out_by_wuid_prefix(tmp_path: Path) -> None:
    assert workdir_for(tmp_path, "abcdefgh_1_0") == tmp_path / "ab" / "cd" / "ef" / "abcdefgh_1_0"


def test_an_old_work_dir_is_replaced(run_workunit: Callable[..., Any], tmp_path: Path) -> None:
    doc = workunit_doc("true")
    old = workdir_for(tmp_path / "work", doc["wuid"])
    old.mkdir(parents=True)
    (old / "stale").write_text("old")
    outcome, _ = run_workunit(doc)
    assert outcome.status == "done"
    assert not (old / "stale").exists()


def test_inputs_command_and_outputs(
    run_workunit: Callable[..., Any], file_server: FileServer, tmp_path: Path
) -> None:
    file_server.files["/a.txt"] = b"alpha\n"
    shared = tmp_path / "shared.txt"
    shared.write_bytes(b"beta\n")
    dest = tmp_path / "datastore" / "out.txt"
    code = (
        "import sys, os; a, b = sys.argv[1:3];"
        'open("out.txt", "w").write(open(a).read() + open(b).read() + os.environ["AWE_TASK"]);'
        'print("hello from", os.environ["AWE_WORKUNIT"])'
    )
    doc = workunit_doc(
        PY,
        py(code) + " @a.txt @b.txt",
        task="7",
        inputs=[
            {"filename": "a.txt", "url": file_server.url("/a.txt")},
            {"filename": "b.txt", "url": shared.as_uri()},
        ],
        outputs=[{"filename": "out.txt", "url": dest.as_uri()}],
    )
    outcome, wu = run_workunit(doc)
    assert outcome.status == "done", outcome.notes
    assert dest.read_bytes() == b"alpha\nbeta\n7"
    assert (wu.workdir / "awe_stdout.txt").read_text() == f"hello from {doc['wuid']}\n"
    assert outcome.outputs == [
        {"filename": "out.txt", "node": "-", "url": dest.as_uri(), "size": 12}
    ]
    perf = outcome.perf or {}
    assert perf["size_infile"] == 11 and perf["size_outfile"] == 12 and perf["client_id"] == "c1"
    for key in (
        "checkout",
        "deliver",
        "clientresp",
        "time_predata_in",
        "time_data_in",
        "time_data_out",
        "runtime",
        "max_mem_usage",
    ):
        assert key in perf
    assert perf["max_mem_usage"] > 0


def test_the_command_environment(run_workunit: Callable[..., Any], fake_awe: FakeAwe) -> None:
    code = "import os, json; print(json.dumps(dict(os.environ)))"
    doc = workunit_doc(PY, py(code), task="2", rank=2, totalwork=3)
    doc["cmd"]["environ"] = {"public": {"THREADS": "8"}}
    doc["cmd"]["has_private_env"] = True
    fake_awe.privateenvs[doc["wuid"]] = {"LICENSE_KEY": "xyz"}
    outcome, wu = run_workunit(doc)
    assert outcome.status == "done", outcome.notes
    env = json.loads((wu.workdir / "awe_stdout.txt").read_text())
    job = doc["wuid"].split("_")[0]
    expected = {
        "THREADS": "8", "LICENSE_KEY": "xyz", "AWE_WORKUNIT": doc["wuid"], "AWE_JOB": job,
        "AWE_TASK": "2", "AWE_RANK": "2", "AWE_TOTALWORK": "3",
    }  # fmt: skip
    assert {k: env.get(k) for k in expected} == expected
    assert "PATH" in env  # the worker's environment underneath
    assert "LICENSE_KEY" not in os.environ and "THREADS" not in os.environ


def test_userattr_of_job_and_task_are_merged(run_workunit: Callable[..., Any]) -> None:
    doc = workunit_doc("true", userattr={"b": "task", "c": "3"})
    doc["info"]["userattr"] = {"a": "1", "b": "job"}
    _, wu = run_workunit(doc)
    assert json.loads((wu.workdir / "userattr.json").read_text()) == {
        "a": "1",
        "b": "task",
        "c": "3",
    }


def test_a_missing_output_fails(run_workunit: Callable[..., Any], tmp_path: Path) -> None:
    doc = workunit_doc(
        "true", outputs=[{"filename": "never.txt", "url": (tmp_path / "x").as_uri()}]
    )
    outcome, wu = run_workunit(doc)
    assert outcome.status == "fail"
    assert outcome.notes == f"output never.txt not generated for workunit {doc['wuid']}"
    assert (
        f"###[outputs]output never.txt not generated for workunit {doc['wuid']}"
        in (wu.workdir / "awe_worknotes.txt").read_text()
    )
    assert not (tmp_path / "x").exists()


def test_an_empty_nonzero_output_fails(run_workunit: Callable[..., Any], tmp_path: Path) -> None:
    out = {"filename": "e.txt", "url": (tmp_path / "e").as_uri(), "nonzero": True}
    outcome, _ = run_workunit(workunit_doc("touch", "e.txt", outputs=[out]))
    assert outcome.status == "fail" and "e.txt is empty" in outcome.notes
    out["nonzero"] = False
    outcome, _ = run_workunit(workunit_doc("touch", "e.txt", outputs=[out]))
    assert outcome.status == "done" and (tmp_path / "e").read_bytes() == b""


def test_directory_and_shockfilename_name_the_output(
    run_workunit: Callable[..., Any], shock: ShockFixture
) -> None:
    node = shock.add_parts_node(0)
    out = {
        "filename": "r.txt",
        "directory": "sub",
        "shockfilename": "final.txt",
        "host": shock.url,
        "node": node,
    }
    doc = workunit_doc(
        PY, py('import os; os.mkdir("sub"); open("sub/r.txt", "w").write("R")'), outputs=[out]
    )
    outcome, wu = run_workunit(doc)
    assert outcome.status == "done", outcome.notes
    assert shock.data(node) == b"R" and shock.nodes[node].name == "final.txt"
    assert (wu.workdir / "sub" / "final.txt").exists()


def test_a_failing_command_fails_with_the_stderr_tail(run_workunit: Callable[..., Any]) -> None:
    code = 'import sys; print("bad input on line 3", file=sys.stderr); sys.exit(2)'
    outcome, wu = run_workunit(workunit_doc(PY, py(code)))
    assert outcome.status == "fail"
    assert outcome.notes.startswith(f"command {PY} exited with status 2")
    assert "bad input on line 3" in outcome.notes
    assert "###[run]" in (wu.workdir / "awe_worknotes.txt").read_text()


def test_an_unknown_command_fails(run_workunit: Callable[..., Any]) -> None:
    outcome, _ = run_workunit(workunit_doc("no-such-awe-tool"))
    assert (
        outcome.status == "fail" and "command not found in PATH: no-such-awe-tool" in outcome.notes
    )


def test_the_data_token_is_fetched_and_sent_to_shock(
    run_workunit: Callable[..., Any], shock: ShockFixture, fake_awe: FakeAwe
) -> None:
    node = shock.add_node(b"secret data")
    doc = workunit_doc("cat", "@in", inputs=[{"filename": "in", "host": shock.url, "node": node}])
    doc["info"]["auth"] = True
    fake_awe.datatokens[doc["wuid"]] = "tok-1"
    outcome, wu = run_workunit(doc)
    assert outcome.status == "done", outcome.notes
    assert shock.auth_seen == ["OAuth tok-1"]
    assert (wu.workdir / "awe_stdout.txt").read_bytes() == b"secret data"


def test_no_data_token_means_fail_not_drop(
    make_config: Callable[..., WorkerConfig], fake_awe: FakeAwe
) -> None:
    doc = workunit_doc("true")
    doc["info"]["auth"] = True  # the fake server does not think c1 holds it: it refuses
    outcome = make_workunit(doc, make_config(), fake_awe).execute()
    assert outcome.status == "fail"
    assert "cannot get the datatoken" in outcome.notes


def test_a_split_input_keeps_only_this_ranks_lines(
    run_workunit: Callable[..., Any], file_server: FileServer
) -> None:
    data = b"".join(f"read{i}\n".encode() for i in range(100))
    file_server.files["/reads"] = data
    seen = []
    for rank in (1, 2, 3):
        part = {"input": "reads", "index": "line", "rank": rank, "totalwork": 3}
        doc = workunit_doc(
            "cat",
            "@reads",
            rank=rank,
            totalwork=3,
            part=part,
            inputs=[{"filename": "reads", "url": file_server.url("/reads")}],
        )
        outcome, wu = run_workunit(doc)
        assert outcome.status == "done"
        seen.append((wu.workdir / "awe_stdout.txt").read_bytes())
        assert seen[-1] == line_share(data, rank, 3)
    assert b"".join(seen) == data


def test_a_discard_kills_the_running_command(
    make_config: Callable[..., WorkerConfig], fake_awe: FakeAwe
) -> None:
    doc = workunit_doc("sleep", "30")
    wu = make_workunit(doc, make_config(), fake_awe)
    outcomes: list[Outcome] = []
    thread = threading.Thread(target=lambda: outcomes.append(wu.execute()))
    started = time.monotonic()
    thread.start()
    wait_for(lambda: wu.running, what="command running")
    wu.discard("discarded by the server")
    thread.join(10)
    assert outcomes[0].status == "discarded"
    assert time.monotonic() - started < 10
    assert "###[discard]discarded by the server" in (wu.workdir / "awe_worknotes.txt").read_text()


def test_report_parts_follow_status_and_capture(tmp_path: Path) -> None:
    (tmp_path / "awe_stdout.txt").write_text("out")
    (tmp_path / "awe_stderr.txt").write_text("")
    done = Outcome("done", 3, tmp_path, perf={"runtime": 3}, outputs=[{"filename": "f"}])
    assert set(done.report_parts("w", True)) == {"perf", "stdout", "outputs"}
    assert set(done.report_parts("w", False)) == {"perf", "outputs"}
    assert done.report_parts("w", True)["perf"][0] == "w.perf"
    failed = Outcome("fail", 0, tmp_path, notes="why")
    assert set(failed.report_parts("w", True)) == {"notes", "stdout"}
    assert set(failed.report_parts("w", True, logs=False)) == {"notes"}


@pytest.mark.parametrize("name", ["../escape.txt", "/etc/passwd", "sub/../../x", "."])
def test_file_names_cannot_leave_the_work_dir(
    run_workunit: Callable[..., Any], file_server: FileServer, tmp_path: Path, name: str
) -> None:
    file_server.files["/x"] = b"x"
    doc = workunit_doc("true", inputs=[{"filename": name, "url": file_server.url("/x")}])
    outcome, _ = run_workunit(doc)
    assert outcome.status == "fail" and "leads out of the work dir" in outcome.notes
    assert not (tmp_path / "work" / "escape.txt").exists()


def test_an_unsafe_work_id_fails_without_touching_the_disk(
    run_workunit: Callable[..., Any], tmp_path: Path
) -> None:
    with pytest.raises(ValueError):
        workdir_for(tmp_path, "../../etc_0_0")
    outcome, _ = run_workunit(workunit_doc("true", wuid="../../x_0_0"))
    assert outcome.status == "fail" and "invalid work id" in outcome.notes
    assert not (tmp_path / "work" / "..").resolve().joinpath("x_0_0").exists()
