"""Who may read and write a job's datastore files (issue 10 item 4, issue 13)."""

from __future__ import annotations

import pytest

from awe.errors import AweError, Unauthorized
from awe.model import lifecycle as lc
from awe.model.data_access import DataAsk, Grant, decide
from awe.model.lifecycle import Settings
from tests.model.scripts import parse, script, task, wid

SETTINGS = Settings(max_work_failure=3, datastore_url="http://awe:8001/data")
T1, T2 = "2024-05-01T10:01:00.000000Z", "2024-05-01T10:02:00.000000Z"
ACL = {"owner": "ana", "read": ["ana"], "write": ["ana"], "delete": ["ana"]}


def running_job(**extra):
    """Task 0 (one workunit) and task 1 (split in 3), both with a datastore output."""
    job = parse(script(task("0"), task("1", "0", totalwork=3)))
    job.acl = dict(ACL)
    lc.admit(job, T1, SETTINGS)
    assert lc.checkout(job, wid("0"), "w1", T2)
    return job


def ask(op="write", **kw) -> DataAsk:
    return DataAsk(op=op, **kw)


def test_the_lease_holder_may_upload_its_output() -> None:
    job = running_job()
    grant = decide(job, ask(client="w1", task="0", filename="out0"))
    assert grant == Grant("0", "out0", None)


def test_a_split_rank_uploads_its_part() -> None:
    job = running_job()
    lc.report(job, wid("0"), "w1", "done", computetime=1, notes="", now=T2, settings=SETTINGS)
    assert lc.checkout(job, wid("1", 2), "w2", T2)
    assert decide(job, ask(client="w2", task="1", filename="out1", rank=2)) == Grant("1", "out1", 2)


@pytest.mark.parametrize(
    ("request_", "status", "message"),
    [
        (dict(client="w2", task="0", filename="out0"), 401, "User Unauthorized"),
        (dict(client="", task="0", filename="out0"), 400, "requires the client"),
        (dict(client="w1", task="0", filename="other"), 400, "not an output"),
        (dict(client="w1", task="9", filename="out0"), 400, "task 9 not found"),
        (dict(client="w1", task="0", filename="out0", rank=1), 400, "no workunit"),
        (dict(client="w1", task="..", filename="victim/0/out.txt"), 400, "invalid task id"),
        (dict(client="w1", task="0", filename="../x"), 400, "invalid file name"),
        (dict(client="w1", task="0", filename=".."), 400, "invalid file name"),
    ],
)
def test_uploads_are_refused_to_anyone_else_and_under_any_other_name(request_, status, message):
    job = running_job()
    with pytest.raises(AweError, match=message) as caught:
        decide(job, ask(**request_))
    assert caught.value.status == status


def test_a_finished_job_takes_no_more_files() -> None:
    job = running_job()
    job.state = "completed"
    with pytest.raises(AweError, match="takes no more files") as caught:
        decide(job, ask(client="w1", task="0", filename="out0"))
    assert caught.value.status == 409


def test_readers_are_the_acl_and_the_lease_holders() -> None:
    job = running_job()
    assert decide(job, ask("read", user="ana", task="0", filename="out0"))
    assert decide(job, ask("read", user="boss", admin=True, task="0"))
    assert decide(job, ask("read", user="public", anonymous_read=False, client="w1"))
    with pytest.raises(Unauthorized, match="User Unauthorized"):
        decide(job, ask("read", user="bob"))
    with pytest.raises(Unauthorized, match="No Authorization"):
        decide(job, ask("read", user="public", anonymous_read=False))
    with pytest.raises(Unauthorized):
        decide(job, ask("read", user="public", client="w-not-holding"))


def test_an_anonymous_job_is_readable_by_anyone_when_anonymous_read_is_on() -> None:
    job = running_job()
    job.acl = {}
    assert decide(job, ask("read", user="public"))


def test_a_job_readable_by_public_is_readable_by_any_user() -> None:
    job = running_job()
    job.acl = {"owner": "ana", "read": ["public"]}
    assert decide(job, ask("read", user="bob", task="0", filename="out0"))
