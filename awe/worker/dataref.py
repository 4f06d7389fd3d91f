"""Which datastore file an IO entry names, and whether this worker shares the datastore's folder.

An output or origin input kept by the server carries `datastore: true` and a url ending in
`/<job>/<task>/<file>` (an http URL of the server's /data route; older jobs: a `file://` URL).
The worker reads the three names from it, checks them, and reaches the file through its own
server URL, or through `datastore_path` when that folder really is the server's datastore.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, unquote, urlparse

from awe.datastore import MARKER
from awe.model.names import filename_problem, taskid_problem

if TYPE_CHECKING:
    from awe.worker.transfer import DatastoreClient

log = logging.getLogger("awe.worker")


class BadRef(ValueError):
    """A datastore url that names no safe file."""


@dataclass(frozen=True)
class DataRef:
    """A file in the server's datastore: job, task, file name."""

    job: str
    task: str
    filename: str

    @property
    def path(self) -> str:
        return "/data/" + "/".join(quote(n, safe="") for n in (self.job, self.task, self.filename))


def datastore_ref(io: dict[str, Any]) -> DataRef | None:
    """The datastore file an IO entry names (its url's last three parts), or None if elsewhere."""
    if not io.get("datastore") or io.get("host"):
        return None
    parts = [unquote(p) for p in urlparse(io.get("url") or "").path.split("/")]
    if len(parts) < 4:
        raise BadRef(f"{io.get('filename')}: datastore url {io.get('url')!r} names no file")
    job, task, filename = parts[-3:]
    problem = filename_problem(job) or taskid_problem(task) or filename_problem(filename)
    if problem:
        raise BadRef(f"{io.get('filename')}: datastore url {io.get('url')!r}: {problem}")
    return DataRef(job, task, filename)


def shared_datastore(client: DatastoreClient, config: Any) -> Path | None:
    """`datastore_path`, if the server's datastore really is there (its marker file says so)."""
    if not config.datastore_path:
        log.info("datastore: files move over HTTP (%s/data)", client.base)
        return None
    path = Path(config.datastore_path).absolute()
    from awe.worker.transfer import TransferError  # transfer imports this module

    try:
        ident = client.server_id()
    except TransferError as err:
        log.warning("datastore: cannot ask the server for its id (%s): using HTTP", err)
        return None
    try:
        mine = (path / MARKER).read_text().strip()
    except OSError:
        mine = ""
    if ident and mine == ident:
        log.info("datastore: inputs are read from the shared path %s", path)
        return path
    log.warning(
        "datastore_path %s is not this server's datastore (its %s holds %r, the server's id "
        "is %r): using HTTP", path, MARKER, mine, ident,
    )  # fmt: skip
    return None
