"""The answers AWE's own clients read, pure: queue counts and text, workunit order, perf, ids."""

from __future__ import annotations

import base64

import pytest

from awe.errors import AweError
from awe.model import compat
from awe.model import lifecycle as lc
from awe.model.job import TaskState
from awe.model.lifecycle import Settings
from tests.model.scripts import JOB_ID, chain, parse

T = "2024-05-01T10:05:00.000000Z"


def test_a_jobs_overview_counts_tasks_and_workunits_in_the_queue() -> None:
    job = parse(chain(4))
    lc.admit(job, T, Settings(datastore_url="file:///ds"))
    job.tasks[3].state = TaskState.USER_SKIPPED  # not shown, as AWE
    assert lc.checkout(job, f"{JOB_ID}_0_0", "c1", T)
    overview = compat.job_overview(job, workunits=True)
    assert overview["tasks"] == {"total": 3, "queuing": 0, "in-progress": 1, "pending": 2,
                                 "completed": 0, "suspended": 0, "failed": 0}  # fmt: skip
    assert overview["workunits"] == {"queuing": 0, "checkout": 1, "suspended": 0}
    (view,) = overview["views"]
    assert (view["wuid"], view["state"], view["client"]) == (f"{JOB_ID}_0_0", "checkout", "c1")
    assert overview["acl"]["owner"] == "public"


def test_the_status_adds_up_jobs_and_counts_clients_as_awe_does() -> None:
    one = {"tasks": {"total": 2, "queuing": 1, "pending": 1}, "workunits": {"queuing": 1}}
    two = {"tasks": {"total": 1, "suspended": 1}, "workunits": {"suspended": 2, "checkout": 1}}
    clients = [
        {"Status": "active-busy", "current_work": {"w": True}},
        {"Status": "active-idle", "current_work": {}},
        {"Status": "suspend", "current_work": {"x": True}},
    ]
    queue = {"queue_status": "running", "jobs": {"total": 2, "active": 1, "suspended": 1}}
    status = compat.queue_status(queue, [one, two], clients)
    assert status["tasks"] == {"total": 3, "queuing": 1, "in-progress": 0, "pending": 1,
                               "completed": 0, "suspended": 1, "failed": 0}  # fmt: skip
    assert status["workunits"] == {"total": 4, "queuing": 1, "checkout": 1, "suspended": 2}
    assert status["clients"] == {"total": 3, "busy": 1, "idle": 1, "suspended": 1}
    assert status["jobs"] == queue["jobs"]


def test_the_text_is_awes_to_the_character() -> None:
    status = compat.queue_status(
        {"queue_status": "running", "jobs": {"total": 12, "active": 10, "suspended": 2}},
        [{"tasks": {"total": 57, "pending": 9, "completed": 38}, "workunits": {"queuing": 21}}],
        [],
    )
    text = compat.queue_text(status, "2024-05-01T10:05:00.123456Z")
    assert text == (
        "++++++++AWE server queue status++++++++\n"
        "total jobs ............... 12\n"
        "    active:           (10)\n"
        "    suspended:        (2)\n"
        "total tasks .............. 57\n"
        "    queuing:          (0)\n"
        "    in-progress:      (0)\n"
        "    pending:          (9)\n"
        "    completed:        (38)\n"
        "    suspended:        (0)\n"
        "    failed & skipped: (0)\n"
        "total workunits .......... 21\n"
        "    queuing:          (21)\n"
        "    checkout:         (0)\n"
        "    suspended:        (0)\n"
        "total clients ............ 0\n"
        "    busy:             (0)\n"
        "    idle:             (0)\n"
        "    suspend:          (0)\n"
        "---last update: 2024-05-01 10:05:00.123456 +0000 UTC\n\n"
    )


def test_workunits_sort_on_any_field_missing_values_last() -> None:
    views = [
        {"wuid": "b", "rank": 2, "info": {"priority": 1}, "cmd": {"name": "sort"}},
        {"wuid": "a", "rank": 1, "info": {"priority": 5}, "cmd": {"name": "blat"}},
        {"wuid": "c", "rank": 3, "info": {}, "cmd": {"name": "awk"}},
    ]
    assert [v["wuid"] for v in compat.sort_workunits(views, "cmd.name", False)] == ["c", "a", "b"]
    assert [v["wuid"] for v in compat.sort_workunits(views, "rank", True)] == ["c", "b", "a"]
    ascending = compat.sort_workunits(views, "info.priority", False)
    assert [v["wuid"] for v in ascending] == ["b", "a", "c"]
    assert [v["wuid"] for v in compat.sort_workunits(views, "no.such", False)] == ["a", "b", "c"]


def test_perf_is_in_unix_seconds_with_responses_and_file_sizes() -> None:
    doc = {
        "id": "j",
        "info": {"submittime": "2024-05-01T10:00:00.000000Z", "startedtime": "0001-01-01T00:00:00Z",
                 "completedtime": "2024-05-01T10:01:40.000000Z"},
        "tasks": [{"taskid": "j_0", "createddate": "2024-05-01T10:00:10.000000Z",
                   "starteddate": "2024-05-01T10:00:20.000000Z",
                   "completeddate": "0001-01-01T00:00:00Z", "computetime": 3,
                   "inputs": [{"size": 10}, {}], "outputs": [{"size": 7}]}],
    }  # fmt: skip
    perf = compat.perf_doc(doc, {"j_0_0": {"runtime": 3}})
    assert (perf["queued"], perf["start"], perf["end"], perf["resp"]) == (
        1714557600, 0, 1714557700, 100)  # fmt: skip
    assert perf["task_stats"]["j_0"] == {"queued": 1714557610, "start": 1714557620, "end": 0,
                                         "resp": 0, "size_infile": [10, 0], "size_outfile": [7],
                                         "computetime": 3}  # fmt: skip
    assert perf["work_stats"] == {"j_0_0": {"runtime": 3}}


@pytest.mark.parametrize("encode", [base64.b64encode, base64.urlsafe_b64encode])
def test_base64_work_ids_decode_whatever_alphabet(encode) -> None:  # noqa: ANN001
    wuid = "j??_0_1"  # standard base64: "aj8/XzBfMQ==", the URL-safe one has "_" for "/"
    raw = "base64:" + encode(wuid.encode()).decode().rstrip("=")
    assert compat.decode_work_id(raw) == wuid
    assert compat.decode_work_id(wuid) == wuid  # a plain id is left alone


@pytest.mark.parametrize("raw", ["base64:%%%", "base64:/w==", "base64:AAo="])
def test_bad_base64_work_ids_are_400s(raw: str) -> None:
    with pytest.raises(AweError, match="^invalid work id: "):
        compat.decode_work_id(raw)
