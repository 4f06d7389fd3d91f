"""The datastore on disk: atomic commits, metadata, shares, joins, paths that cannot escape."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from awe.datastore import Datastore, public
from awe.errors import AweError
from awe.model.shares import line_share
from awe.paths import PathEscape

JOB, OTHER = "job-a", "job-b"


def store(tmp_path: Path, chunk: int = 16) -> Datastore:
    ds = Datastore(tmp_path / "ds", index_chunk=chunk)
    ds.ensure()
    return ds


def put(ds: Datastore, data: bytes, task="0", name="out.txt", part=None, job=JOB) -> dict:
    sink = ds.sink(job)
    for i in range(0, len(data), 7):
        sink.write(data[i : i + 7])
    return ds.commit(sink, job, task, name, part)


def test_a_committed_file_has_its_checksums_and_lines(tmp_path: Path) -> None:
    ds = store(tmp_path)
    data = b"one\ntwo\nthree\n"
    meta = put(ds, data)
    assert ds.file_path(JOB, "0", "out.txt").read_bytes() == data
    assert public(meta) == {
        "size": 14,
        "md5": hashlib.md5(data).hexdigest(),
        "sha256": hashlib.sha256(data).hexdigest(),
        "lines": 3,
    }
    assert ds.meta(JOB, "0", "out.txt") == meta
    assert list((tmp_path / "ds" / JOB / "_incoming").iterdir()) == []


def test_nothing_is_visible_under_the_final_name_before_commit(tmp_path: Path) -> None:
    ds = store(tmp_path)
    sink = ds.sink(JOB)
    sink.write(b"half a file")
    assert not ds.file_path(JOB, "0", "out.txt").exists()
    assert ds.meta(JOB, "0", "out.txt") is None
    sink.discard()
    assert not sink.path.exists()


def test_stale_metadata_is_made_again_from_the_file(tmp_path: Path) -> None:
    ds = store(tmp_path)
    put(ds, b"old\n")
    ds.file_path(JOB, "0", "out.txt").write_bytes(b"replaced by hand\n")
    meta = ds.meta(JOB, "0", "out.txt")
    assert meta["md5"] == hashlib.md5(b"replaced by hand\n").hexdigest()
    assert meta["lines"] == 1


def test_start_up_sweeps_cut_short_writes(tmp_path: Path) -> None:
    ds = store(tmp_path)
    sink = ds.sink(JOB)
    sink.write(b"x" * 100)
    sink.file.close()
    assert ds.sweep_incoming() == 1
    assert not sink.path.exists()


@pytest.mark.parametrize("totalwork", [1, 2, 3, 7])
def test_shares_follow_the_line_shares(tmp_path: Path, totalwork: int) -> None:
    ds = store(tmp_path, chunk=8)
    data = b"".join(f"{i * i}\n".encode() for i in range(1, 60))
    meta = put(ds, data)
    got = []
    for rank in range(1, totalwork + 1):
        share = ds.share(JOB, "0", "out.txt", rank, totalwork, meta)
        piece = data[share["start"] : share["end"]]
        assert piece == line_share(data, rank, totalwork)
        assert share["md5"] == hashlib.md5(piece).hexdigest()
        got.append(piece)
    assert b"".join(got) == data


def test_parts_are_joined_in_rank_order_and_removed(tmp_path: Path) -> None:
    ds = store(tmp_path)
    for rank in (3, 1, 2):
        put(ds, f"part {rank}\n".encode(), task="1", part=rank)
    meta = ds.join_parts(JOB, "1", "out.txt", [1, 2, 3])
    assert ds.file_path(JOB, "1", "out.txt").read_bytes() == b"part 1\npart 2\npart 3\n"
    assert meta["lines"] == 3
    assert not (tmp_path / "ds" / JOB / "_parts" / "1" / "out.txt").exists()
    assert ds.join_parts(JOB, "1", "out.txt", [1, 2, 3]) == meta  # a repeated join


def test_a_missing_part_is_an_error(tmp_path: Path) -> None:
    ds = store(tmp_path)
    put(ds, b"a\n", task="1", part=1)
    with pytest.raises(FileNotFoundError, match=r"\[2\]"):
        ds.join_parts(JOB, "1", "out.txt", [1, 2])


@pytest.mark.parametrize(
    ("task", "name"),
    [("..", f"{OTHER}/0/out.txt"), ("0", f"../../{OTHER}/0/out.txt"), ("..", ".."),
     ("_meta", "x"), ("0", "a/b"), ("0", "")],
)  # fmt: skip
def test_no_name_reaches_another_jobs_folder(tmp_path: Path, task: str, name: str) -> None:
    ds = store(tmp_path)
    put(ds, b"victim\n", job=OTHER)
    with pytest.raises((AweError, PathEscape)):
        put(ds, b"attacker\n", task=task, name=name)
    assert ds.file_path(OTHER, "0", "out.txt").read_bytes() == b"victim\n"


@pytest.mark.parametrize("job", ["..", "_trash", ".hidden", "a/b", ""])
def test_job_ids_are_single_safe_components(tmp_path: Path, job: str) -> None:
    with pytest.raises((AweError, PathEscape)):
        store(tmp_path).job_dir(job)


def test_a_symlinked_task_folder_cannot_lead_out(tmp_path: Path) -> None:
    ds = store(tmp_path)
    outside = tmp_path / "outside"
    outside.mkdir()
    (tmp_path / "ds" / JOB).mkdir()
    (tmp_path / "ds" / JOB / "0").symlink_to(outside)
    with pytest.raises(PathEscape):
        ds.file_path(JOB, "0", "out.txt")


def test_deleting_a_job_removes_its_folder_only(tmp_path: Path) -> None:
    ds = store(tmp_path)
    put(ds, b"a\n")
    put(ds, b"b\n", job=OTHER)
    assert ds.delete_job(JOB) and not ds.delete_job(JOB)
    assert ds.job_ids() == [OTHER]


def test_listing_and_marker(tmp_path: Path) -> None:
    ds = store(tmp_path)
    put(ds, b"a\n")
    put(ds, b"b\n", task="1", part=1)
    assert [(f["task"], f["filename"]) for f in ds.list_job(JOB)] == [("0", "out.txt")]
    ident = ds.ensure()
    assert ident == (tmp_path / "ds" / ".awe-datastore").read_text().strip()
    assert Datastore(tmp_path / "ds").ensure() == ident
    assert json.loads((tmp_path / "ds" / JOB / "_meta" / "0" / "out.txt.json").read_text())


def test_a_write_that_outlives_its_jobs_deletion_makes_nothing_again(tmp_path: Path) -> None:
    ds = store(tmp_path)
    put(ds, b"a\n")
    sink = ds.sink(JOB)
    sink.write(b"late bytes\n")
    ds.delete_job(JOB)
    with pytest.raises(FileNotFoundError):
        ds.commit(sink, JOB, "0", "out.txt")
    assert ds.job_ids() == []
