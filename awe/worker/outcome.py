"""What a workunit ends as, and the report that carries it to the server (spec 9.1, 9.2, 14)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from awe.worker.client import FilePart
from awe.worker.runner import tail_bytes

STDOUT, STDERR, WORKNOTES = "awe_stdout.txt", "awe_stderr.txt", "awe_worknotes.txt"
REPORT_TAIL_BYTES = 4 * 1024 * 1024  # stdout/stderr sent with a report: at most their last 4 MiB


@dataclass
class Outcome:
    """How a workunit ended; `report_parts` turns it into the report's file parts."""

    status: str  # done | fail | discarded
    computetime: int
    workdir: Path
    notes: str = ""
    perf: dict[str, Any] | None = None
    outputs: list[dict[str, Any]] = field(default_factory=list)

    def report_parts(
        self, wuid: str, capture_output: bool, logs: bool = True
    ) -> dict[str, FilePart]:
        """Multipart file parts of the report (spec 9.1, 9.2, 14)."""
        parts: dict[str, FilePart] = {}
        if self.status == "done" and self.perf is not None:
            parts["perf"] = (f"{wuid}.perf", json.dumps(self.perf).encode(), "application/json")
        if self.status == "fail" and self.notes:
            parts["notes"] = ("notes.txt", self.notes.encode(), "text/plain")
        if self.outputs:
            parts["outputs"] = (
                "outputs.json",
                json.dumps(self.outputs).encode(),
                "application/json",
            )
        if capture_output and logs:
            for name, filename in (
                ("stdout", STDOUT),
                ("stderr", STDERR),
                ("worknotes", WORKNOTES),
            ):
                content = tail_bytes(self.workdir / filename, REPORT_TAIL_BYTES)
                if content:
                    parts[name] = (filename, content, "text/plain")
        return parts
