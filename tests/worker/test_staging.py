"""Data back-ends: http(s) url, file:// url, Shock; gzip; predata cache; shares; delivery."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest

from awe.model.shares import line_share
from awe.shock import ShockClient
from awe.worker.client import make_pool
from awe.worker.staging import Cancelled, Stager, StagingError, cut_share
from tests.worker.helpers import FileServer
from tests.worker.shock_fixture import ShockFixture

ROOTS: list[Path] = []  # the test's tmp_path: where its file:// URLs may point


@pytest.fixture(autouse=True)
def file_roots(tmp_path: Path):
    ROOTS[:] = [tmp_path]
    yield
    ROOTS.clear()


def stager(token: str | None = None, cancelled: bool = False) -> Stager:
    http = make_pool(1)
    return Stager(
        http, ShockClient(http, 10.0, 0.05), token, lambda: cancelled, 10.0, roots=list(ROOTS)
    )


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    path = tmp_path / "wd"
    path.mkdir()
    return path


def test_an_http_url_is_downloaded(file_server: FileServer, workdir: Path) -> None:
    file_server.files["/data/in.txt"] = b"hello\n"
    size = stager().fetch(
        {"filename": "in.txt", "url": file_server.url("/data/in.txt")}, workdir / "in.txt"
    )
    assert size == 6 and (workdir / "in.txt").read_bytes() == b"hello\n"


def test_a_plain_url_never_gets_the_data_token(file_server: FileServer, workdir: Path) -> None:
    file_server.files["/x"] = b"x"
    stager("secret").fetch({"filename": "x", "url": file_server.url("/x")}, workdir / "x")
    assert file_server.auth_seen == [""]


def test_a_missing_url_fails_with_the_reason(file_server: FileServer, workdir: Path) -> None:
    with pytest.raises(StagingError, match="cannot download"):
        stager().fetch({"filename": "x", "url": file_server.url("/nope")}, workdir / "x")
    assert not list(workdir.iterdir())  # no half file left behind


def test_a_file_url_is_copied(tmp_path: Path, workdir: Path) -> None:
    source = tmp_path / "shared" / "a b.txt"
    source.parent.mkdir()
    source.write_bytes(b"shared data")
    io = {"filename": "a.txt", "url": source.as_uri()}
    assert stager().fetch(io, workdir / "a.txt") == 11
    assert (workdir / "a.txt").read_bytes() == b"shared data"


def test_a_missing_file_url_fails(tmp_path: Path, workdir: Path) -> None:
    with pytest.raises(StagingError, match="cannot fetch"):
        stager().fetch({"filename": "a", "url": (tmp_path / "none").as_uri()}, workdir / "a")


def test_a_shock_node_is_downloaded_with_the_token(shock: ShockFixture, workdir: Path) -> None:
    node = shock.add_node(b"from shock")
    io = {"filename": "n.txt", "host": shock.url, "node": node}
    stager("tok123").fetch(io, workdir / "n.txt")
    assert (workdir / "n.txt").read_bytes() == b"from shock"
    assert shock.requests[-1] == ("GET", f"/node/{node}?download")
    assert shock.auth_seen[-1] == "OAuth tok123"


def test_a_token_with_its_own_type_is_sent_as_given(shock: ShockFixture, workdir: Path) -> None:
    node = shock.add_node(b"x")
    stager("Bearer abc").fetch({"filename": "x", "host": shock.url, "node": node}, workdir / "x")
    assert shock.auth_seen[-1] == "Bearer abc"


def test_gzip_inputs_are_uncompressed(
    file_server: FileServer, tmp_path: Path, workdir: Path
) -> None:
    data = b"line\n" * 1000
    file_server.files["/z.gz"] = gzip.compress(data)
    io = {"filename": "z", "url": file_server.url("/z.gz"), "uncompress": "gzip"}
    assert stager().fetch(io, workdir / "z") == len(data)
    assert (workdir / "z").read_bytes() == data
    (tmp_path / "f.gz").write_bytes(gzip.compress(b"file gz"))
    stager().fetch(
        {"filename": "f", "url": (tmp_path / "f.gz").as_uri(), "uncompress": "gzip"}, workdir / "f"
    )
    assert (workdir / "f").read_bytes() == b"file gz"


def test_bad_gzip_fails(file_server: FileServer, workdir: Path) -> None:
    file_server.files["/bad.gz"] = b"not gzip at all"
    with pytest.raises(StagingError):
        stager().fetch(
            {"filename": "b", "url": file_server.url("/bad.gz"), "uncompress": "gzip"},
            workdir / "b",
        )


def test_a_cancelled_transfer_stops(file_server: FileServer, workdir: Path) -> None:
    file_server.files["/big"] = b"x" * 10
    with pytest.raises(Cancelled):
        stager(cancelled=True).fetch(
            {"filename": "big", "url": file_server.url("/big")}, workdir / "big"
        )
    assert not (workdir / "big").exists()


def test_predata_is_cached_across_workunits(file_server: FileServer, tmp_path: Path) -> None:
    file_server.files["/refs.db.gz"] = gzip.compress(b"reference")
    io = {"filename": "refs.db", "url": file_server.url("/refs.db.gz"), "uncompress": "gzip"}
    cache = tmp_path / "cache"
    for i in (1, 2):
        wd = tmp_path / f"wd{i}"
        wd.mkdir()
        size, hit = stager().fetch_predata(io, cache, wd / "refs.db")
        assert (size, hit) == (9, i == 2)
        assert (wd / "refs.db").is_symlink() and (wd / "refs.db").read_bytes() == b"reference"
    assert file_server.gets == ["/refs.db.gz"]  # fetched once


def test_shock_attributes_are_written_to_attrfile(shock: ShockFixture, workdir: Path) -> None:
    node = shock.add_node(b"x", attributes={"sample": "S42"})
    stager().fetch_attributes(
        {"filename": "x", "host": shock.url, "node": node}, workdir / "x.attr"
    )
    assert json.loads((workdir / "x.attr").read_text()) == {"sample": "S42"}


@pytest.mark.parametrize("totalwork", [1, 2, 3, 7])
def test_cut_share_keeps_this_ranks_lines(tmp_path: Path, totalwork: int) -> None:
    data = b"".join(f"record {i} {'x' * (i % 5)}\n".encode() for i in range(50))
    shares = []
    for rank in range(1, totalwork + 1):
        path = tmp_path / f"in{rank}"
        path.write_bytes(data)
        assert cut_share(path, rank, totalwork) == len(path.read_bytes())
        shares.append(path.read_bytes())
        assert shares[-1] == line_share(data, rank, totalwork)
    assert b"".join(shares) == data


# ---- delivery --------------------------------------------------------------------------------


@pytest.fixture
def out_file(workdir: Path) -> Path:
    path = workdir / "out.txt"
    path.write_bytes(b"result\n")
    return path


def test_a_file_url_output_is_written_there(tmp_path: Path, out_file: Path) -> None:
    dest = tmp_path / "datastore" / "job" / "out.txt"
    record = stager().deliver({"filename": "out.txt", "url": dest.as_uri()}, out_file, 0, None)
    assert dest.read_bytes() == b"result\n"
    assert record == {"filename": "out.txt", "node": "-", "url": dest.as_uri(), "size": 7}
    assert [p.name for p in dest.parent.iterdir()] == ["out.txt"]  # no temp file left


def test_an_http_url_output_is_put(file_server: FileServer, out_file: Path) -> None:
    stager().deliver(
        {"filename": "out.txt", "url": file_server.url("/up/out.txt")}, out_file, 0, None
    )
    assert file_server.puts == {"/up/out.txt": b"result\n"}


def test_rank_zero_uploads_the_whole_file_to_its_node(shock: ShockFixture, out_file: Path) -> None:
    node = shock.add_parts_node(0)
    io = {"filename": "out.txt", "host": shock.url, "node": node}
    record = stager("t").deliver(io, out_file, 0, b'{"a": 1}')
    assert shock.data(node) == b"result\n"
    assert shock.nodes[node].attributes == {"a": 1}
    assert record["node"] == node and record["size"] == 7
    assert shock.auth_seen[-1] == "OAuth t"


def test_ranks_upload_their_parts_and_the_node_completes(
    shock: ShockFixture, workdir: Path
) -> None:
    node = shock.add_parts_node(3)
    io = {"filename": "out.txt", "host": shock.url, "node": node}
    for rank in (3, 1, 2):
        local = workdir / f"part{rank}"
        local.write_bytes(f"part {rank}\n".encode())
        stager().deliver(io, local, rank, None)
    assert shock.data(node) == b"part 1\npart 2\npart 3\n"


def test_an_unknown_node_is_created(shock: ShockFixture, out_file: Path) -> None:
    io = {"filename": "out.txt", "host": shock.url, "node": "-"}
    record = stager().deliver(io, out_file, 0, b'{"k": "v"}')
    assert record["node"] != "-"
    assert shock.data(record["node"]) == b"result\n"
    assert shock.nodes[record["node"]].attributes == {"k": "v"}
    assert record["url"] == f"{shock.url}/node/{record['node']}?download"


def test_a_failed_upload_is_retried_once(shock: ShockFixture, out_file: Path) -> None:
    node = shock.add_parts_node(0)
    shock.fail_uploads = 1
    stager().deliver({"filename": "out.txt", "host": shock.url, "node": node}, out_file, 0, None)
    assert shock.data(node) == b"result\n"
    shock.fail_uploads = 2
    with pytest.raises(StagingError, match="simulated upload failure"):
        stager().deliver(
            {"filename": "out.txt", "host": shock.url, "node": node}, out_file, 0, None
        )


def test_an_output_without_destination_fails(out_file: Path) -> None:
    with pytest.raises(StagingError, match="no destination"):
        stager().deliver({"filename": "out.txt"}, out_file, 0, None)


def test_the_shock_fixture_joins_parts_of_a_node_created_with_parts(shock: ShockFixture) -> None:
    http = make_pool(1)
    created = http.request("POST", f"{shock.url}/node", fields={"parts": "2"})
    node = json.loads(created.data)["data"]["id"]
    for part in ("2", "1"):
        http.request("PUT", f"{shock.url}/node/{node}", fields={part: ("p", f"<{part}>".encode())})
    assert shock.data(node) == b"<1><2>"
    doc = json.loads(http.request("GET", f"{shock.url}/node/{node}").data)["data"]
    assert doc["file"]["size"] == 6 and doc["file"]["checksum"]["md5"]


@pytest.mark.parametrize("kind", ["input", "output"])
def test_file_urls_outside_the_roots_are_refused(tmp_path: Path, workdir: Path, kind: str):
    secret = tmp_path / "secret.txt"
    secret.write_bytes(b"worker secret")
    ROOTS[:] = [workdir]
    with pytest.raises(StagingError, match="outside the worker's file roots"):
        if kind == "input":
            stager().fetch({"filename": "s", "url": secret.as_uri()}, workdir / "s")
        else:
            local = workdir / "out.txt"
            local.write_bytes(b"overwrite")
            stager().deliver({"filename": "out.txt", "url": secret.as_uri()}, local, 0, None)
    assert secret.read_bytes() == b"worker secret"
    assert not (workdir / "s").exists()


def test_a_link_inside_the_roots_to_a_file_outside_is_refused(tmp_path: Path, workdir: Path):
    secret = tmp_path / "secret.txt"
    secret.write_bytes(b"worker secret")
    (workdir / "link").symlink_to(secret)
    ROOTS[:] = [workdir]
    with pytest.raises(StagingError, match="outside"):
        stager().fetch({"filename": "s", "url": (workdir / "link").as_uri()}, workdir / "s")
