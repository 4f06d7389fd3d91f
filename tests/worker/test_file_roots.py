"""file:// inputs and outputs stay inside the worker's roots; outputs cannot link out (issue 10.4)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from awe.worker.config import WorkerConfig
from awe.worker.workunit import workdir_for
from tests.worker.fake_awe import FakeAwe
from tests.worker.helpers import workunit_doc
from tests.worker.test_workunit import make_workunit


@pytest.fixture
def secret(tmp_path: Path) -> Path:
    path = tmp_path / "secrets" / "worker.key"
    path.parent.mkdir()
    path.write_bytes(b"the worker's secret\n")
    return path


@pytest.fixture
def run(make_config: Callable[..., WorkerConfig], fake_awe: FakeAwe, tmp_path: Path):
    """Execute a workunit with file_roots = [tmp_path/allowed] only."""
    allowed = tmp_path / "allowed"
    allowed.mkdir()

    def execute(doc: dict[str, Any]):
        fake_awe.held[doc["wuid"]] = "c1"
        config = make_config(file_roots=[str(allowed)])
        return make_workunit(doc, config, fake_awe).execute()

    return execute


def test_an_input_outside_the_roots_fails_before_the_command_runs(run, secret, tmp_path):
    marker = tmp_path / "ran"
    doc = workunit_doc("touch", str(marker),
                       inputs=[{"filename": "key", "url": secret.as_uri()}])  # fmt: skip
    outcome = run(doc)
    assert outcome.status == "fail"
    assert f"input key: {secret.as_uri()} is outside the worker's file roots" in outcome.notes
    assert "before the command ran" in outcome.notes
    assert not marker.exists()


def test_an_output_outside_the_roots_fails_before_the_command_runs(run, secret, tmp_path):
    marker = tmp_path / "ran"
    doc = workunit_doc("touch", str(marker),
                       outputs=[{"filename": "k", "url": secret.as_uri()}])  # fmt: skip
    outcome = run(doc)
    assert outcome.status == "fail" and "output k:" in outcome.notes
    assert not marker.exists()
    assert secret.read_bytes() == b"the worker's secret\n"


def test_an_output_linked_to_a_file_outside_the_work_dir_is_not_sent(run, secret, tmp_path):
    dest = tmp_path / "allowed" / "out.txt"
    doc = workunit_doc("ln", f"-s {secret} out.txt",
                       outputs=[{"filename": "out.txt", "url": dest.as_uri()}])  # fmt: skip
    outcome = run(doc)
    assert outcome.status == "fail"
    assert "leads out of the work dir" in outcome.notes
    assert not dest.exists()


def test_files_inside_the_roots_are_used(run, tmp_path):
    source = tmp_path / "allowed" / "in.txt"
    source.write_bytes(b"fine\n")
    dest = tmp_path / "allowed" / "copy.txt"
    doc = workunit_doc("cp", "@in.txt out.txt",
                       inputs=[{"filename": "in.txt", "url": source.as_uri()}],
                       outputs=[{"filename": "out.txt", "url": dest.as_uri()}])  # fmt: skip
    assert run(doc).status == "done"
    assert dest.read_bytes() == b"fine\n"


@pytest.mark.parametrize("wuid", ["ab....x_0_0", "......_0_0"])
def test_a_work_id_cannot_walk_out_of_the_work_root(tmp_path: Path, wuid: str) -> None:
    with pytest.raises(ValueError, match="invalid work id"):
        workdir_for(tmp_path / "work", wuid)
