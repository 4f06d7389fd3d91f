"""YAML configuration → typed dataclasses; every error names the key that caused it.

`conf/awe-server.yaml` documents every key with its default; the dataclasses below are the
same tree. The generic loader (`from_mapping`) is shared with the worker's config.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import yaml

T = TypeVar("T")


class ConfigError(Exception):
    """A configuration file or flag is wrong; the message names the key."""


EVENT_LOOPS = ("uvloop", "asyncio")


@dataclass
class ApiConfig:
    host: str = "127.0.0.1"
    port: int = 8001
    external_url: str = ""
    max_body_bytes: int = 1024 * 1024 * 1024
    ask_timeout_s: float = 30.0  # a request the actors do not answer in time gets a JSON 504
    # web pages on other origins that may call the API from a browser ("*": any, unsafe);
    # a state-changing request from any other origin is refused (awe.model.origins)
    allowed_origins: list[str] = field(default_factory=list)
    # uvloop (libuv) under Tornado's asyncio IOLoop: ~20% less CPU per request; asyncio: the
    # standard library's loop
    event_loop: str = "uvloop"

    def __post_init__(self) -> None:
        from awe.model.origins import origin_problem

        if self.event_loop not in EVENT_LOOPS:
            raise ConfigError(
                f"api.event_loop: {self.event_loop!r} is not one of {', '.join(EVENT_LOOPS)}"
            )

        for origin in self.allowed_origins:
            problem = origin_problem(origin)
            if problem:
                raise ConfigError(f"api.allowed_origins: {origin!r} {problem}")


@dataclass
class PathsConfig:
    data: str = "./awe-data"
    logs: str = ""  # empty: log to stderr only


@dataclass
class EmbeddedStoreConfig:
    path: str = ""  # empty: <paths.data>/awe.sqlite3
    synchronous: str = "full"  # full | normal (SQLite PRAGMA synchronous, WAL mode)


@dataclass
class WriteConcernConfig:
    w: int | str = 1
    j: bool = True


@dataclass
class MongoConfig:
    uri: str = ""  # set to use MongoDB instead of the embedded store
    database: str = "AWEDB"
    timeout_s: float = 10.0
    write_concern: WriteConcernConfig = field(default_factory=WriteConcernConfig)


@dataclass
class StoreConfig:
    embedded: EmbeddedStoreConfig = field(default_factory=EmbeddedStoreConfig)
    mongodb: MongoConfig = field(default_factory=MongoConfig)


@dataclass
class QueueConfig:
    max_work_failure: int = 3
    max_client_failure: int = 5
    client_timeout_s: float = 40.0
    client_check_interval_s: float = 5.0
    page_size: int = 25
    default_order: str = "updatetime"
    recover: bool = True
    max_checkout_wait_s: float = 300.0


@dataclass
class AnonymousConfig:
    read: bool = True
    write: bool = True
    delete: bool = True


ACCESS_LEVELS = ("anyone", "readers", "users", "admins")


@dataclass
class AuthConfig:
    client_auth_required: bool = False
    admin_users: list[str] = field(default_factory=list)
    admin_email: str = ""
    # bearer token -> user name; a user listed in admin_users is an admin
    tokens: dict[str, str] = field(default_factory=dict)
    # clientgroup name -> token a worker of that group sends as "Authorization: CG_TOKEN <t>"
    clientgroup_tokens: dict[str, str] = field(default_factory=dict)
    # more `Authorization: <prefix> <token>` schemes besides Bearer and OAuth (AWE's
    # `[Auth] oauth_bearers`, e.g. MG-RAST's "mgrast"); the token is looked up in `tokens`
    oauth_bearers: list[str] = field(default_factory=list)
    # accept calls as a client id without that client's secret from workers that registered
    # without one (AWE v0.9 workers), once auth is on; weaker: see SECURITY.md
    legacy_clients: bool = False
    # who may GET /queue and GET /metrics: anyone | readers | users | admins
    queue_access: str = "readers"
    metrics_access: str = "anyone"
    # the key worker secrets are derived from; empty: <paths.data>/client-secret.key
    client_key_file: str = ""

    def __post_init__(self) -> None:
        for key in ("queue_access", "metrics_access"):
            if getattr(self, key) not in ACCESS_LEVELS:
                levels = " | ".join(ACCESS_LEVELS)
                raise ConfigError(f"auth.{key}: {getattr(self, key)!r} is not one of {levels}")
        for prefix in self.oauth_bearers:
            if not prefix or not prefix.isascii() or not prefix.replace("_", "").isalnum():
                raise ConfigError(f"auth.oauth_bearers: {prefix!r} is not a word")
        self.oauth_bearers = [prefix.lower() for prefix in self.oauth_bearers]


@dataclass
class ReportsConfig:
    max_bytes: int = 0  # deprecated: 0 = limits.report_bytes applies; any other value wins


MIB = 1024 * 1024


@dataclass
class LimitsConfig:
    """What one request may ask of the server; each default protects a 2-core, 24 GB machine."""

    tasks_per_job: int = 10_000
    totalwork_per_task: int = 100_000
    workunits_per_job: int = 100_000
    job_script_bytes: int = 16 * MIB
    report_bytes: int = 16 * MIB
    listing_limit: int = 1_000
    registered_clients: int = 2_000


@dataclass
class DatastoreConfig:
    root: str = ""  # empty: <paths.data>/datastore
    create_shock_nodes: bool = True  # pre-create Shock output nodes before enqueueing a task
    shock_timeout_s: float = 30.0
    max_file_bytes: int = 100 * 1024**3  # largest file one upload may store (JSON 413 past it)
    retention: str = ""  # "30d", "12h": finished jobs' files go this long after; "" keeps them
    retention_check_interval_s: float = 3600.0
    throttle_bytes_per_s: int = 0  # per transfer, both ways; 0 = as fast as it goes
    index_chunk_bytes: int = 1024 * 1024  # the line index keeps one line start per chunk

    def __post_init__(self) -> None:
        from awe.model.retention import parse_duration

        try:
            parse_duration(self.retention)
        except ValueError as err:
            raise ConfigError(f"datastore.retention: {err}") from None
        for key in ("max_file_bytes", "index_chunk_bytes", "retention_check_interval_s"):
            if getattr(self, key) <= 0:
                raise ConfigError(f"datastore.{key}: must be greater than 0")
        if self.throttle_bytes_per_s < 0:
            raise ConfigError("datastore.throttle_bytes_per_s: must not be negative")


@dataclass
class EventsConfig:
    capacity: int = 10_000  # events the server keeps for streams resuming with Last-Event-ID
    keepalive_s: float = 5.0  # a comment line on a quiet stream, so proxies keep it open
    buffer: int = 1_000  # events waiting for one slow stream reader before it is dropped
    ticket_ttl_s: float = 60.0  # how long a stream ticket (POST /events/ticket) may open a stream


@dataclass
class ExpirationConfig:
    """When finished jobs leave the store (AWE v0.9.30 `expire_wait`, `global_expire`, ...)."""

    reaper_interval_min: float = 60.0
    global_expire: str = ""
    pipeline_expire: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        from awe.model.expiration import valid

        if self.reaper_interval_min <= 0:
            raise ConfigError("expiration.reaper_interval_min: must be more than 0")
        if self.global_expire and not valid(self.global_expire):
            raise ConfigError(f"expiration.global_expire: {self.global_expire!r} is not <N><M|H|D>")
        for pipeline, spec in self.pipeline_expire.items():
            if not valid(spec):
                raise ConfigError(
                    f"expiration.pipeline_expire.{pipeline}: {spec!r} is not <N><M|H|D>"
                )


@dataclass
class ServerConfig:
    title: str = "AWE Server"
    api: ApiConfig = field(default_factory=ApiConfig)
    paths: PathsConfig = field(default_factory=PathsConfig)
    store: StoreConfig = field(default_factory=StoreConfig)
    queue: QueueConfig = field(default_factory=QueueConfig)
    anonymous: AnonymousConfig = field(default_factory=AnonymousConfig)
    auth: AuthConfig = field(default_factory=AuthConfig)
    reports: ReportsConfig = field(default_factory=ReportsConfig)
    datastore: DatastoreConfig = field(default_factory=DatastoreConfig)
    expiration: ExpirationConfig = field(default_factory=ExpirationConfig)
    events: EventsConfig = field(default_factory=EventsConfig)
    limits: LimitsConfig = field(default_factory=LimitsConfig)
    shutdown_grace_s: float = 10.0

    @property
    def data_dir(self) -> Path:
        return Path(self.paths.data)

    @property
    def datastore_root(self) -> Path:
        return Path(self.datastore.root) if self.datastore.root else self.data_dir / "datastore"

    @property
    def client_key_path(self) -> Path:
        path = self.auth.client_key_file
        return Path(path) if path else self.data_dir / "client-secret.key"

    @property
    def embedded_path(self) -> Path:
        path = self.store.embedded.path
        return Path(path) if path else self.data_dir / "awe.sqlite3"

    @property
    def report_limit(self) -> tuple[int, str]:
        """The report cap and the key it comes from (`reports.max_bytes` still wins when set)."""
        if self.reports.max_bytes:
            return self.reports.max_bytes, "reports.max_bytes"
        return self.limits.report_bytes, "limits.report_bytes"


def check_server_config(config: ServerConfig) -> ServerConfig:
    """Ranges the types cannot say: a port that exists, limits of at least 1 (names the key)."""
    if not 0 <= config.api.port <= 65535:
        raise ConfigError(f"api.port: {config.api.port} is not a port (1-65535, or 0 for any)")
    for name in (f.name for f in dataclasses.fields(LimitsConfig)):
        value = getattr(config.limits, name)
        if value < 1:
            raise ConfigError(f"limits.{name}: must be at least 1, got {value}")
    if not 1 <= config.queue.page_size <= config.limits.listing_limit:
        raise ConfigError(
            f"queue.page_size: must be from 1 to limits.listing_limit "
            f"({config.limits.listing_limit}), got {config.queue.page_size}"
        )
    if config.reports.max_bytes < 0:
        raise ConfigError(
            f"reports.max_bytes: must not be negative, got {config.reports.max_bytes}"
        )
    if config.shutdown_grace_s < 0:
        raise ConfigError(f"shutdown_grace_s: must not be negative, got {config.shutdown_grace_s}")
    return config


def _check_value(value: Any, hint: Any, key: str) -> Any:
    """Return `value` converted to `hint`, or raise ConfigError naming `key`."""
    origin = typing.get_origin(hint)
    if dataclasses.is_dataclass(hint):
        if value is None:
            value = {}
        if not isinstance(value, dict):
            raise ConfigError(f"{key}: expected a mapping, got {type(value).__name__}")
        return from_mapping(hint, value, prefix=f"{key}.")
    if origin in (typing.Union, types.UnionType):
        for option in typing.get_args(hint):
            try:
                return _check_value(value, option, key)
            except ConfigError:
                continue
        names = " or ".join(getattr(a, "__name__", str(a)) for a in typing.get_args(hint))
        raise ConfigError(f"{key}: expected {names}, got {value!r}")
    if origin is list:
        (item,) = typing.get_args(hint)
        if isinstance(value, str):  # "a,b" is as good as [a, b]
            value = [v for v in value.split(",") if v]
        if not isinstance(value, list):
            raise ConfigError(f"{key}: expected a list, got {value!r}")
        return [_check_value(v, item, f"{key}[{i}]") for i, v in enumerate(value)]
    if origin is dict:
        kt, vt = typing.get_args(hint)
        if value is None:
            return {}
        if not isinstance(value, dict):
            raise ConfigError(f"{key}: expected a mapping, got {value!r}")
        return {
            _check_value(k, kt, key): _check_value(v, vt, f"{key}.{k}") for k, v in value.items()
        }
    if hint is bool:
        if isinstance(value, bool):
            return value
        raise ConfigError(f"{key}: expected true or false, got {value!r}")
    if hint is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        raise ConfigError(f"{key}: expected an integer, got {value!r}")
    if hint is float:
        if isinstance(value, int | float) and not isinstance(value, bool):
            return float(value)
        raise ConfigError(f"{key}: expected a number, got {value!r}")
    if hint is str:
        if value is None:
            return ""
        if isinstance(value, str):
            return value
        raise ConfigError(f"{key}: expected a string, got {value!r}")
    return value


def from_mapping(cls: type[T], mapping: dict[str, Any], prefix: str = "") -> T:
    """Build dataclass `cls` from a YAML mapping, refusing unknown keys and wrong types."""
    hints = typing.get_type_hints(cls)
    known = {f.name for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
    for key in mapping:
        if key not in known:
            raise ConfigError(f"unknown configuration key: {prefix}{key}")
    values = {k: _check_value(v, hints[k], f"{prefix}{k}") for k, v in mapping.items()}
    return cls(**values)


def load_yaml(cls: type[T], path: str | Path | None) -> T:
    """Load `cls` from a YAML file (or its defaults when `path` is None)."""
    if path is None:
        return cls()
    try:
        text = Path(path).read_text()
    except OSError as err:
        raise ConfigError(f"cannot read config file {path}: {err.strerror}") from err
    try:
        mapping = yaml.safe_load(text) or {}
    except yaml.YAMLError as err:
        raise ConfigError(f"config file {path} is not valid YAML: {err}") from err
    if not isinstance(mapping, dict):
        raise ConfigError(f"config file {path}: the top level must be a mapping")
    return from_mapping(cls, mapping)


def load_server_config(path: str | Path | None) -> ServerConfig:
    """The server's config file (or the defaults), checked as a whole."""
    return check_server_config(load_yaml(ServerConfig, path))
