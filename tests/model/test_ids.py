"""AWE's ids: `<jobid>_<taskid>` and `<jobid>_<taskid>_<rank>`."""

from __future__ import annotations

import pytest

from awe.errors import AweError
from awe.model.ids import split_task_id, split_work_id, task_and_rank, task_id, work_id

JOB = "0b6c1f1e-5d7a-4c52-9a43-1f2e3d4c5b6a"


def test_ids_are_built_with_underscores() -> None:
    assert task_id(JOB, "qc") == f"{JOB}_qc"
    assert work_id(f"{JOB}_qc", 3) == f"{JOB}_qc_3"


def test_a_task_id_splits_into_job_and_taskid() -> None:
    assert split_task_id(f"{JOB}_qc") == (JOB, "qc")


def test_a_work_id_splits_into_job_task_and_rank() -> None:
    assert split_work_id(f"{JOB}_qc_12") == (JOB, f"{JOB}_qc", 12)


@pytest.mark.parametrize("bad", [JOB, f"{JOB}_a_b", f"{JOB}_", f"_{JOB}", ""])
def test_a_bad_task_id_is_refused(bad: str) -> None:
    with pytest.raises(AweError) as caught:
        split_task_id(bad)
    assert caught.value.message == f"invalid task id: {bad}"


@pytest.mark.parametrize("bad", [f"{JOB}_qc", f"{JOB}_qc_x", f"{JOB}_qc_1_2", f"{JOB}__1", ""])
def test_a_bad_work_id_is_refused(bad: str) -> None:
    with pytest.raises(AweError) as caught:
        split_work_id(bad)
    assert caught.value.message == f"invalid work id: {bad}"


def test_task_and_rank_splits_at_the_last_underscore_and_refuses_no_rank() -> None:
    assert task_and_rank("j_0_12") == ("j_0", 12)
    assert task_and_rank("j_0_x") is None
    assert task_and_rank("j_0_") is None
    assert task_and_rank("nothing") is None
