"""Shapes that AWE's own clients read: its submitter, its Perl tools and its monitor page.

Pure functions from awe's records to the answers AWE v0.9.30+ gives (issue 14): the queue
status in both forms, the perf record, the workunit listing, base64 workunit ids.
"""

from __future__ import annotations

from typing import Any

from awe.model import updates
from awe.model.job import Job
from awe.model.jobscript import JobScriptError, parse_job_script


def parse_submission(raw: bytes | str, **kwargs: Any) -> Job:
    """A submitted script as a Job: `parse_job_script` plus the checks of update outputs."""
    job = parse_job_script(raw, **kwargs)
    problem = updates.script_problem(job)
    if problem is not None:
        raise JobScriptError(problem)
    return job
