"""One workunit, step by step: work dir, token, predata, inputs, command, outputs (spec 11).

`Workunit.execute()` never raises for a failing step: every failure becomes status `fail` with a
`###[<stage>]<message>` line in the worknotes, so the workunit is always reported. A discard
(heartbeat or shutdown) turns it into `discarded` at the next step or chunk, killing the command.
"""

from __future__ import annotations

import json
import logging
import os
import re
import shlex
import shutil
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import urllib3

from awe.paths import PathEscape, inside
from awe.shock import ShockClient
from awe.worker.client import ApiError, ServerApi, Unreachable
from awe.worker.config import WorkerConfig
from awe.worker.outcome import STDERR, STDOUT, WORKNOTES, Outcome
from awe.worker.runner import Command, RunResult, expand_args, split_args, tail
from awe.worker.staging import Cancelled, Stager, StagingError, allowed_file, cut_share
from awe.worker.transfer import DatastoreClient

log = logging.getLogger("awe.worker")

NO_FILE_TYPES = ("copy", "update", "subset")  # outputs the worker sends no file for (spec 11, 6a)
SAFE_WUID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{5,}$")


def workdir_for(root: Path, wuid: str) -> Path:
    """<root>/<w[0:2]>/<w[2:4]>/<w[4:6]>/<wuid>, as AWE lays it out; never outside `root`."""
    if not SAFE_WUID.match(wuid):
        raise ValueError(f"invalid work id: {wuid!r}")
    try:
        return inside(root, wuid[0:2], wuid[2:4], wuid[4:6], wuid)
    except PathEscape as err:
        raise ValueError(f"invalid work id: {err}") from None


class StepFailed(Exception):
    """A step failed; `stage` names it in the worknotes."""

    def __init__(self, stage: str, message: str) -> None:
        super().__init__(message)
        self.stage = stage
        self.message = message


@dataclass
class Services:
    """What every workunit of one worker shares."""

    config: WorkerConfig
    api: ServerApi
    http: urllib3.PoolManager
    shock: ShockClient
    client_id: Callable[[], str]
    datastore: DatastoreClient | None = None  # the server's datastore over HTTP
    shared_datastore: Path | None = None  # set when this machine shares the datastore's path


class Workunit:
    """A checked-out workunit on this worker."""

    def __init__(self, doc: dict[str, Any], services: Services, checkout_time: float) -> None:
        self.doc = doc
        self.wuid: str = str(doc.get("wuid") or "")
        self.services = services
        self.config = services.config
        try:  # a malformed workunit is still reported (fail), never dropped
            self.rank = int(doc.get("rank") or 0)
            self.totalwork = int(doc.get("totalwork") or 1)
            self.workdir = workdir_for(self.config.work_path, self.wuid)
            self.invalid = ""
        except (TypeError, ValueError) as err:
            self.rank, self.totalwork = 0, 1
            self.workdir, self.invalid = self.config.work_path / "_invalid", str(err)
        self.perf: dict[str, Any] = {
            "checkout": int(checkout_time),
            "client_id": services.client_id(),
        }
        self.worknotes: list[str] = []
        self.outputs: list[dict[str, Any]] = []
        self.runtime_s = 0.0
        self.discard_reason = ""
        self._discarded = threading.Event()
        self._command: Command | None = None
        self._lock = threading.Lock()

    @property
    def discarded(self) -> bool:
        return self._discarded.is_set()

    @property
    def computetime(self) -> int:
        """Whole seconds the command ran (the report's `computetime`)."""
        return int(round(self.runtime_s))

    @property
    def running(self) -> bool:
        """True while its command runs."""
        return self._command is not None

    def discard(self, reason: str) -> None:
        """Stop this workunit wherever it is; it will be reported `discarded`."""
        with self._lock:
            if not self._discarded.is_set():
                self.discard_reason = reason
                self._discarded.set()
            command = self._command
        if command is not None:
            command.kill()

    def execute(self) -> Outcome:
        """Run every step; always returns an outcome to report."""
        started = time.monotonic()
        try:
            if self.invalid:
                raise StepFailed("workdir", self.invalid)
            self._check_discarded()
            self._prepare_workdir()
            self._check_locations()
            stager = self._stager()
            files = self._stage_in(stager)
            result = self._run(files, self._private_env())
            self._stage_out(stager)
        except Cancelled:
            return self._discarded_outcome()
        except StepFailed as failure:
            if self.discarded:
                return self._discarded_outcome()
            return self._failed_outcome(failure)
        deliver = time.time()
        self.perf.update(
            deliver=int(deliver),
            clientresp=int(deliver) - self.perf["checkout"],
            runtime=self.computetime,
            max_mem_usage=result.max_rss_bytes,
        )
        self._write_worknotes()
        log.info("done %s in %.1fs", self.wuid, time.monotonic() - started)
        return Outcome("done", self.computetime, self.workdir, perf=self.perf, outputs=self.outputs)

    # ---- steps -------------------------------------------------------------------------------

    def _prepare_workdir(self) -> None:
        try:
            if self.workdir.exists() or self.workdir.is_symlink():
                shutil.rmtree(self.workdir)
            for attempt in range(3):  # the cleaner may remove an empty parent meanwhile
                try:
                    self.workdir.mkdir(parents=True)
                    break
                except FileNotFoundError:
                    if attempt == 2:
                        raise
        except OSError as err:
            raise StepFailed("workdir", f"cannot create {self.workdir}: {err}") from err

    def _stager(self) -> Stager:
        token = None
        if (self.doc.get("info") or {}).get("auth"):
            token = self._ask_server("datatoken", self.services.api.datatoken)
        return Stager(
            self.services.http,
            self.services.shock,
            token,
            cancelled=self._discarded.is_set,
            timeout_s=self.config.http_timeout_s,
            roots=self.config.allowed_roots,
            datastore=self.services.datastore,
            shared_datastore=self.services.shared_datastore,
        )

    def _check_locations(self) -> None:
        """Every `file://` location lies in the worker's roots, checked before anything runs."""
        roots = self.config.allowed_roots
        for stage, label in (("predata", "predata"), ("inputs", "input"), ("outputs", "output")):
            for io in self.doc.get(stage) or []:
                url = str(io.get("url") or "") if isinstance(io, dict) else ""
                if url.startswith("file://") and not io.get("datastore"):
                    try:
                        allowed_file(url, roots, f"{label} {io.get('filename')}:")
                    except StagingError as err:
                        raise StepFailed(stage, f"{err} before the command ran") from err

    def _private_env(self) -> dict[str, str]:
        if not (self.doc.get("cmd") or {}).get("has_private_env"):
            return {}
        return self._ask_server("privateenv", self.services.api.privateenv)

    def _ask_server(self, stage: str, call: Callable[[str, str], Any]) -> Any:
        self._check_discarded()
        try:
            return call(self.wuid, self.services.client_id())
        except (ApiError, Unreachable) as err:
            raise StepFailed(stage, f"cannot get the {stage} of {self.wuid}: {err}") from err

    def _stage_in(self, stager: Stager) -> dict[str, Path]:
        """Predata, inputs, attributes, userattr.json; returns filename → path for `@name`."""
        files: dict[str, Path] = {}
        t0, size = time.monotonic(), 0
        for io in self.doc.get("predata") or []:
            self._check_discarded()
            try:
                link = self.local("predata", io["filename"])
                got, hit = stager.fetch_predata(io, self.config.predata_path, link)
            except StagingError as err:
                raise StepFailed("predata", str(err)) from err
            log.info(
                "predata %s %s (%d bytes)", io["filename"], "cached" if hit else "fetched", got
            )
            size += got
            files[io["filename"]] = link
        self.perf.update(time_predata_in=time.monotonic() - t0, size_predata=size)
        t0, size = time.monotonic(), 0
        for io in self.doc.get("inputs") or []:
            self._check_discarded()
            files[io["filename"]] = self.local("inputs", io["filename"])
            try:
                size += self._fetch_input(stager, io)
            except StagingError as err:
                raise StepFailed("inputs", str(err)) from err
        self.perf.update(time_data_in=time.monotonic() - t0, size_infile=size)
        self._write_userattr()
        return files

    def _fetch_input(self, stager: Stager, io: dict[str, Any]) -> int:
        dest = self.local("inputs", io["filename"])
        size = 0
        if not io.get("nofile"):
            share = self._share_of(io)
            if share and io.get("datastore") and io.get("uncompress") != "gzip":
                size = stager.fetch(io, dest, share)  # only this rank's bytes travel (D18)
            else:
                size = stager.fetch(io, dest)
                if share:
                    size = cut_share(dest, *share)
            log.info("input %s (%d bytes) for %s", io["filename"], size, self.wuid)
        if io.get("attrfile"):
            stager.fetch_attributes(io, self.local("inputs", io["attrfile"]))
        return size

    def _share_of(self, io: dict[str, Any]) -> tuple[int, int] | None:
        """(rank, totalwork) when `io` is the input this split workunit gets a share of."""
        part = self.doc.get("part")
        if not isinstance(part, dict) or part.get("input") != io["filename"]:
            return None
        rank = int(part.get("rank") or self.rank)
        total = int(part.get("totalwork") or self.totalwork)
        return (rank, total) if total > 1 and rank >= 1 else None

    def _write_userattr(self) -> None:
        merged = dict((self.doc.get("info") or {}).get("userattr") or {})
        merged.update(self.doc.get("userattr") or {})
        if merged:
            (self.workdir / "userattr.json").write_text(json.dumps(merged))

    def _run(self, files: dict[str, Path], private: dict[str, str]) -> RunResult:
        cmd = self.doc.get("cmd") or {}
        env = self._child_env(cmd, private)
        try:
            argv = [
                cmd.get("name") or "",
                *expand_args(split_args(cmd.get("args") or ""), files, os.environ),
            ]
        except ValueError as err:
            raise StepFailed("run", str(err)) from err
        command = Command(argv, self.workdir, env, self.workdir / STDOUT, self.workdir / STDERR)
        with self._lock:
            if self.discarded:
                raise Cancelled()
            self._command = command
        log.info("run %s", shlex.join(argv))
        try:
            result = command.run()
        finally:
            with self._lock:
                self._command = None
        self.runtime_s = result.runtime_s
        if result.killed or self.discarded:
            raise Cancelled()
        if result.returncode is None:
            raise StepFailed("run", result.error)
        if result.returncode != 0:
            raise StepFailed("run", f"command {argv[0]} exited with status {result.returncode}")
        return result

    def _child_env(self, cmd: dict[str, Any], private: dict[str, str]) -> dict[str, str]:
        """The worker's environment + public + private + AWE_* (spec 12 item 15, D18)."""
        env = dict(os.environ)
        env.update(
            {str(k): str(v) for k, v in ((cmd.get("environ") or {}).get("public") or {}).items()}
        )
        env.update(private)
        job, _, rest = self.wuid.partition("_")
        env.update(
            AWE_WORKUNIT=self.wuid,
            AWE_JOB=job,
            AWE_TASK=rest.rpartition("_")[0],
            AWE_RANK=str(self.rank),
            AWE_TOTALWORK=str(self.totalwork),
        )
        return env

    def _stage_out(self, stager: Stager) -> None:
        t0, size = time.monotonic(), 0
        for io, local in self._check_outputs():
            self._check_discarded()
            try:
                record = stager.deliver(io, local, self.rank, self._output_attributes(io))
            except StagingError as err:
                raise StepFailed("outputs", str(err)) from err
            log.info(
                "output %s (%d bytes) delivered for %s", io["filename"], record["size"], self.wuid
            )
            self.outputs.append(record)
            size += record["size"]
        self._update_nodes(stager)
        self.perf.update(time_data_out=time.monotonic() - t0, size_outfile=size)

    def _update_nodes(self, stager: Stager) -> None:
        """`type: update` outputs give their attributes to the node an earlier task made."""
        if self.rank > 1:  # as AWE: attributes come with rank 0 or the first part only
            return
        for io in self.doc.get("outputs") or []:
            if io.get("type") != "update":
                continue
            attributes = self._output_attributes(io)
            if attributes is None:
                continue
            try:
                stager.update_attributes(io, attributes)
            except StagingError as err:
                raise StepFailed("outputs", str(err)) from err
            log.info("node %s of output %s updated for %s", io.get("node"), io["filename"],
                     self.wuid)  # fmt: skip

    def _check_outputs(self) -> list[tuple[dict[str, Any], Path]]:
        """Every output file exists (and is non-empty when asked); renamed to shockfilename."""
        found = []
        for io in self.doc.get("outputs") or []:
            if io.get("nofile") or io.get("type") in NO_FILE_TYPES:
                continue
            local = self.local("outputs", io.get("directory") or "", io["filename"])
            if not local.is_file():
                raise StepFailed(
                    "outputs", f"output {io['filename']} not generated for workunit {self.wuid}"
                )
            if io.get("nonzero") and local.stat().st_size == 0:
                raise StepFailed(
                    "outputs", f"output {io['filename']} is empty for workunit {self.wuid}"
                )
            if io.get("shockfilename"):
                renamed = self.local("outputs", str(local.parent), io["shockfilename"])
                local.rename(renamed)
                local = renamed
            found.append((io, local))
        return found

    def _output_attributes(self, io: dict[str, Any]) -> bytes | None:
        if io.get("attrfile"):
            path = self.local("outputs", io["attrfile"])
            if path.is_file():
                return path.read_bytes()
            log.warning("attrfile %s of output %s not found", io["attrfile"], io["filename"])
        if io.get("nodeattr"):
            return json.dumps(io["nodeattr"]).encode()
        return None

    def local(self, stage: str, *names: str) -> Path:
        """A path in the work dir named by the workunit; refuses names that lead out of it,
        through `..` or through a link the command made (an output linked to a worker secret)."""
        try:
            path = inside(self.workdir, *[n for n in names if n])
        except PathEscape:
            path = self.workdir
        if path == self.workdir.resolve():
            raise StepFailed(stage, f"file name {'/'.join(names)!r} leads out of the work dir")
        return path

    # ---- outcomes ----------------------------------------------------------------------------

    def _check_discarded(self) -> None:
        if self.discarded:
            raise Cancelled()

    def _failed_outcome(self, failure: StepFailed) -> Outcome:
        self.worknotes.append(f"###[{failure.stage}]{failure.message}")
        self._write_worknotes()
        notes = failure.message
        if failure.stage == "run":
            stderr_tail = tail(self.workdir / STDERR)
            if stderr_tail:
                notes += f"\nstderr (end):\n{stderr_tail}"
        log.error("fail %s: [%s] %s", self.wuid, failure.stage, failure.message)
        return Outcome("fail", self.computetime, self.workdir, notes=notes, outputs=self.outputs)

    def _discarded_outcome(self) -> Outcome:
        self.worknotes.append(f"###[discard]{self.discard_reason or 'discarded'}")
        self._write_worknotes()
        log.warning("discarded %s: %s", self.wuid, self.discard_reason)
        return Outcome("discarded", self.computetime, self.workdir, notes=self.discard_reason)

    def _write_worknotes(self) -> None:
        if self.worknotes and self.workdir.is_dir():
            with open(self.workdir / WORKNOTES, "a") as f:
                f.write("\n".join(self.worknotes) + "\n")
