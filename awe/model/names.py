"""Which names a job script may give: task ids and file names (issue: validation is total).

A task id becomes part of workunit ids (`<job>_<task>_<rank>`), URLs and datastore folders; a
file name becomes a file in a work dir and in the datastore. Both therefore come from a safe
set: nothing that splits an id (`_`, which AWE reserves), walks a path (`/`, `\\`, `.`, `..`)
or hides in a terminal (control characters). Real AWE scripts (`"0"`, `"qc"`,
`sample.299.screen_passed.fna`) pass.
"""

from __future__ import annotations

import re

MAX_NAME_BYTES = 255  # one path component on every common filesystem

_TASKID = re.compile(r"[A-Za-z0-9.\-]+")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def taskid_problem(value: object) -> str | None:
    """Why `value` cannot be a task id, or None when it can."""
    if not isinstance(value, str):
        return "must be a string"
    if value == "":
        return "must not be empty"
    if "_" in value:
        return "may not contain '_'"
    if value in (".", ".."):
        return f"may not be {value!r}"
    if len(value.encode()) > MAX_NAME_BYTES:
        return f"is longer than {MAX_NAME_BYTES} bytes"
    if not _TASKID.fullmatch(value):
        return "may contain only letters, digits, '.' and '-'"
    return None


def filename_problem(value: object) -> str | None:
    """Why `value` cannot be a file name (one path component), or None when it can."""
    if not isinstance(value, str):
        return "must be a string"
    if value == "":
        return "must not be empty"
    if value in (".", ".."):
        return f"may not be {value!r}"
    if "/" in value or "\\" in value:
        return "must be a single path component (no '/' or '\\')"
    if _CONTROL.search(value):
        return "may not contain control characters"
    if len(value.encode()) > MAX_NAME_BYTES:
        return f"is longer than {MAX_NAME_BYTES} bytes"
    return None
