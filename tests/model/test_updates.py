"""Outputs of `type: update`: checked at submit, given their origin's node when enqueued."""

from __future__ import annotations

import json
from typing import Any

import pytest

from awe.model import lifecycle as lc
from awe.model import operations as ops
from awe.model import updates
from awe.model.compat import parse_submission
from awe.model.job import Job, JobState
from awe.model.jobscript import JobScriptError
from awe.model.lifecycle import Settings
from tests.http.compat_scripts import mgrast_like
from tests.model.scripts import JOB_ID, SHOCK, SUBMIT

RAW = "11111111-2222-4333-8444-555555555555"
NODES = {"0": "node-qc", "1": "node-passed", "2": "node-coding", "3": "node-stats"}
T = "2024-05-01T10:05:00.000000Z"
SETTINGS = Settings()  # no Shock calls: each worker reports the node it made


def parse(script: dict[str, Any]) -> Job:
    return parse_submission(json.dumps(script), job_id=JOB_ID, now=SUBMIT)


def update_outputs(job: Job, taskid: str) -> dict[str, dict[str, Any]]:
    task = job.task(f"{JOB_ID}_{taskid}")
    assert task is not None
    return {out["filename"]: out for out in task.outputs if updates.is_update(out)}


def finish(job: Job, taskid: str) -> None:
    """Task `taskid` runs on c1; the worker reports the node it made for each output."""
    wuid = f"{JOB_ID}_{taskid}_0"
    task = job.task(f"{JOB_ID}_{taskid}")
    assert task is not None and lc.checkout(job, wuid, "c1", T)
    delivered = [{"filename": o["filename"], "node": NODES[taskid]} for o in task.outputs
                 if not updates.is_update(o)]  # fmt: skip
    applied, _ = lc.report(job, wuid, "c1", "done", computetime=1, notes="", now=T,
                           settings=SETTINGS, delivered=delivered)  # fmt: skip
    assert applied


def test_the_mgrast_shape_passes_submit() -> None:
    job = parse(mgrast_like(SHOCK, RAW))
    assert set(update_outputs(job, "3")) == {
        "mgm4711.3.100.preprocess.passed.fna",
        "mgm4711.3.350.genecalling.coding.faa",
    }


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda o: o.pop("origin"), "is missing required origin"),
        (lambda o: o.update(origin="9"), "origin task 9 is not upstream of it"),
        (lambda o: o.update(origin="0"), "origin task 0 has no output named"),
    ],
)
def test_an_update_output_that_can_never_find_its_node_is_refused(change, message) -> None:
    script = mgrast_like(SHOCK, RAW)
    change(script["tasks"][3]["outputs"]["mgm4711.3.350.genecalling.coding.faa"])
    with pytest.raises(JobScriptError, match=message):
        parse(script)


def test_the_done_stage_gets_the_nodes_of_the_tasks_that_made_the_files() -> None:
    job = parse(mgrast_like(SHOCK, RAW))
    lc.admit(job, T, SETTINGS)
    for taskid in ("0", "1", "2"):
        assert all(o["node"] == "-" for o in update_outputs(job, "3").values())
        finish(job, taskid)
    outs = update_outputs(job, "3")
    passed, coding = (
        outs["mgm4711.3.100.preprocess.passed.fna"],
        outs["mgm4711.3.350.genecalling.coding.faa"],
    )
    assert (passed["node"], coding["node"]) == ("node-passed", "node-coding")
    assert coding["url"] == f"{SHOCK}/node/node-coding?download"
    task = job.task(f"{JOB_ID}_3")
    assert task is not None
    view = lc.workunit_view(job, task, task.unit(0))  # what the worker receives
    assert {o["filename"]: o["node"] for o in view["outputs"] if o.get("type") == "update"} == {
        "mgm4711.3.100.preprocess.passed.fna": "node-passed",
        "mgm4711.3.350.genecalling.coding.faa": "node-coding",
    }


def test_locate_names_the_origin_whose_node_is_unknown() -> None:
    job = parse(mgrast_like(SHOCK, RAW))
    done = job.task(f"{JOB_ID}_3")
    assert done is not None
    assert updates.locate(job, done) == (
        f"failed to locate Node for task {JOB_ID}_3 / update mgm4711.3.100.preprocess.passed.fna "
        f"from task {JOB_ID}_1"
    )


def test_enqueueing_suspends_the_job_when_the_node_cannot_be_located() -> None:
    job = parse(mgrast_like(SHOCK, RAW))
    lc.admit(job, T, SETTINGS)
    finish(job, "0")
    finish(job, "1")
    producer = job.task(f"{JOB_ID}_2")
    assert producer is not None
    wuid = f"{JOB_ID}_2_0"
    assert lc.checkout(job, wuid, "c1", T)
    lc.report(
        job, wuid, "c1", "done", computetime=1, notes="", now=T, settings=SETTINGS, delivered=[]
    )  # fmt: skip  -- the worker named no node for its output
    assert job.state == JobState.SUSPEND
    assert job.notes.startswith(f"failed enqueuing task {JOB_ID}_3, err=failed to locate Node")
    assert job.lastfailed == f"{JOB_ID}_3"


def test_recompute_finds_the_nodes_again() -> None:
    job = parse(mgrast_like(SHOCK, RAW))
    lc.admit(job, T, SETTINGS)
    for taskid in ("0", "1", "2", "3"):
        finish(job, taskid)
    assert job.state == JobState.COMPLETED
    ops.recompute(job, "3", T, SETTINGS)  # its origins kept their nodes: found again at once
    assert update_outputs(job, "3")["mgm4711.3.350.genecalling.coding.faa"]["node"] == "node-coding"
    finish(job, "3")
    ops.recompute(job, "2", T, SETTINGS)  # task 2 makes a new node: task 3 waits for it
    assert update_outputs(job, "3")["mgm4711.3.350.genecalling.coding.faa"]["node"] == "-"
