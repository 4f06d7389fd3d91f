"""Task ids and file names come from a safe set; real AWE names pass."""

from __future__ import annotations

import pytest

from awe.model.names import filename_problem, taskid_problem


@pytest.mark.parametrize("good", ["0", "12", "qc", "v1.2", "step-3", "A.b-c"])
def test_real_task_ids_pass(good: str) -> None:
    assert taskid_problem(good) is None


@pytest.mark.parametrize(
    ("bad", "why"),
    [
        (0, "must be a string"),
        ("", "must not be empty"),
        ("a_b", "'_'"),
        (".", "may not be '.'"),
        ("..", "may not be '..'"),
        ("a/b", "only letters"),
        ("a b", "only letters"),
        ("ü", "only letters"),
        ("x" * 256, "longer than"),
    ],
)
def test_bad_task_ids_say_why(bad: object, why: str) -> None:
    problem = taskid_problem(bad)
    assert problem is not None and why in problem


@pytest.mark.parametrize(
    "good", ["sample.299.screen_passed.fna", "a b.txt", "out", ".hidden", "ü.fa", "x" * 255]
)
def test_real_file_names_pass(good: str) -> None:
    assert filename_problem(good) is None


@pytest.mark.parametrize(
    ("bad", "why"),
    [
        (None, "must be a string"),
        ("", "must not be empty"),
        ("..", "may not be '..'"),
        ("job/0/out.txt", "single path component"),
        ("a\\b", "single path component"),
        ("a\nb", "control characters"),
        ("x" * 256, "longer than"),
    ],
)
def test_bad_file_names_say_why(bad: object, why: str) -> None:
    problem = filename_problem(bad)
    assert problem is not None and why in problem
