"""The worker's datastore transfers: resumed when cut, verified, retried, refused with reasons."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path

import pytest

from awe.model.shares import line_share
from awe.worker.client import make_pool
from awe.worker.dataref import BadRef, DataRef, datastore_ref, shared_datastore
from awe.worker.transfer import Cancelled, DatastoreClient, TransferError
from tests.worker.fake_datastore import FakeDatastore

REF = DataRef("job1", "0", "big.txt")
BIG = b"".join(f"line {i:07d}\n".encode() for i in range(200_000))  # 2.6 MB


@pytest.fixture
def ds() -> Iterator[FakeDatastore]:
    fake = FakeDatastore().start()
    fake.files[REF.path] = BIG
    yield fake
    fake.stop()


def client(ds: FakeDatastore, attempts: int = 5) -> DatastoreClient:
    return DatastoreClient(make_pool(1), ds.url, {}, lambda: "c1", timeout_s=10,
                           attempts=attempts, pause_s=0.01, max_pause_s=0.02)  # fmt: skip


def never() -> bool:
    return False


def test_a_download_cut_twice_resumes_where_it_stopped(ds: FakeDatastore, tmp_path: Path):
    ds.cuts = [100_000, 300_000]
    dest = tmp_path / "big.txt"
    assert client(ds).download(REF, dest, never) == len(BIG)
    assert dest.read_bytes() == BIG
    assert ds.ranges == [f"bytes=0-{len(BIG) - 1}", f"bytes=100000-{len(BIG) - 1}",
                         f"bytes=400000-{len(BIG) - 1}"]  # fmt: skip
    assert [p.name for p in tmp_path.iterdir()] == ["big.txt"]  # no partial file left


def test_corrupt_bytes_are_fetched_again_and_never_kept(ds: FakeDatastore, tmp_path: Path):
    ds.corrupt = 1
    dest = tmp_path / "big.txt"
    client(ds).download(REF, dest, never)
    assert dest.read_bytes() == BIG
    ds.corrupt = 2
    with pytest.raises(TransferError, match="checksum mismatch for big.txt: expected md5"):
        client(ds).download(REF, tmp_path / "again.txt", never)
    assert not (tmp_path / "again.txt").exists()


def test_a_file_replaced_mid_download_is_fetched_anew(ds: FakeDatastore, tmp_path: Path):
    ds.cuts = [1000]
    ds.replace_with = b"a new version\n"
    dest = tmp_path / "f"
    client(ds).download(REF, dest, never)
    assert dest.read_bytes() == b"a new version\n"


def test_a_rank_fetches_only_its_share(ds: FakeDatastore, tmp_path: Path):
    dest = tmp_path / "share"
    size = client(ds).download(REF, dest, never, share=(2, 3))
    assert dest.read_bytes() == line_share(BIG, 2, 3)
    assert size < len(BIG) // 2
    start = len(line_share(BIG, 1, 3))
    assert ds.ranges == [f"bytes={start}-{start + size - 1}"]
    assert ds.metas == ["meta&rank=2&totalwork=3&client=c1"]  # read by its lease


def test_uploads_are_retried_and_verified(ds: FakeDatastore, tmp_path: Path):
    local = tmp_path / "out.txt"
    local.write_bytes(BIG)
    ds.put_failures = [503, 422]
    stored = client(ds).upload(local, DataRef("job1", "1", "out.txt"), 2, never)
    assert stored["md5"] == hashlib.md5(BIG).hexdigest()
    assert ds.files["/data/job1/1/out.txt"] == BIG
    assert ds.puts == ["client=c1&rank=2"] * 3


def test_a_refusal_stops_at_once_with_the_servers_reason(ds: FakeDatastore, tmp_path: Path):
    local = tmp_path / "out.txt"
    local.write_bytes(b"x")
    ds.refusal = "client c1 does not hold workunit job1_1_0"
    with pytest.raises(TransferError, match="does not hold workunit"):
        client(ds).upload(local, DataRef("job1", "1", "out.txt"), 0, never)
    assert len(ds.puts) == 1


def test_retries_end_with_a_clear_note(ds: FakeDatastore, tmp_path: Path):
    local = tmp_path / "out.txt"
    local.write_bytes(b"x")
    ds.put_failures = [503] * 5
    with pytest.raises(TransferError, match="gave up after 3 attempts"):
        client(ds, attempts=3).upload(local, DataRef("job1", "1", "out.txt"), 0, never)


def test_a_discarded_workunit_stops_its_transfer(ds: FakeDatastore, tmp_path: Path):
    with pytest.raises(Cancelled):
        client(ds).download(REF, tmp_path / "x", lambda: True)


def test_a_shared_path_is_used_only_when_its_marker_matches(ds: FakeDatastore, tmp_path: Path):
    root = tmp_path / "shared"
    (root / "job1" / "0").mkdir(parents=True)
    (root / "job1" / "0" / "big.txt").write_bytes(BIG)
    config = type("C", (), {"datastore_path": str(root)})()
    assert shared_datastore(client(ds), config) is None  # no marker
    (root / ".awe-datastore").write_text("ds-1\n")
    assert shared_datastore(client(ds), config) == root
    dest = tmp_path / "share"
    client(ds).download(REF, dest, never, share=(3, 3), shared_root=root)
    assert dest.read_bytes() == line_share(BIG, 3, 3)
    assert ds.ranges == []  # the bytes came from the shared path
    (root / "job1" / "0" / "big.txt").write_bytes(BIG.replace(b"line", b"LINE"))
    with pytest.raises(TransferError, match="checksum mismatch"):
        client(ds).download(REF, dest, never, shared_root=root)


def test_datastore_refs_come_from_the_url_and_are_checked() -> None:
    io = {"filename": "f", "datastore": True, "url": "http://h:1/data/j/0/a%20b.txt"}
    assert datastore_ref(io) == DataRef("j", "0", "a b.txt")
    assert datastore_ref({"filename": "f", "url": "http://h/x"}) is None
    assert datastore_ref({**io, "url": "file:///srv/ds/j/0/out"}) == DataRef("j", "0", "out")
    with pytest.raises(BadRef):
        datastore_ref({**io, "url": "http://h/data/j/../out"})
    with pytest.raises(BadRef):
        datastore_ref({**io, "url": "http://h/data/j/0/..%2F..%2Fx"})


def test_an_empty_file_goes_up_and_comes_back(ds: FakeDatastore, tmp_path: Path):
    local = tmp_path / "empty"
    local.write_bytes(b"")
    ref = DataRef("job1", "1", "empty")
    assert client(ds).upload(local, ref, 0, never)["size"] == 0
    assert client(ds).download(ref, tmp_path / "back", never) == 0
    assert (tmp_path / "back").read_bytes() == b""


def test_a_file_over_the_servers_cap_is_refused_before_it_is_sent(ds: FakeDatastore, tmp_path):
    local = tmp_path / "big"
    local.write_bytes(b"x" * 2000)
    ds.max_file_bytes = 1000
    with pytest.raises(TransferError, match="over the server's limit of 1000 bytes"):
        client(ds).upload(local, DataRef("job1", "1", "big"), 0, never)
    assert ds.puts == []
