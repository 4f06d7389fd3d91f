"""The pure pieces of the CLI: AWE query strings, and progress read from job documents."""

from __future__ import annotations

from awe.cli.api import job_path, query_string
from awe.cli.jobs import job_query
from awe.cli.render import job_progress, short_taskid, task_progress, when


def test_flags_are_bare_keys_and_values_are_encoded() -> None:
    assert query_string({"suspend": None}) == "?suspend"
    assert query_string([("query", None), ("state", "queued,suspend")]) == (
        "?query&state=queued,suspend"
    )
    assert query_string({"clientgroup": "a b&c"}) == "?clientgroup=a+b%26c"
    assert query_string(None) == ""


def test_job_ids_stay_one_path_segment() -> None:
    assert job_path("a/b?c") == "/job/a%2Fb%3Fc"


def test_filters_turn_into_an_awe_query() -> None:
    params = job_query(("queued", "suspend,completed"), "soil", None, "amp", "active")
    assert query_string(params) == (
        "?query&state=queued,suspend,completed&info.project=soil&info.pipeline=amp&active"
    )
    assert job_query((), None, None, None, None) == []
    assert query_string(job_query((), None, None, None, "suspend")) == "?suspend"


def test_task_progress_counts_done_workunits() -> None:
    task = {
        "state": "in-progress",
        "totalwork": 3,
        "remainwork": 2,
        "workunits": [{"state": "done"}, {"state": "checkout"}, {"state": "queued"}],
    }
    assert task_progress(task) == (1, 3)
    assert task_progress({"state": "pending", "totalwork": 2, "workunits": []}) == (0, 2)
    assert task_progress({"state": "queued", "totalwork": 4, "remainwork": 1}) == (3, 4)
    assert task_progress({"state": "completed", "totalwork": 2, "workunits": []}) == (2, 2)


def test_job_progress_uses_remaintasks() -> None:
    assert job_progress({"tasks": [{}, {}, {}], "remaintasks": 1}) == (2, 3)


def test_taskids_and_times_are_shortened_for_people() -> None:
    assert short_taskid("3f0e9c1a-5b7d_12") == "12"
    assert when("0001-01-01T00:00:00Z") == "-"
    assert when("") == "-"
    assert len(when("2026-11-27T21:25:39.332232123Z")) == len("2026-11-27 21:25:39")
