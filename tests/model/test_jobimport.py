"""`import`: a finished job's document, checked like a job script and stored as awe stores jobs."""

from __future__ import annotations

import copy
import json
import re
from typing import Any

import pytest

from awe.errors import AweError
from awe.model.job import Job
from awe.model.jobimport import import_document

JOB = "9d3c2b1a-0f1e-4d2c-8b7a-6e5f4d3c2b1a"
NOW = "2024-05-01T10:00:00.000000Z"


def awe_v09_doc() -> dict[str, Any]:
    """A completed job as an AWE v0.9.30 server returns it (Go times, full task ids)."""
    return {
        "id": JOB,
        "info": {"name": "mgm4711.3", "pipeline": "mgrast-prod", "priority": 1,
                 "submittime": "2016-09-01T12:00:00.123456789-05:00",
                 "completedtime": "2016-09-01T14:00:00Z", "datatoken": "leaked?"},
        "tasks": [
            {"taskid": f"{JOB}_0", "cmd": {"name": "awe_qc.pl", "args": "-input=@in.fastq"},
             "dependsOn": [], "state": "completed", "totalwork": 1, "remainwork": 0,
             "inputs": [{"filename": "in.fastq", "host": "http://shock", "node": "n1"}],
             "outputs": [{"filename": "qc.stats", "host": "http://shock", "node": "n2"}],
             "createddate": "2016-09-01T12:00:01.5-05:00",
             "completeddate": "0001-01-01T00:00:00Z"},
            {"taskid": "1", "cmd": {"name": "awe_done.pl", "args": ""}, "dependsOn": ["0"],
             "state": "completed", "totalwork": 1, "remainwork": 0},
        ],
        "state": "completed",
        "remaintasks": 0,
        "expiration": "0001-01-01T00:00:00Z",
        "acl": {"owner": "someone-else"},
    }  # fmt: skip


def imported(doc: dict[str, Any]) -> dict[str, Any]:
    return import_document(json.dumps(doc), owner="ana", now=NOW)


def test_an_awe_document_is_stored_in_awes_form_owned_by_the_importer() -> None:
    stored = imported(awe_v09_doc())
    assert [t["taskid"] for t in stored["tasks"]] == [f"{JOB}_0", f"{JOB}_1"]
    assert stored["tasks"][1]["dependsOn"] == [f"{JOB}_0"]
    assert stored["info"]["submittime"] == "2016-09-01T17:00:00.123456Z"
    assert stored["tasks"][0]["createddate"] == "2016-09-01T17:00:01.500000Z"
    assert stored["tasks"][0]["completeddate"] == "0001-01-01T00:00:00Z"
    assert "datatoken" not in stored["info"]
    assert stored["acl"] == {"owner": "ana", "read": ["ana"], "write": ["ana"], "delete": ["ana"]}
    assert (stored["state"], stored["updatetime"]) == ("completed", NOW)
    assert Job.from_doc(stored).to_doc(workunits=False) == stored  # the model takes it as is


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda d: d.update(tasks=[]), "invalid job document: task list empty"),
        (lambda d: d.update(state="in-progress"), "invalid job import: must be completed"),
        (lambda d: d.pop("info"), "invalid job import: missing job info"),
        (lambda d: d.pop("id"), "invalid job import: missing job id"),
        (lambda d: d.update(id="a_b"), "job id \"a_b\" may contain only"),
        (lambda d: d["tasks"][1].update(taskid="../x"), "taskid \"../x\" may contain only"),
        (lambda d: d["tasks"][0]["inputs"].append({"filename": "in.fastq"}),
         f"invalid inputs: task {JOB}_0 contains multiple inputs with filename=in.fastq"),
        (lambda d: d["tasks"][0]["outputs"][0].update(filename="../../etc/passwd"),
         "outputs filename must be a single path component"),
        (lambda d: d["tasks"][0].update(state="exploded"), "ValueError"),
        (lambda d: d["tasks"][0].update(totalwork="1"), "totalwork is not an integer"),
        (lambda d: d["info"].update(submittime="yesterday"), "info submittime is not an RFC 3339"),
        (lambda d: d["info"].update(priority="high"), "info.priority is not an integer"),
    ],
)  # fmt: skip
def test_what_is_not_a_finished_job_is_refused_in_awes_words(change, message: str) -> None:
    doc = copy.deepcopy(awe_v09_doc())
    change(doc)
    with pytest.raises(AweError, match=re.escape(message)):
        imported(doc)


def test_not_json_is_refused() -> None:
    with pytest.raises(AweError, match=r"^\(CreateJobImport\) error in unmarshaling job json"):
        import_document(b"{not json", owner="ana", now=NOW)
