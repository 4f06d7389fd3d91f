"""The cleaner removes finished work dirs later, and never one a workunit works in again."""

from __future__ import annotations

import time
from pathlib import Path

from awe.worker.cleaner import Cleaner


def test_a_cancelled_dir_is_kept_and_others_are_removed(tmp_path: Path) -> None:
    kept, removed = tmp_path / "aa" / "bb" / "cc" / "kept", tmp_path / "dd" / "removed"
    kept.mkdir(parents=True)
    removed.mkdir(parents=True)
    cleaner = Cleaner()
    cleaner.start()
    try:
        cleaner.remove_later(kept, 0.2)
        cleaner.cancel(kept)  # checked out again before its cleanup was due
        cleaner.remove_later(removed, 0.3)  # due after kept's time: removed means kept's passed
        deadline = time.monotonic() + 10
        while removed.exists() and time.monotonic() < deadline:
            time.sleep(0.02)
        assert not removed.exists()
        assert kept.is_dir()
    finally:
        cleaner.stop()
