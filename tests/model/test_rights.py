"""The rights table, cell by cell where it matters most (written by hand, not from the table)."""

from __future__ import annotations

import pytest

from awe.errors import AweError
from awe.model.access import Caller
from awe.model.rights import (
    RIGHTS,
    Policy,
    allowed,
    authorize_holder,
    authorize_job,
    decide,
)
from awe.model.workerauth import WorkerCheck

ANON, A, B, ADMIN = Caller(), Caller("A"), Caller("B"), Caller("root", admin=True)
MULTI = Policy(False, False, False, admins=frozenset({"root"}))
SINGLE = Policy()  # anonymous mode, the default
A_ACL = {"owner": "A", "read": ["A"], "write": ["A"], "delete": ["A"]}
W_OK = WorkerCheck("W")


def answer(key: str, caller: Caller, policy: Policy = MULTI, **facts: object) -> object:
    error = decide(key, policy, caller, **facts)
    return (error.status, error.message) if error else "ok"


@pytest.mark.parametrize("key", ["job.show", "job.operate", "job.delete", "work.show",
                                 "work.report_file"])  # fmt: skip
def test_only_the_owner_and_admins_reach_a_job_and_its_workunits(key: str) -> None:
    assert answer(key, A, acl=A_ACL) == "ok"
    assert answer(key, ADMIN, acl=A_ACL) == "ok"
    assert answer(key, B, acl=A_ACL) == (401, "User Unauthorized")
    assert answer(key, ANON, acl=A_ACL) == (401, "No Authorization")


def test_the_lease_holder_reads_its_workunit_and_secrets_and_no_other_worker() -> None:
    for key in ("work.show", "work.report_file", "work.secret"):
        assert answer(key, ANON, worker=W_OK, acl=A_ACL, holder="W") == "ok"
        assert answer(key, ANON, worker=WorkerCheck("O"), acl=A_ACL, holder="W") == (
            401,
            "User Unauthorized",
        )
        assert answer(key, ANON, worker=W_OK, acl=A_ACL, holder="") == (401, "User Unauthorized")
    assert answer("work.secret", A, acl=A_ACL) == (401, "User Unauthorized")  # users: never


def test_a_worker_check_that_failed_is_the_answer() -> None:
    refused = WorkerCheck("W", AweError("Client not found"))
    assert answer("client.heartbeat", ANON, worker=refused) == (400, "Client not found")
    assert answer("work.show", A, worker=refused, acl=A_ACL) == "ok"  # the owner all the same


def test_worker_and_queue_control_is_for_admins_once_auth_is_on() -> None:
    for key in ("client.control", "client.delete", "client.control_all", "queue.control"):
        assert answer(key, ADMIN) == "ok"
        assert answer(key, A) == (401, "User Unauthorized")
        assert answer(key, ANON) == (401, "No Authorization")
        assert answer(key, ANON, SINGLE) == "ok"  # one user on 127.0.0.1: that user
        assert answer(key, ANON, Policy(admins=frozenset({"root"}))) == (401, "User Unauthorized")


def test_bulk_job_operations_are_open_to_users_whose_own_jobs_they_touch() -> None:
    assert answer("job.resumeall", B) == "ok" and answer("job.delete_many", B) == "ok"
    assert answer("job.resumeall", ANON) == (401, "No Authorization")
    with pytest.raises(AweError, match="User Unauthorized"):
        authorize_job("job.operate", B, A_ACL)  # what the job's actor says for A's job
    authorize_job("job.delete", ADMIN, A_ACL)


def test_metrics_and_queue_follow_their_config() -> None:
    assert answer("metrics", ANON) == "ok"
    assert answer("metrics", ANON, Policy(metrics_access="users")) == (401, "No Authorization")
    assert answer("metrics", A, Policy(metrics_access="admins")) == (401, "User Unauthorized")
    assert answer("queue.show", ANON) == (401, "No Authorization")
    assert answer("queue.show", ANON, SINGLE) == "ok"
    assert allowed("queue.show", MULTI, A)


def test_anonymous_mode_gives_anonymous_callers_their_configured_rights() -> None:
    read_only = Policy(anonymous_write=False, anonymous_delete=False)
    assert answer("job.list", ANON, read_only) == "ok"
    assert answer("job.submit", ANON, read_only) == (401, "No Authorization")
    public = {"owner": "public", "read": ["public"]}
    assert answer("job.show", B, acl=public) == "ok"  # a job submitted anonymously


def test_every_right_names_known_principals_and_keys_are_unique() -> None:
    assert len({r.key for r in RIGHTS}) == len(RIGHTS)
    for right in RIGHTS:
        assert decide(right.key, MULTI, ADMIN, worker=W_OK, acl=A_ACL, holder="W") is None


def test_the_holder_half_for_job_actors() -> None:
    authorize_holder("W", "W")
    for client, holder in (("O", "W"), ("W", ""), ("", "")):
        with pytest.raises(AweError):
            authorize_holder(client, holder)
