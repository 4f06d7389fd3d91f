"""Parsing and validating job scripts (spec 2.1-2.9, decision D8)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from awe.model.job import JobState, TaskState, public_cmd, public_job
from awe.model.jobscript import JobScriptError
from awe.model.times import ZERO_TIME
from tests.model.scripts import (
    HELLO,
    JOB_ID,
    RAW_NODE,
    SAMPLE_42,
    SHOCK,
    SUBMIT,
    parse,
    script,
    task,
    tid,
)

PREFIX = "error parsing job, error="
IN_TASK = PREFIX + "error in InitTask: "


def rejected(doc: dict[str, Any] | str) -> str:
    """The message a script is rejected with (always a 400)."""
    with pytest.raises(JobScriptError) as caught:
        parse(doc)
    assert caught.value.status == 400
    return caught.value.message


def one_task(**fields: Any) -> dict[str, Any]:
    return {"tasks": [{"taskid": "0", "cmd": {"name": "x", "args": ""}, **fields}]}


# ---- the spec's examples ---------------------------------------------------------------------


def test_example_1_gives_one_task_in_init() -> None:
    job = parse(HELLO)
    assert job.id == JOB_ID
    assert job.state == JobState.INIT
    assert job.remaintasks == 1
    assert job.info["priority"] == 1
    assert job.info["submittime"] == SUBMIT
    assert job.info["completedtime"] == ZERO_TIME
    assert job.info["auth"] is False
    assert job.acl == {
        "owner": "public", "read": ["public"], "write": ["public"], "delete": ["public"]
    }  # fmt: skip
    [only] = job.tasks
    assert only.id == f"{JOB_ID}_0"
    assert only.user_taskid == "0"
    assert only.state == TaskState.INIT
    assert only.cmd["name"] == "uname"
    assert only.cmd["args"] == "-a"
    assert only.cmd["environ"] == {"public": {}, "private": {}}
    assert only.cmd["has_private_env"] is False
    assert (only.totalwork, only.remainwork, only.workstatus) == (1, 1, [""])
    assert (only.split, only.units) == (0, {})


def test_example_2_rewrites_ids_and_dependencies() -> None:
    job = parse(SAMPLE_42)
    assert [t.id for t in job.tasks] == [tid("0"), tid("1"), tid("2"), tid("3")]
    assert [t.depends_on for t in job.tasks] == [
        [], [tid("0")], [tid("0")], [tid("1"), tid("2")]
    ]  # fmt: skip
    assert job.remaintasks == 4
    assert job.info["priority"] == 3
    assert job.info["clientgroups"] == "bigmem,default"
    assert job.info["userattr"] == {"sample": "S42"}


def test_example_2_normalises_its_io() -> None:
    job = parse(SAMPLE_42)
    trim, classify, _, report = job.tasks
    assert trim.inputs == [{
        "filename": "raw.fq", "host": SHOCK, "node": RAW_NODE,
        "url": f"{SHOCK}/node/{RAW_NODE}?download",
    }]  # fmt: skip
    assert trim.outputs == [{"filename": "clean.fq", "host": SHOCK, "nonzero": True, "node": "-"}]
    assert (trim.totalwork, trim.remainwork, trim.workstatus) == (4, 4, ["", "", "", ""])
    assert classify.inputs == [{"filename": "clean.fq", "host": SHOCK, "origin": "0", "node": "-"}]
    assert classify.predata == [{
        "filename": "refs.db", "url": "http://data.example.org/refs/v7/refs.db.gz",
        "uncompress": "gzip", "node": "-",
    }]  # fmt: skip
    assert [i["origin"] for i in report.inputs] == ["1", "2"]


def test_private_environment_is_stored_but_never_shown() -> None:
    job = parse(SAMPLE_42)
    classify = job.task(tid("1"))
    assert classify is not None
    assert classify.cmd["has_private_env"] is True
    stored = job.to_doc()
    assert stored["tasks"][1]["cmd"]["environ"]["private"] == {"LICENSE_KEY": "xyz"}
    shown = public_job(stored, registered=True)
    assert shown["tasks"][1]["cmd"]["environ"] == {"public": {"THREADS": "8"}}
    assert shown["tasks"][1]["cmd"]["has_private_env"] is True
    assert "xyz" not in json.dumps(shown)
    assert "LICENSE_KEY" not in json.dumps(public_cmd(classify.cmd))
    assert shown["registered"] is True
    assert "acl" not in shown
    # the stored document itself is not changed by showing it
    assert stored["tasks"][1]["cmd"]["environ"]["private"] == {"LICENSE_KEY": "xyz"}


def test_data_token_is_stored_but_never_shown() -> None:
    job = parse(SAMPLE_42, datatoken="s3cr3t-token")
    assert job.info["auth"] is True
    assert job.to_doc()["info"]["datatoken"] == "s3cr3t-token"
    assert "s3cr3t-token" not in json.dumps(public_job(job.to_doc(), registered=False))


def test_a_datatoken_written_in_the_script_is_ignored() -> None:
    doc = script(task("0"), datatoken="from-user", auth=True)
    job = parse(doc)
    assert "datatoken" not in job.info
    assert job.info["auth"] is False


def test_owner_gets_the_acl() -> None:
    job = parse(HELLO, owner="user-7")
    assert job.acl["owner"] == "user-7"
    assert job.acl["read"] == job.acl["write"] == job.acl["delete"] == ["user-7"]


@pytest.mark.parametrize(("given_priority", "stored"), [(0, 1), (-5, 1), (1, 1), (7, 7)])
def test_priority_is_raised_to_at_least_one(given_priority: int, stored: int) -> None:
    assert parse(script(task("0"), priority=given_priority)).info["priority"] == stored


def test_submittime_is_always_the_server_time() -> None:
    job = parse(script(task("0"), submittime="1999-01-01T00:00:00Z"))
    assert job.info["submittime"] == SUBMIT


def test_started_and_completed_times_are_always_the_servers() -> None:
    doc = script(
        task("0"), startedtime="1999-01-01T00:00:00Z", completedtime="1999-01-02T00:00:00Z"
    )
    job = parse(doc)
    assert job.info["startedtime"] == ZERO_TIME
    assert job.info["completedtime"] == ZERO_TIME


def test_an_integer_taskid_is_rejected_not_read_as_a_string() -> None:
    doc = {"tasks": [{"taskid": 0, "cmd": {"name": "a"}}]}
    assert rejected(doc) == PREFIX + "tasks[0].taskid 0 must be a string"


def test_an_integer_dependency_is_rejected_as_awe_rejects_it() -> None:
    # AWE's dependsOn is a list of strings: a number fails to decode there too
    doc = script(task("0"), task("1", dependsOn=[0]))
    assert rejected(doc) == PREFIX + "task 1 dependsOn[0] must be a string, got 0"


def test_an_integer_origin_is_rejected_as_awe_rejects_it() -> None:
    doc = script(task("0"), task("1", inputs=[{"filename": "out0", "origin": 0}]))
    assert rejected(doc) == PREFIX + "task 1 inputs[0].origin must be a string, got 0"


@pytest.mark.parametrize(("given_totalwork", "stored"), [(0, 1), (-3, 1), (5, 5)])
def test_totalwork_below_one_becomes_one(given_totalwork: int, stored: int) -> None:
    [only] = parse(one_task(totalwork=given_totalwork)).tasks
    assert (only.totalwork, only.remainwork, len(only.workstatus)) == (stored, stored, stored)


# ---- IO normalisation ------------------------------------------------------------------------


def test_legacy_map_form_io_is_stored_as_array_form() -> None:
    doc = one_task(
        inputs={"raw.fq": {"host": SHOCK, "node": RAW_NODE}},
        outputs={"clean.fq": {"host": SHOCK}},
        predata={"refs.db": {"url": "http://data.example.org/refs.db"}},
    )
    [only] = parse(doc).tasks
    assert only.inputs == [{
        "filename": "raw.fq", "host": SHOCK, "node": RAW_NODE,
        "url": f"{SHOCK}/node/{RAW_NODE}?download",
    }]  # fmt: skip
    assert only.outputs == [{"filename": "clean.fq", "host": SHOCK, "node": "-"}]
    assert only.predata == [
        {"filename": "refs.db", "url": "http://data.example.org/refs.db", "node": "-"}
    ]


def test_url_is_computed_from_host_and_node() -> None:
    doc = one_task(inputs=[{"filename": "a", "host": "http://shock:7445/", "node": "n1"}])
    [only] = parse(doc).tasks
    assert only.inputs[0]["url"] == "http://shock:7445/node/n1?download"


def test_host_and_node_are_filled_from_a_node_url() -> None:
    doc = one_task(inputs=[{"filename": "a", "url": "http://shock:7445/node/abc-123?download"}])
    [only] = parse(doc).tasks
    entry = only.inputs[0]
    assert (entry["host"], entry["node"]) == ("http://shock:7445", "abc-123")
    assert entry["url"] == "http://shock:7445/node/abc-123?download"


def test_a_given_host_is_kept_when_the_url_names_a_node() -> None:
    doc = one_task(
        inputs=[{"filename": "a", "host": "http://other:1", "url": "http://shock:7445/node/n9"}]
    )
    [only] = parse(doc).tasks
    assert (only.inputs[0]["host"], only.inputs[0]["node"]) == ("http://other:1", "n9")


def test_a_plain_url_leaves_node_unknown() -> None:
    doc = one_task(inputs=[{"filename": "a", "url": "http://data.example.org/files/a.txt"}])
    [only] = parse(doc).tasks
    assert only.inputs[0]["node"] == "-"
    assert "host" not in only.inputs[0]


def test_empty_node_becomes_a_dash() -> None:
    doc = one_task(inputs=[{"filename": "a", "host": SHOCK, "node": ""}])
    [only] = parse(doc).tasks
    assert only.inputs[0]["node"] == "-"
    assert "url" not in only.inputs[0]


def test_file_urls_are_accepted() -> None:
    doc = one_task(inputs=[{"filename": "a", "url": "file:///shared/data/a.txt"}])
    [only] = parse(doc).tasks
    assert only.inputs[0]["url"] == "file:///shared/data/a.txt"


def test_predata_with_host_and_node_is_accepted() -> None:
    [only] = parse(one_task(predata=[{"filename": "db", "host": SHOCK, "node": "n2"}])).tasks
    assert only.predata[0]["url"] == f"{SHOCK}/node/n2?download"


# ---- every rejection, with its exact message -------------------------------------------------


def test_bad_json_is_rejected() -> None:
    message = rejected('{"tasks": [')
    assert message.startswith(PREFIX + "error in unmarshaling job json file: ")
    assert len(message) > len(PREFIX + "error in unmarshaling job json file: ")


def test_a_script_that_is_not_an_object_is_rejected() -> None:
    assert rejected("[1, 2]") == PREFIX + "the job script must be an object, got [1, 2]"


def test_an_empty_task_list_is_rejected() -> None:
    assert rejected({"info": {}, "tasks": []}) == PREFIX + "invalid job script: task list empty"


def test_a_missing_task_list_is_rejected() -> None:
    assert rejected({"info": {"name": "x"}}) == PREFIX + "invalid job script: task list empty"


def test_tasks_that_are_not_a_list_are_rejected() -> None:
    assert rejected({"tasks": "0"}) == PREFIX + 'tasks must be an array, got "0"'


def test_a_taskid_with_underscore_is_rejected() -> None:
    doc = {"tasks": [{"taskid": "a_b", "cmd": {"name": "x"}}]}
    assert rejected(doc) == IN_TASK + "invalid taskid, may not contain '_'"


def test_an_empty_taskid_is_rejected() -> None:
    assert (
        rejected({"tasks": [{"taskid": "", "cmd": {"name": "x"}}]}) == IN_TASK + "invalid taskid:"
    )


def test_a_missing_taskid_is_rejected() -> None:
    assert rejected({"tasks": [{"cmd": {"name": "x"}}]}) == IN_TASK + "invalid taskid:"


def test_duplicate_input_filenames_are_rejected() -> None:
    doc = one_task(
        inputs=[{"filename": "a", "url": "http://h/x"}, {"filename": "a", "url": "http://h/y"}]
    )
    assert (
        rejected(doc) == PREFIX + "invalid inputs: task 0 contains multiple inputs with filename=a"
    )


def test_duplicate_input_filenames_in_the_second_task_name_it() -> None:
    doc = script(
        task("0"),
        task("k", inputs=[{"filename": "b", "url": "http://h/1"}, {"filename": "b"}]),
    )
    assert (
        rejected(doc) == PREFIX + "invalid inputs: task k contains multiple inputs with filename=b"
    )


@pytest.mark.parametrize(
    "entry",
    [
        {"filename": "db"},
        {"filename": "db", "host": SHOCK},
        {"filename": "db", "node": "n1"},
        {"filename": "db", "host": SHOCK, "node": ""},
        {"filename": "db", "url": ""},
    ],
)
def test_predata_without_url_or_host_and_node_is_rejected(entry: dict[str, Any]) -> None:
    message = rejected(one_task(predata=[entry]))
    assert message == IN_TASK + "Invalid IO, required fields url or host / node missing"


def test_an_io_entry_without_filename_is_rejected() -> None:
    message = rejected(one_task(inputs=[{"url": "http://h/x"}]))
    assert message == IN_TASK + "Invalid IO, task 0 inputs[0] has no filename"


def test_a_url_without_host_is_rejected() -> None:
    message = rejected(one_task(inputs=[{"filename": "a", "url": "just-a-name"}]))
    assert message == IN_TASK + "Invalid IO, invalid url: just-a-name"


def test_an_unknown_dependency_is_rejected() -> None:
    doc = script(task("0"), task("1", dependsOn=["9"]))
    assert rejected(doc) == PREFIX + "task 1 depends on unknown task 9"


def test_a_self_cycle_is_rejected() -> None:
    doc = script(task("a", dependsOn=["a"]))
    assert rejected(doc) == PREFIX + "dependency cycle: a -> a"


def test_a_two_task_cycle_is_rejected() -> None:
    doc = script(task("a", dependsOn=["b"]), task("b", dependsOn=["a"]))
    assert rejected(doc) == PREFIX + "dependency cycle: a -> b -> a"


def test_a_longer_cycle_is_named_in_the_order_work_would_flow() -> None:
    # b needs a, c needs b, a needs c; x is an innocent root that runs first.
    doc = script(
        task("x"),
        task("a", dependsOn=["x", "c"]),
        task("b", dependsOn=["a"]),
        task("c", dependsOn=["b"]),
    )
    assert rejected(doc) == PREFIX + "dependency cycle: a -> b -> c -> a"


def test_a_duplicate_taskid_is_rejected() -> None:
    doc = script(task("0"), task("1", "0"), task("0"))
    assert rejected(doc) == PREFIX + "duplicate taskid: 0"


def test_an_origin_becomes_a_dependency_as_in_awe_v0_9_62() -> None:
    doc = script(
        task("0"),
        task("1"),
        task("2", "1", inputs=[{"filename": "out0", "origin": "0"}]),
    )
    job = parse(doc)
    assert job.tasks[2].depends_on == [tid("1"), tid("0")]


def test_an_origin_already_in_dependson_is_not_repeated() -> None:
    doc = script(task("0"), task("1", "0", dependsOn=["0", "0"]))
    assert parse(doc).tasks[1].depends_on == [tid("0")]


def test_empty_dependson_entries_are_dropped_as_in_awe() -> None:
    doc = script(task("0"), task("1", dependsOn=[""]), task("2", dependsOn=["", "0", ""]))
    job = parse(doc)
    assert [t.depends_on for t in job.tasks] == [[], [], [tid("0")]]


def test_an_empty_origin_is_no_dependency() -> None:
    doc = script(
        task("0"), task("1", inputs=[{"filename": "x", "url": "http://h/x", "origin": ""}])
    )
    assert parse(doc).tasks[1].depends_on == []


def test_an_origin_that_makes_a_cycle_is_rejected() -> None:
    doc = script(
        task("0", dependsOn=["1"]), task("1", inputs=[{"filename": "out0", "origin": "0"}])
    )
    assert rejected(doc) == PREFIX + "dependency cycle: 0 -> 1 -> 0"


def test_an_origin_naming_no_task_is_rejected() -> None:
    doc = script(task("0"), task("1", "0", inputs=[{"filename": "out0", "origin": "7"}]))
    assert rejected(doc) == (PREFIX + "task 1 input out0: origin task 7 is not a task of this job")


def test_an_origin_lacking_that_output_is_rejected() -> None:
    doc = script(task("0"), task("1", "0", inputs=[{"filename": "zz", "origin": "0"}]))
    assert rejected(doc) == PREFIX + "task 1 input zz: origin task 0 has no output named zz"


def test_an_origin_further_upstream_is_accepted() -> None:
    doc = script(
        task("0"), task("1", "0"), task("2", "1", inputs=[{"filename": "out0", "origin": "0"}])
    )
    job = parse(doc)
    assert job.tasks[2].inputs == [{"filename": "out0", "origin": "0", "node": "-"}]


# ---- wrong types (D8) --------------------------------------------------------------------------


def test_priority_as_string_is_rejected() -> None:
    assert rejected(script(task("0"), priority="3")) == (
        PREFIX + 'info.priority must be an integer, got "3"'
    )


def test_priority_as_boolean_is_rejected() -> None:
    assert rejected(script(task("0"), priority=True)) == (
        PREFIX + "info.priority must be an integer, got true"
    )


def test_info_that_is_not_an_object_is_rejected() -> None:
    doc = {"info": "x", "tasks": [task("0")]}
    assert rejected(doc) == PREFIX + 'info must be an object, got "x"'


def test_info_text_fields_must_be_strings() -> None:
    assert rejected(script(task("0"), clientgroups=["a"])) == (
        PREFIX + 'info.clientgroups must be a string, got ["a"]'
    )


def test_noretry_must_be_a_boolean() -> None:
    assert rejected(script(task("0"), noretry="yes")) == (
        PREFIX + "info.noretry must be true or false"
    )


def test_totalwork_as_string_is_rejected() -> None:
    assert (
        rejected(one_task(totalwork="4")) == PREFIX + 'task 0 totalwork must be an integer, got "4"'
    )


def test_maxworksize_as_string_is_rejected() -> None:
    assert rejected(one_task(maxworksize="1")) == (
        PREFIX + 'task 0 maxworksize must be an integer, got "1"'
    )


def test_args_that_are_not_a_string_are_rejected() -> None:
    doc = {"tasks": [{"taskid": "0", "cmd": {"name": "x", "args": 5}}]}
    assert rejected(doc) == PREFIX + "task 0 cmd.args must be a string, got 5"


def test_args_as_a_list_are_rejected() -> None:
    doc = {"tasks": [{"taskid": "0", "cmd": {"name": "x", "args": ["-a"]}}]}
    assert rejected(doc) == PREFIX + 'task 0 cmd.args must be a string, got ["-a"]'


def test_cmd_that_is_not_an_object_is_rejected() -> None:
    doc = {"tasks": [{"taskid": "0", "cmd": "uname -a"}]}
    assert rejected(doc) == PREFIX + 'task 0 cmd must be an object, got "uname -a"'


@pytest.mark.parametrize(("value", "shown"), [("raw.fq", '"raw.fq"'), (3, "3"), (True, "true")])
def test_inputs_that_are_not_a_list_or_map_are_rejected(value: Any, shown: str) -> None:
    assert (
        rejected(one_task(inputs=value)) == PREFIX + f"task 0 inputs must be an array, got {shown}"
    )


def test_an_input_entry_that_is_not_an_object_is_rejected() -> None:
    assert rejected(one_task(inputs=["raw.fq"])) == (
        PREFIX + 'task 0 inputs[0] must be an object, got "raw.fq"'
    )


def test_io_text_fields_must_be_strings() -> None:
    assert rejected(one_task(outputs=[{"filename": "a", "host": 7}])) == (
        PREFIX + "task 0 outputs[0].host must be a string, got 7"
    )


def test_io_flags_must_be_booleans() -> None:
    assert rejected(one_task(outputs=[{"filename": "a", "nonzero": "yes"}])) == (
        PREFIX + "task 0 outputs[0].nonzero must be true or false"
    )


@pytest.mark.parametrize("scope", ["public", "private"])
def test_environ_values_that_are_not_strings_are_rejected(scope: str) -> None:
    doc = {"tasks": [{"taskid": "0", "cmd": {"name": "x", "environ": {scope: {"THREADS": 8}}}}]}
    got = "8" if scope == "public" else "int"  # a private value is not repeated, even malformed
    assert (
        rejected(doc) == PREFIX + f"task 0 cmd.environ.{scope}.THREADS must be a string, got {got}"
    )


def test_dependson_that_is_not_a_list_is_rejected() -> None:
    doc = script(task("0"), task("1", dependsOn="0"))
    assert rejected(doc) == PREFIX + 'task 1 dependsOn must be an array, got "0"'


def test_a_dependson_entry_of_the_wrong_type_is_rejected_clearly() -> None:
    doc = script(task("0"), task("1", dependsOn=[{"taskid": "0"}]))
    assert rejected(doc) == PREFIX + 'task 1 dependsOn[0] must be a string, got {"taskid": "0"}'


def test_userattr_that_is_not_an_object_is_rejected() -> None:
    assert (
        rejected(one_task(userattr=["a"]))
        == PREFIX + 'task 0 userattr must be an object, got ["a"]'
    )


# ---- properties ------------------------------------------------------------------------------


@st.composite
def dags(draw: st.DrawFn) -> dict[str, list[str]]:
    """A random DAG: task i may depend on any tasks before it; listed in a random order."""
    count = draw(st.integers(min_value=1, max_value=12))
    names = [f"t{i}" for i in range(count)]
    parents = {
        name: draw(st.lists(st.sampled_from(names[:i]), unique=True)) if i else []
        for i, name in enumerate(names)
    }
    order = draw(st.permutations(names))
    return {name: parents[name] for name in order}


def _closure(parents: dict[str, list[str]], node: str) -> set[str]:
    seen: set[str] = set()
    todo = list(parents[node])
    while todo:
        current = todo.pop()
        if current not in seen:
            seen.add(current)
            todo.extend(parents[current])
    return seen


def _script_of(parents: dict[str, list[str]]) -> dict[str, Any]:
    return script(*(
        {"taskid": n, "cmd": {"name": "x"}, "dependsOn": list(ps)} for n, ps in parents.items()
    ))  # fmt: skip


@given(dags())
@settings(max_examples=150, deadline=None)
def test_any_dag_parses(parents: dict[str, list[str]]) -> None:
    job = parse(_script_of(parents))
    assert {t.user_taskid: [d.split("_", 1)[1] for d in t.depends_on] for t in job.tasks} == parents
    assert job.remaintasks == len(parents)


@given(dags(), st.data())
@settings(max_examples=150, deadline=None)
def test_a_dag_with_a_back_edge_is_rejected_as_a_cycle(
    parents: dict[str, list[str]], data: st.DataObject
) -> None:
    with_ancestors = [n for n in parents if _closure(parents, n)]
    if with_ancestors:
        low = data.draw(st.sampled_from(sorted(with_ancestors)))
        high = data.draw(st.sampled_from(sorted(_closure(parents, low))))
    else:  # no edge at all: a task that needs itself is the shortest back edge
        low = high = data.draw(st.sampled_from(sorted(parents)))
    parents = {**parents, high: [*parents[high], low]}  # the ancestor now needs its descendant
    message = rejected(_script_of(parents))
    assert message.startswith(PREFIX + "dependency cycle: ")
    names = message.removeprefix(PREFIX + "dependency cycle: ").split(" -> ")
    assert names[0] == names[-1]
    for before, after in zip(names, names[1:], strict=False):
        assert before in parents[after]  # each step of the named cycle is a real edge


def test_a_boolean_dependency_is_rejected_not_read_as_a_taskid() -> None:
    doc = script(task("0"), task("1", dependsOn=[True]))
    assert rejected(doc) == PREFIX + "task 1 dependsOn[0] must be a string, got true"
