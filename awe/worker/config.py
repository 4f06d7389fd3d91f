"""The worker's configuration: conf/awe-worker.yaml → WorkerConfig, flags on top.

Every key, with its default, is documented in conf/awe-worker.yaml; this tree is the same.
"""

from __future__ import annotations

import socket
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from awe.config import ConfigError, from_mapping, load_yaml

LOG_LEVELS = ("debug", "info", "warning", "error")


@dataclass
class BackoffConfig:
    idle_s: float = 10.0
    error_s: float = 10.0
    error_after_10_s: float = 30.0
    suspended_s: float = 120.0


@dataclass
class ReportRetryConfig:
    initial_s: float = 1.0
    max_s: float = 60.0


@dataclass
class CleanupConfig:
    keep_work_dirs: bool = False
    done_delay_s: float = 60.0
    fail_delay_s: float = 1800.0


@dataclass
class TransferConfig:
    attempts: int = 10  # tries of one upload or download before the workunit fails
    pause_s: float = 1.0  # first pause between tries; doubles up to max_pause_s
    max_pause_s: float = 30.0


@dataclass
class WorkerConfig:
    server_url: str = "http://127.0.0.1:8001"
    name: str = ""  # empty, "default" or "hostname": this machine's host name
    group: str = "default"
    domain: str = "default"
    clientgroup_token: str = ""
    apps: list[str] = field(default_factory=lambda: ["*"])
    work_dir: str = "./awe-work"
    data_dir: str = ""  # empty: <work_dir>/_data
    slots: int = 1
    heartbeat_interval_s: float = 10.0
    checkout_wait_s: float = 30.0
    backoff: BackoffConfig = field(default_factory=BackoffConfig)
    capture_output: bool = True
    cleanup: CleanupConfig = field(default_factory=CleanupConfig)
    shutdown_grace_s: float = 30.0
    report_retry: ReportRetryConfig = field(default_factory=ReportRetryConfig)
    http_timeout_s: float = 60.0
    upload_retry_pause_s: float = 3.0
    # the server's datastore folder, when this machine shares it (same files, e.g. over NFS):
    # inputs are read from it, checked against the server's checksums; "" = over HTTP
    datastore_path: str = ""
    file_roots: list[str] = field(default_factory=list)  # more dirs file:// URLs may name
    transfer: TransferConfig = field(default_factory=TransferConfig)
    log_level: str = "info"

    @property
    def client_name(self) -> str:
        """The name the worker registers with."""
        if self.name in ("", "default", "hostname"):
            return socket.gethostname()
        return self.name

    @property
    def work_path(self) -> Path:
        return Path(self.work_dir).absolute()

    @property
    def data_path(self) -> Path:
        return Path(self.data_dir).absolute() if self.data_dir else self.work_path / "_data"

    @property
    def predata_path(self) -> Path:
        return self.data_path / "predata"

    @property
    def allowed_roots(self) -> list[Path]:
        """Where `file://` inputs and outputs may point: work dir, data dir, shared datastore,
        and `file_roots`; nowhere else (issue 10 item 4)."""
        roots = [self.work_path, self.data_path]
        if self.datastore_path:
            roots.append(Path(self.datastore_path).absolute())
        return roots + [Path(root).absolute() for root in self.file_roots]

    def validate(self) -> WorkerConfig:
        """Refuse values the worker cannot run with; the message names the key."""
        if not self.server_url.startswith(("http://", "https://")):
            raise ConfigError(
                f"server_url: must start with http:// or https://, got {self.server_url!r}"
            )
        if self.slots < 1:
            raise ConfigError(f"slots: must be at least 1, got {self.slots}")
        if not self.apps:
            raise ConfigError("apps: list at least one command name, or *")
        if self.log_level.lower() not in LOG_LEVELS:
            raise ConfigError(f"log_level: one of {', '.join(LOG_LEVELS)}, got {self.log_level!r}")
        positive = {
            "heartbeat_interval_s": self.heartbeat_interval_s,
            "report_retry.initial_s": self.report_retry.initial_s,
            "report_retry.max_s": self.report_retry.max_s,
            "http_timeout_s": self.http_timeout_s,
            "transfer.attempts": self.transfer.attempts,
        }
        for key, value in positive.items():
            if value <= 0:
                raise ConfigError(f"{key}: must be greater than 0, got {value}")
        for key, value in {
            "checkout_wait_s": self.checkout_wait_s,
            "shutdown_grace_s": self.shutdown_grace_s,
            "upload_retry_pause_s": self.upload_retry_pause_s,
            "transfer.pause_s": self.transfer.pause_s,
            "transfer.max_pause_s": self.transfer.max_pause_s,
        }.items():
            if value < 0:
                raise ConfigError(f"{key}: must not be negative, got {value}")
        return self


def load_worker_config(
    path: str | Path | None, overrides: dict[str, Any] | None = None
) -> WorkerConfig:
    """Load the YAML file (or defaults), then apply flag values that were given (not None)."""
    config = load_yaml(WorkerConfig, path)
    given = {k: v for k, v in (overrides or {}).items() if v is not None}
    if given:
        merged = asdict(config)
        merged.update(given)
        config = from_mapping(WorkerConfig, merged)
    return config.validate()
