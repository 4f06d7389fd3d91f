"""The worker process: register, heartbeat, `slots` checkout loops, reports, clean shutdown.

Threads: one heartbeat thread, one thread per slot (checkout → execute → report), one cleaner.
The set of held workunits (checked out, not yet reported) is the worker's `current_work`; it is
what a re-registration hands back to the server so it can re-attach them (spec 6.1 step 4).
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import socket
import threading
import time
from importlib import metadata
from typing import Any
from urllib.parse import urlparse

from awe.shock import ShockClient
from awe.worker.cleaner import Cleaner
from awe.worker.client import (
    CLIENT_DELETED,
    CLIENT_NOT_FOUND,
    CLIENT_SECRET,
    CLIENT_SUSPENDED,
    NO_WORK,
    ApiError,
    ServerApi,
    Unreachable,
    make_pool,
)
from awe.worker.config import WorkerConfig
from awe.worker.dataref import shared_datastore
from awe.worker.outcome import Outcome
from awe.worker.transfer import DatastoreClient
from awe.worker.workunit import Services, Workunit

log = logging.getLogger("awe.worker")


def worker_version() -> str:
    try:
        return metadata.version("awe")
    except metadata.PackageNotFoundError:
        return "0.0.0"


class Worker:
    """One awe-worker: `run()` returns the process exit code."""

    def __init__(self, config: WorkerConfig) -> None:
        self.config = config
        self.http = make_pool(config.slots)
        self.api = ServerApi(
            config.server_url, self.http, config.clientgroup_token, config.http_timeout_s
        )
        shock = ShockClient(self.http, config.http_timeout_s, config.upload_retry_pause_s)
        transfer = config.transfer
        self.datastore = DatastoreClient(
            self.http, config.server_url, self.api.auth_headers, lambda: self.client_id,
            timeout_s=config.http_timeout_s, attempts=transfer.attempts,
            pause_s=transfer.pause_s, max_pause_s=transfer.max_pause_s,
        )  # fmt: skip
        self.services = Services(
            config, self.api, self.http, shock, lambda: self.client_id, self.datastore
        )
        self.client_id = ""
        self.profile: dict[str, Any] = {}
        self.cleaner = Cleaner()
        self.stopping = threading.Event()  # no more checkouts
        self.exit_code = 0
        self.stop_reason = ""
        self.finished: list[str] = []
        self.handed_back: list[str] = []
        self.unreported: list[str] = []
        self._forced = threading.Event()  # kill running commands now
        self._heartbeat_done = threading.Event()
        self._held: dict[str, Workunit] = {}
        self._held_changed = threading.Condition()
        self._registration = threading.Lock()
        self._generation = 0  # +1 per successful (re-)registration
        self._report_deadline: float | None = None

    # ---- lifecycle ---------------------------------------------------------------------------

    def run(self) -> int:
        """Register, work until told to stop, hand back or finish what is held; exit code."""
        for path in (self.config.work_path, self.config.data_path, self.config.predata_path):
            path.mkdir(parents=True, exist_ok=True)
        if not self._register_at_start():
            return self.exit_code
        self.services.shared_datastore = shared_datastore(self.datastore, self.config)
        threads = [threading.Thread(target=self._heartbeat_loop, name="heartbeat", daemon=True)]
        slots = [
            threading.Thread(target=self._slot_loop, name=f"slot-{i + 1}", daemon=True)
            for i in range(self.config.slots)
        ]
        for thread in threads + slots:
            thread.start()
        self.cleaner.start()
        while not self.stopping.is_set():  # not Event.wait: a signal handler sets the event
            time.sleep(0.5)
        self._shutdown(slots)
        self._heartbeat_done.set()
        threads[0].join(self.config.http_timeout_s)
        self.cleaner.stop()
        return self.exit_code

    def request_stop(self, reason: str, exit_code: int = 0, force: bool = False) -> None:
        """Stop checking out; a second request (or `force`) kills running commands at once."""
        if self.stopping.is_set() or force:
            self._forced.set()
        if not self.stopping.is_set():
            self.stop_reason, self.exit_code = reason, exit_code
            self.stopping.set()
        with self._held_changed:
            self._held_changed.notify_all()

    def _shutdown(self, slots: list[threading.Thread]) -> None:
        grace = self.config.shutdown_grace_s
        held = self.held_ids()
        log.info(
            "stopping (%s): no more checkouts; %d workunit(s) running: %s",
            self.stop_reason,
            len(held),
            ", ".join(held) or "none",
        )
        deadline = time.monotonic() + grace
        with self._held_changed:
            while self._held_busy() and not self._forced.is_set():
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                self._held_changed.wait(min(left, 0.5))
        with self._held_changed:
            for workunit in self._held.values():
                workunit.discard("worker shutting down")
        self._report_deadline = time.monotonic() + max(grace, 5.0)
        self._join_slots(slots)
        with self._held_changed:  # slot threads append under this lock too
            self.unreported += [w for w in self._held if w not in self.unreported]
        log.info(
            "stopped: finished %s; handed back %s%s",
            ", ".join(self.finished) or "none",
            ", ".join(self.handed_back) or "none",
            f"; NOT reported {', '.join(self.unreported)}" if self.unreported else "",
        )

    def _join_slots(self, slots: list[threading.Thread]) -> None:
        """Wait for reports, and for open checkouts: work they bring in is handed back."""
        if self._report_deadline is None:
            raise RuntimeError("_join_slots before the report deadline was set")
        until = max(self._report_deadline, time.monotonic() + self.config.checkout_wait_s + 5)
        told = False
        while any(t.is_alive() for t in slots) and time.monotonic() < until:
            if not self._held and not told:
                log.info("waiting up to %.0fs for open checkout requests", until - time.monotonic())
                told = True
            if self._forced.is_set() and not self._held:
                log.warning("leaving open checkouts: work they get is requeued after the timeout")
                return
            for thread in slots:
                thread.join(0.1)

    def held_ids(self) -> list[str]:
        with self._held_changed:
            return list(self._held)

    def _held_busy(self) -> bool:
        return any(not w.discarded for w in self._held.values())

    # ---- registration ------------------------------------------------------------------------

    def _base_profile(self) -> dict[str, Any]:
        return {
            "name": self.config.client_name,
            "group": self.config.group,
            "domain": self.config.domain,
            "cores": os.cpu_count() or 1,
            "apps": list(self.config.apps),
            "host": self._host_ip(),
            "version": worker_version(),
            "current_work": {},
        }

    def _host_ip(self) -> str:
        """The local address used to reach the server (no packet is sent)."""
        parsed = urlparse(self.config.server_url)
        try:
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
                probe.connect((parsed.hostname or "127.0.0.1", parsed.port or 80))
                return str(probe.getsockname()[0])
        except OSError:
            return "127.0.0.1"

    def _register_at_start(self) -> bool:
        """Register, retrying while the server is unreachable; a refusal ends the worker."""
        self.profile = self._base_profile()
        errors = 0
        while not self.stopping.is_set():
            try:
                self._register(self.profile)
                return True
            except ApiError as err:
                log.error("registration refused by %s: %s", self.config.server_url, err)
                self.exit_code = 1
                return False
            except Unreachable as err:
                errors += 1
                log.warning("cannot reach %s to register: %s", self.config.server_url, err)
                self.stopping.wait(self._error_backoff(errors))
        return False

    def _register(self, profile: dict[str, Any]) -> None:
        record = self.api.register(profile)
        self.client_id = str(record["id"])
        self.profile = {**profile, "id": self.client_id}
        self._generation += 1
        saved = self.config.data_path / "clientprofile.json"
        saved.write_text(json.dumps(self.profile, indent=1))
        log.info(
            "registered as %s (name %s, group %s) with %s",
            self.client_id,
            self.profile["name"],
            self.profile["group"],
            self.config.server_url,
        )

    def reregister(self, seen_generation: int) -> bool:
        """`Client not found`: register again with the same id and the held workunits."""
        with self._registration:
            if self._generation != seen_generation:
                return True  # another thread already did it
            held = self.held_ids()
            profile = {**self.profile, "current_work": {w: True for w in held}}
            log.warning("server does not know client %s: registering again", self.client_id)
            try:
                try:
                    self._register(profile)
                except ApiError as err:
                    if err.message != CLIENT_SECRET:
                        raise
                    # its key changed: our id is lost, the work we hold is the server's again
                    log.warning("the server no longer takes client %s's secret: registering "
                                "as a new client", self.client_id)  # fmt: skip
                    self.api.secret = ""
                    self._register({k: v for k, v in profile.items() if k != "id"})
            except (ApiError, Unreachable) as err:
                log.error("re-registration failed: %s", err)
                return False
            if held:
                log.info("re-attached %s", ", ".join(held))
            return True

    # ---- heartbeat ---------------------------------------------------------------------------

    def _heartbeat_loop(self) -> None:
        while not self._heartbeat_done.wait(self.config.heartbeat_interval_s):
            generation = self._generation
            try:
                instructions = self.api.heartbeat(self.client_id)
            except ApiError as err:
                if err.message in (CLIENT_NOT_FOUND, CLIENT_SECRET):
                    self.reregister(generation)
                else:
                    log.warning("heartbeat refused: %s", err)
                continue
            except Unreachable as err:
                log.warning("heartbeat failed: %s", err)
                continue
            except Exception:  # a silent heartbeat gets this client declared lost
                log.exception("heartbeat: unexpected error; next beat in %.0fs",
                              self.config.heartbeat_interval_s)  # fmt: skip
                continue
            self._obey(instructions)

    def _obey(self, instructions: dict[str, str]) -> None:
        for wuid in filter(None, instructions.get("discard", "").split(",")):
            with self._held_changed:
                workunit = self._held.get(wuid)
            if workunit is not None:
                log.warning("server discards %s", wuid)
                workunit.discard("discarded by the server")
        if "stop" in instructions:
            log.warning("server asks client %s to stop", self.client_id)
            self.request_stop("the server asked to stop", force=True)

    # ---- checkout, execute, report -----------------------------------------------------------

    def _slot_loop(self) -> None:
        """One slot: checkout, execute, report, again; a bug in one round must not end it."""
        errors = 0
        while not self.stopping.is_set():
            try:
                errors = self._slot_round(errors)
            except Exception:
                log.exception("unexpected error in %s", threading.current_thread().name)
                self.stopping.wait(self.config.backoff.error_s)

    def _slot_round(self, errors: int) -> int:
        """One checkout and what follows; returns the consecutive checkout error count."""
        generation = self._generation
        asked = time.monotonic()
        try:
            doc = self.api.checkout(self.client_id, self._free_bytes(), self.config.checkout_wait_s)
        except ApiError as err:
            return self._checkout_refused(err, errors, generation, time.monotonic() - asked)
        except Unreachable as err:
            errors += 1
            log.warning("checkout failed (%d in a row): %s", errors, err)
            self.stopping.wait(self._error_backoff(errors))
            return errors
        self._work(doc, time.time())
        return 0

    def _checkout_refused(self, err: ApiError, errors: int, generation: int, took: float) -> int:
        """Act on a checkout error string (spec 11 step 3); returns the consecutive error count."""
        backoff = self.config.backoff
        if err.message in NO_WORK:
            wait = self.config.checkout_wait_s
            if wait <= 0 or took < wait * 0.9:  # the server did not hold the request
                log.debug("no work (%s); sleeping %.1fs", err.message, backoff.idle_s)
                self.stopping.wait(backoff.idle_s)
            return 0
        if err.message in (CLIENT_NOT_FOUND, CLIENT_SECRET):
            if not self.reregister(generation):
                self.stopping.wait(backoff.error_s)
            return errors
        if err.message == CLIENT_SUSPENDED:
            log.warning(
                "client %s is suspended; sleeping %.0fs", self.client_id, backoff.suspended_s
            )
            self.stopping.wait(backoff.suspended_s)
            return errors
        if err.message == CLIENT_DELETED:
            log.error("client %s was deleted on the server; exiting", self.client_id)
            self.request_stop("client deleted", exit_code=1, force=True)
            return errors
        errors += 1
        log.warning("checkout refused (%d in a row): %s", errors, err)
        self.stopping.wait(self._error_backoff(errors))
        return errors

    def _error_backoff(self, errors: int) -> float:
        backoff = self.config.backoff
        return backoff.error_s if errors <= 10 else backoff.error_after_10_s

    def _free_bytes(self) -> int:
        try:
            return shutil.disk_usage(self.config.work_path).free
        except OSError:
            return 0

    def _work(self, doc: dict[str, Any], checkout_time: float) -> None:
        workunit = Workunit(doc, self.services, checkout_time)
        wuid = workunit.wuid
        with self._held_changed:
            self._held[wuid] = workunit
        self.cleaner.cancel(workunit.workdir)  # the same wuid may come back before its cleanup
        log.info("checkout %s (%s)", wuid, (doc.get("cmd") or {}).get("name"))
        if self.stopping.is_set():
            workunit.discard("worker shutting down")
        try:
            outcome = workunit.execute()
        except Exception as err:  # a bug must not lose the workunit: report it failed
            log.exception("internal error in %s", wuid)
            outcome = Outcome("fail", 0, workunit.workdir, notes=f"worker internal error: {err!r}")
        with self._held_changed:
            self._held_changed.notify_all()
        sent = self.send_report(wuid, outcome)
        with self._held_changed:
            self._held.pop(wuid, None)
            if not sent:
                self.unreported.append(wuid)
            elif outcome.status == "discarded":
                self.handed_back.append(wuid)
            else:
                self.finished.append(wuid)
            self._held_changed.notify_all()
        self._schedule_cleanup(outcome)

    def send_report(self, wuid: str, outcome: Outcome) -> bool:
        """Report until the server answers: retry with backoff on connection errors and 5xx."""
        retry = self.config.report_retry
        delay, logs = retry.initial_s, True
        while True:
            generation = self._generation
            parts = outcome.report_parts(wuid, self.config.capture_output, logs)
            try:
                self.api.report(wuid, self.client_id, outcome.status, outcome.computetime, parts)
                log.info("reported %s %s", wuid, outcome.status)
                return True
            except ApiError as err:
                if err.message in (CLIENT_NOT_FOUND, CLIENT_SECRET):
                    if self.reregister(generation):
                        continue  # known again: send it now
                    # not re-registered yet: the report is not delivered, so keep trying
                elif err.status == 413 and logs:
                    log.warning("report of %s too large; sending it without logs", wuid)
                    logs = False
                    continue
                elif not err.retryable:
                    log.error("report %s %s refused: %s", wuid, outcome.status, err)
                    return True  # the server answered; retrying cannot change its mind
                log.warning("report of %s failed: %s; retrying in %.1fs", wuid, err, delay)
            except Unreachable as err:
                log.warning("report of %s not sent: %s; retrying in %.1fs", wuid, err, delay)
            deadline = self._report_deadline
            if deadline is not None and time.monotonic() + delay > deadline:
                log.error("giving up reporting %s %s: the worker is stopping", wuid, outcome.status)
                return False
            time.sleep(delay)
            delay = min(delay * 2, retry.max_s)

    def _schedule_cleanup(self, outcome: Outcome) -> None:
        cleanup = self.config.cleanup
        if cleanup.keep_work_dirs or not outcome.workdir.is_dir():
            return
        delay = cleanup.done_delay_s if outcome.status == "done" else cleanup.fail_delay_s
        self.cleaner.remove_later(outcome.workdir, delay)
