"""Job scripts that are too big, oddly shaped or badly named: a 400 naming the field or limit."""

from __future__ import annotations

import json
from typing import Any

import pytest

from awe.config import LimitsConfig
from awe.model.compat import parse_submission
from awe.model.jobscript import JobScriptError, parse_job_script
from awe.model.split import MIB
from tests.model.scripts import JOB_ID, SUBMIT, parse, script, task, tid

PREFIX = "error parsing job, error="


def rejected(doc: dict[str, Any] | str, limits: LimitsConfig | None = None) -> str:
    raw = doc if isinstance(doc, str) else json.dumps(doc)
    with pytest.raises(JobScriptError) as caught:
        parse_job_script(raw, job_id=JOB_ID, now=SUBMIT, limits=limits)
    assert caught.value.status == 400
    return caught.value.message


def parse_with(doc: dict[str, Any], limits: LimitsConfig) -> Any:
    return parse_job_script(json.dumps(doc), job_id=JOB_ID, now=SUBMIT, limits=limits)


# ---- names -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("taskid", "why"),
    [
        ("a/b", "may contain only letters, digits, '.' and '-'"),
        ("..", "may not be '..'"),
        (".", "may not be '.'"),
        ("a b", "may contain only letters"),
        ("x" * 256, "is longer than 255 bytes"),
        (["0"], "must be a string"),
        (None, "must be a string"),
    ],
)
def test_a_task_id_outside_the_safe_set_is_a_400_naming_the_field(taskid: Any, why: str) -> None:
    message = rejected({"tasks": [{"taskid": taskid, "cmd": {"name": "x"}}]})
    assert message.startswith(PREFIX + "tasks[0].taskid ")
    assert why in message


def test_awes_own_task_id_messages_are_kept() -> None:
    assert rejected({"tasks": [{"cmd": {"name": "x"}}]}) == (
        PREFIX + "error in InitTask: invalid taskid:"
    )
    assert rejected({"tasks": [{"taskid": "a_b"}]}) == (
        PREFIX + "error in InitTask: invalid taskid, may not contain '_'"
    )


def test_a_bad_dependency_name_is_named_by_its_place() -> None:
    doc = script(task("0"), task("1", dependsOn=["0", "../0"]))
    assert rejected(doc) == (
        PREFIX + "task 1 dependsOn[1] \"../0\" may contain only letters, digits, '.' and '-'"
    )


@pytest.mark.parametrize(
    ("name", "why"),
    [
        ("../etc/passwd", "must be a single path component"),
        ("a\\b", "must be a single path component"),
        ("..", "may not be '..'"),
        ("a\nb", "may not contain control characters"),
        ("x" * 256, "is longer than 255 bytes"),
    ],
)
@pytest.mark.parametrize("kind", ["inputs", "outputs", "predata"])
def test_a_file_name_that_is_not_one_path_component_is_a_400(
    kind: str, name: str, why: str
) -> None:
    entry = {"filename": name, "url": "http://data.example.org/x"}
    message = rejected(script(task("0", **{kind: [entry]})))
    assert message.startswith(PREFIX + f"task 0 {kind}[0].filename ")
    assert why in message


def test_a_bad_file_name_in_the_legacy_map_form_is_named_too() -> None:
    doc = script(task("0", outputs={"../x": {"host": "http://shock:7445"}}))
    assert rejected(doc).startswith(PREFIX + 'task 0 outputs[0].filename "../x" must be a single')


def test_a_bad_attrfile_is_a_400() -> None:
    doc = script(task("0", outputs=[{"filename": "o", "attrfile": "/etc/attr.json"}]))
    assert "task 0 outputs[0].attrfile" in rejected(doc)


def test_real_awe_names_pass() -> None:
    doc = script(
        task("0", outputs=[{"filename": "sample.299.screen_passed.fna", "attrfile": "a.json"}]),
        task("qc-2.v1", inputs=[{"filename": "sample.299.screen_passed.fna", "origin": "0"}]),
    )
    job = parse(doc)
    assert job.tasks[1].depends_on == [tid("0")]


# ---- info.priority: null ------------------------------------------------------------------------


def test_a_null_priority_leaves_the_default_as_awe_does() -> None:
    assert parse(script(task("0"), priority=None)).info["priority"] == 1


# ---- limits ----------------------------------------------------------------------------------


def test_too_many_tasks_names_the_limit_and_its_key() -> None:
    doc = script(*(task(str(i)) for i in range(4)))
    assert rejected(doc, LimitsConfig(tasks_per_job=3)) == (
        PREFIX + "the job has 4 tasks, over limits.tasks_per_job (3)"
    )
    assert len(parse_with(doc, LimitsConfig(tasks_per_job=4)).tasks) == 4


def test_too_much_totalwork_names_the_limit_and_its_key() -> None:
    doc = script(task("0", totalwork=1_000_000))
    assert rejected(doc) == (
        PREFIX + "totalwork 1000000 of task 0 is over limits.totalwork_per_task (100000)"
    )


def test_too_many_workunits_in_one_job_names_the_limit_and_its_key() -> None:
    doc = script(task("0", totalwork=6), task("1", totalwork=5))
    assert rejected(doc, LimitsConfig(workunits_per_job=10)) == (
        PREFIX + "the job has 11 workunits, over limits.workunits_per_job (10)"
    )
    assert len(parse_with(doc, LimitsConfig(workunits_per_job=11)).tasks) == 2


def test_maxworksize_counts_towards_the_job_but_is_capped_per_task() -> None:
    big = {"filename": "in", "url": "http://h/in", "size": 1000 * MIB}
    doc = script(task("0", maxworksize=1, inputs=[big]))
    limits = LimitsConfig(totalwork_per_task=50, workunits_per_job=60)
    assert len(parse_with(doc, limits).tasks) == 1  # 1000 wanted, capped at 50: allowed
    assert rejected(doc, LimitsConfig(totalwork_per_task=50, workunits_per_job=49)) == (
        PREFIX + "the job has 50 workunits, over limits.workunits_per_job (49)"
    )


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("[" * 200_000 + "]" * 200_000, "nested deeper than 64 levels"),
        ('{"tasks": [{"taskid": "0", "totalwork": 9223372036854775808}]}', "out of range"),
        ('{"tasks": [{"taskid": "0", "userattr": {"x": NaN}}]}', "NaN is not a JSON value"),
        ('{"tasks": [{"taskid": "0", "userattr": {"x": 1e999}}]}', "out of range"),
    ],
)
def test_json_no_store_could_hold_is_refused(text: str, why: str) -> None:
    message = rejected(text)
    assert message.startswith(PREFIX + "error in unmarshaling job json file: ")
    assert why in message


# ---- any shape of 10,000 tasks validates, without recursion ------------------------------------

N = 10_000


def _chain_task(name: int, parents: list[int]) -> dict[str, Any]:
    return {
        "taskid": str(name),
        "cmd": {"name": "true"},
        "inputs": [{"filename": f"out{p}", "origin": str(p)} for p in parents],
        "outputs": [{"filename": f"out{name}"}],
    }


SHAPES = {
    "chain": lambda i: [i - 1] if i else [],
    "reverse chain": lambda i: [i + 1] if i < N - 1 else [],
    "fan-in": lambda i: list(range(1, N)) if i == 0 else [],
    "fan-out": lambda i: [0] if i else [],
}


@pytest.mark.parametrize("shape", sorted(SHAPES))
def test_ten_thousand_tasks_of_any_shape_validate(shape: str) -> None:
    doc = script(*(_chain_task(i, SHAPES[shape](i)) for i in range(N)))
    job = parse_with(doc, LimitsConfig(tasks_per_job=N))
    assert len(job.tasks) == N
    edges = sum(len(t.depends_on) for t in job.tasks)
    assert edges == (N - 1)  # every origin became exactly one dependency


def test_a_cycle_closing_a_ten_thousand_task_chain_is_found() -> None:
    tasks = [_chain_task(i, [i - 1] if i else []) for i in range(N)]
    tasks[0]["dependsOn"] = [str(N - 1)]
    message = rejected(script(*tasks), LimitsConfig(tasks_per_job=N))
    assert message.startswith(PREFIX + "dependency cycle: ")
    assert len(message.split(" -> ")) == N + 1


def _with_update(task: dict[str, Any], origin: int) -> dict[str, Any]:
    update = {"filename": f"out{origin}", "type": "update", "origin": str(origin)}
    return {**task, "outputs": [*task["outputs"], update]}


def test_ten_thousand_tasks_updating_far_upstream_outputs_validate() -> None:
    chain = [_chain_task(i, [i - 1] if i else []) for i in range(N)]
    tasks = [_with_update(t, i // 2) if i > 1 else t for i, t in enumerate(chain)]
    raw = json.dumps(script(*tasks))
    job = parse_submission(raw, job_id=JOB_ID, now=SUBMIT, limits=LimitsConfig(tasks_per_job=N))
    assert len(job.tasks) == N
    tasks[3] = _with_update(_chain_task(3, [2]), 7)  # 7 comes after 3: not upstream
    with pytest.raises(JobScriptError, match="task 3 update output out7: origin task 7 is not"):
        parse_submission(json.dumps(script(*tasks)), job_id=JOB_ID, now=SUBMIT,
                         limits=LimitsConfig(tasks_per_job=N))  # fmt: skip
