"""The awe-server process: config, store, actors, HTTP; recovery at start, clean stop on signals."""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import logging
import signal
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click
import pykka
import pykka.debug
import tornado.ioloop
import urllib3

from awe import __version__
from awe.actors.base import PooledActor, ask, ask_sync, new_reply, stop_all, tell_quietly
from awe.actors.clients import ClientRegistryActor
from awe.actors.job import JobActor, JobContext
from awe.actors.messages import CloseQueue, Purge, Sweep
from awe.actors.queue import QueueActor
from awe.actors.snapshots import SnapshotActor
from awe.actors.supervision import EXIT_STATUS, Supervisor, exit_process
from awe.clientkey import KeyFileError, load_client_key
from awe.collector import FREEZE_EVERY_S, FrozenGenerations
from awe.config import ConfigError, ServerConfig, check_server_config, load_server_config
from awe.dataplane import expire_data, logged, open_data_service, part_joiner, public_url
from awe.events import EventBus
from awe.http.app import make_app, make_http_server
from awe.http.base import Services
from awe.model.clientbook import ClientBook
from awe.model.lifecycle import Settings
from awe.model.origins import OriginPolicy, is_loopback_host
from awe.model.retention import parse_duration
from awe.model.rights import Policy
from awe.model.times import now
from awe.process import (
    LAST_RESORT_S,
    StartupError,
    bind,
    claim_data_dir,
    exit_now,
    run_with_deadline,
    start_last_resort,
)
from awe.recovery import Recovery, no_cycle_collection
from awe.shock import ShockClient
from awe.store import open_store
from awe.store.base import Store, StoreUnavailable

log = logging.getLogger("awe.server")
DEFAULTS = ServerConfig()  # what --help shows as each flag's default


class AweServer:
    """The actors and the store of one server, started, supervised and stopped together.

    `fatal(reason)` runs if the queue, registry or snapshot actor dies while the server runs;
    by default it ends the process (status 70) so that its supervisor restarts it.
    """

    def __init__(
        self,
        config: ServerConfig,
        store: Store,
        fatal: Callable[[str], None] = exit_process,
        client_key: bytes | None = None,
    ) -> None:
        self.config = config
        self.store = store
        self._stopping = threading.Event()
        self.executor = concurrent.futures.ThreadPoolExecutor(4, thread_name_prefix="store-read")
        self.data = open_data_service(config)
        self.datastore = self.data.store
        settings = Settings(
            max_work_failure=config.queue.max_work_failure,
            datastore_url=f"{public_url(config)}/data",
            create_shock_nodes=config.datastore.create_shock_nodes,
            global_expire=config.expiration.global_expire,
            pipeline_expire=dict(config.expiration.pipeline_expire),
            max_split=config.limits.totalwork_per_task,
        )
        self.settings = settings
        self.io_pool = concurrent.futures.ThreadPoolExecutor(4, thread_name_prefix="io")
        shock = ShockClient(
            urllib3.PoolManager(num_pools=8, maxsize=4, retries=False),
            timeout_s=config.datastore.shock_timeout_s,
        )
        self.events = EventBus(config.events.capacity)
        self.supervisor = Supervisor(fatal)
        died = self.supervisor.died
        queue_cfg = config.queue
        self.snapshots = SnapshotActor.start(store, on_death=died)
        context = JobContext(
            queue=None,
            registry=None,
            snapshots=self.snapshots,
            settings=settings,
            events=self.events,
            client_timeout_s=queue_cfg.client_timeout_s,
            create_nodes=shock_node_maker(shock),
            io_pool=self.io_pool,
            read_job=store.get_job,
            read_history=store.job_history,
            read_pool=self.executor,
            join_parts=part_joiner(self.datastore),
            delete_data=logged(self.datastore.delete_job, "removing a deleted job's files"),
        )
        # what handlers read without a hand-off: live job actors (the queue writes it), client
        # cards (the registry writes them) and when clients were last heard from (the IOLoop)
        self.live_jobs: dict[str, Any] = {}
        self.clients = ClientBook()
        self.queue = QueueActor.start(context, store.max_jid(), on_death=died, live=self.live_jobs)
        policy = Policy.from_config(config)
        self.registry = ClientRegistryActor.start(
            self.queue, policy, queue_cfg.client_timeout_s, queue_cfg.max_client_failure,
            self.events, on_death=died, max_clients=config.limits.registered_clients,
            book=self.clients,
        )  # fmt: skip
        self._recovery = Recovery(store, self.queue, self._stopping)
        # set before any message is sent, so every actor sees both refs
        context.queue, context.registry = self.queue, self.registry
        for name, ref in (("queue", self.queue), ("registry", self.registry),
                          ("snapshot", self.snapshots)):  # fmt: skip
            self.supervisor.watch(name, ref)
        self.supervisor.start()
        self.services = Services(
            config,
            self.queue,
            self.registry,
            store,
            self.executor,
            self.snapshots,
            events=self.events,
            datastore=self.data,
            policy=policy,
            client_key=client_key or load_client_key(config.client_key_path),
            origins=origin_policy(config),
            clients=self.clients,
            live_jobs=self.live_jobs,
        )

    def set_public_url(self, url: str) -> None:
        """Where users and workers reach this server: the base of datastore output URLs."""
        if not self.config.api.external_url:
            self.settings.datastore_url = f"{url.rstrip('/')}/data"

    def expire_data(self, at: float | None = None) -> list[str]:
        """Remove the files of jobs finished longer ago than `datastore.retention` (blocking)."""
        return expire_data(self.datastore, self.store, self.config.datastore.retention, at)

    def recover(self) -> int:
        """Give every unfinished job of the store its JobActor back (D3), before returning."""
        thread = self.start_recovery()
        if thread is not None:
            thread.join()
        return self.recovered

    def start_recovery(self) -> threading.Thread | None:
        """Bring every unfinished job back (D3) while the server already serves (see
        `awe.recovery`); returns the thread that does it (None: recovery is off)."""
        return self._recovery.start(self.config.queue.recover)

    @property
    def recovered(self) -> int:
        """Unfinished jobs brought back from the store since the start."""
        return self._recovery.recovered

    def sweep(self, at: str | None = None) -> None:
        """Lost clients (registry) and leases whose deadline passed (their job actors)."""
        at = at or now()
        tell_quietly(self.registry, Sweep(at=at, stimulus="sweep"))
        tell_quietly(self.queue, Sweep(at=at, stimulus="sweep"))

    def reap(self, at: str | None = None) -> list[str]:
        """Remove finished jobs whose expiration passed, as AWE v0.9.30's reaper (blocking)."""
        at = at or now()
        try:
            expired = self.store.expired_job_ids(at)
        except StoreUnavailable as err:
            log.warning("expiration reaper: %s; trying again next round", err)
            return []
        removed = []
        for job_id in expired:
            try:
                purge = Purge(job_id=job_id, expired_before=at, stimulus="expiration",
                              reply=new_reply())  # fmt: skip
                if ask_sync(self.snapshots, purge, timeout=60):
                    removed.append(job_id)
                    self.datastore.delete_job(job_id)  # its files go with it
                    log.info("job %s expired: removed from the store", job_id)
            except Exception as err:  # noqa: BLE001 - the next round tries again
                log.warning("expiration reaper: job %s not removed: %s", job_id, err)
        return removed

    def stop(self) -> None:
        """Stop job actors first (their last snapshots go out), then flush and close the store."""
        self._stopping.set()
        self.supervisor.stop()
        with contextlib.suppress(Exception):  # a queue that is gone has nothing to close
            ask_sync(self.queue, CloseQueue(stimulus="stop", reply=new_reply()), timeout=10)
        with no_cycle_collection():  # 100,000 job actors: 3.5 to 17 s with it, see there
            stop_all(pykka.ActorRegistry.get_by_class(JobActor), timeout_s=10.0)
        for ref in (self.registry, self.queue):
            ref.stop(block=True, timeout=10)
        self.snapshots.stop(block=True, timeout=30)
        PooledActor.shutdown_pool()
        self.io_pool.shutdown(wait=False, cancel_futures=True)
        self.data.pool.shutdown(wait=False, cancel_futures=True)
        self.executor.shutdown(wait=True)
        self.store.close()


def origin_policy(config: ServerConfig) -> OriginPolicy:
    """Browsers' origins the server accepts, and whether it is reachable from this host only."""
    return OriginPolicy(
        allowed=tuple(config.api.allowed_origins),
        loopback_only=is_loopback_host(config.api.host),
        external_url=config.api.external_url,
    )


def shock_node_maker(shock: ShockClient) -> Any:
    """The JobContext's `create_nodes`: one empty (or multi-part) node per Shock output."""

    def create_nodes(
        wanted: list[tuple[str, str]], parts: int, token: str | None
    ) -> dict[str, str]:
        return {name: shock.create_empty(host, name, parts, token) for host, name in wanted}

    return create_nodes


def setup_logging(level: str, logs_dir: str) -> None:
    handlers: list[logging.Handler] = [logging.StreamHandler(sys.stderr)]
    if logs_dir:
        Path(logs_dir).mkdir(parents=True, exist_ok=True)
        handlers.append(logging.FileHandler(Path(logs_dir) / "awe-server.log"))
    logging.basicConfig(
        level=getattr(logging, level.upper(), logging.INFO),
        format="%(asctime)s %(levelname)-7s %(name)s: %(message)s",
        handlers=handlers,
        force=True,
    )
    logging.getLogger("tornado.access").setLevel(logging.WARNING)


def apply_flags(config: ServerConfig, **flags: Any) -> ServerConfig:
    if flags.get("port") is not None:
        config.api.port = flags["port"]
    if flags.get("host"):
        config.api.host = flags["host"]
    if flags.get("data_dir"):
        config.paths.data = flags["data_dir"]
    if flags.get("mongodb_uri"):
        config.store.mongodb.uri = flags["mongodb_uri"]
    if flags.get("no_recover"):
        config.queue.recover = False
    return config


def serve(config: ServerConfig) -> int:
    """Run until SIGTERM/SIGINT; the exit code: 0 stopped cleanly, 1 forced, 2 could not start.

    Everything that can fail for a reason outside awe (data dir, address, store) is tried
    before any actor thread starts, so a failure is one line and an immediate exit.
    """
    try:
        lock = claim_data_dir(config.data_dir)
        sockets = bind(config.api.host, config.api.port)
    except StartupError as err:
        log.error("cannot start: %s", err)
        return 2
    try:
        store = open_store(config)
    except StoreUnavailable as err:
        log.error("cannot start: cannot open the store: %s", err)
        return 2
    except Exception as err:  # noqa: BLE001 - any store failure is a start-up failure
        log.error("cannot start: cannot open the store: %r", err)
        log.debug("store failure", exc_info=True)
        return 2
    try:
        key = load_client_key(config.client_key_path)
    except (KeyFileError, OSError) as err:
        log.error("cannot start: %s", err)
        return 2
    log.info("awe-server %s, store: %s", __version__, store.describe())
    server = AweServer(config, store, client_key=key)
    server.set_public_url(public_url(config, sockets[0].getsockname()[1]))
    try:
        server.start_recovery()  # serving starts at once; jobs come back meanwhile
    except Exception as err:  # noqa: BLE001 - stop the actors, then say why
        log.error("cannot start: recovering unfinished jobs failed: %r", err)
        log.debug("recovery failure", exc_info=True)
        run_with_deadline(server.stop, config.shutdown_grace_s, "stop")
        return 2
    try:
        code = _run(config, server, sockets)
    except Exception:  # a server that cannot serve stops its actors and exits: never a zombie
        log.exception("cannot serve")
        run_with_deadline(server.stop, config.shutdown_grace_s, "stop")
        return EXIT_STATUS
    lock.close()
    return code


def use_event_loop(name: str) -> None:
    """Make the IOLoop run on uvloop (measured: ~20% less CPU per request than asyncio's own
    loop, bench/README.md); `asyncio` keeps the standard loop. Before the IOLoop exists."""
    if name == "uvloop":
        try:
            import uvloop
        except ImportError:  # a platform without a wheel: serve anyway, a little slower
            log.warning("api.event_loop: uvloop is not installed; using asyncio's own loop")
            return
        asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())


def _run(config: ServerConfig, server: AweServer, sockets: list[Any]) -> int:
    """Serve until a signal, then stop within `shutdown_grace_s` (plus a last resort)."""
    use_event_loop(config.api.event_loop)
    app = make_app(server.services)
    http = make_http_server(app, config)
    http.add_sockets(sockets)
    loop = tornado.ioloop.IOLoop.current()
    collector = FrozenGenerations()  # no multi-second full collections (awe/collector.py)
    collector.start()
    freezer = tornado.ioloop.PeriodicCallback(collector.tick, FREEZE_EVERY_S * 1000)
    freezer.start()
    interval_ms = max(100, int(config.queue.client_check_interval_s * 1000))
    sweeper = tornado.ioloop.PeriodicCallback(server.sweep, interval_ms)
    sweeper.start()
    reaper_ms = config.expiration.reaper_interval_min * 60_000
    reaper = tornado.ioloop.PeriodicCallback(lambda: server.executor.submit(server.reap), reaper_ms)
    reaper.start()
    retention_ms = int(config.datastore.retention_check_interval_s * 1000)
    expire = logged(server.expire_data, "retention")
    expirer = tornado.ioloop.PeriodicCallback(lambda: server.data.pool.submit(expire), retention_ms)
    if parse_duration(config.datastore.retention) is not None:
        expirer.start()
        server.data.pool.submit(expire)
    grace = config.shutdown_grace_s
    signalled: list[float] = []

    async def wind_down() -> None:
        """No new connections; waiting checkouts are answered (workers idle) before the stop."""
        http.stop()
        try:
            answered = await ask(server.queue, CloseQueue(reply=new_reply()), min(2.0, grace / 2))
            await asyncio.sleep(0.2 if answered else 0)  # let those answers reach the workers
        except Exception as err:  # noqa: BLE001 - a stuck queue must not stop the stop
            log.warning("waiting checkouts not answered: %r", err)
        finally:
            loop.stop()

    # handlers first: whoever read "listening on" may send SIGTERM at once
    def shutdown(signum: int, _frame: Any) -> None:
        name = signal.Signals(signum).name
        if signalled:
            log.warning("signal %s again: exiting now", name)
            exit_now(1)
        signalled.append(time.monotonic())
        log.info("signal %s: stopping (within shutdown_grace_s, %.1f s)", name, grace)
        start_last_resort(grace + LAST_RESORT_S)
        loop.add_callback_from_signal(wind_down)

    signal.signal(signal.SIGTERM, shutdown)
    signal.signal(signal.SIGINT, shutdown)
    signal.signal(signal.SIGUSR1, pykka.debug.log_thread_tracebacks)
    host, port = sockets[0].getsockname()[:2]
    log.info("awe-server listening on http://%s:%d (data in %s)", host, port,
             config.data_dir.resolve())  # fmt: skip
    loop.start()
    sweeper.stop()
    freezer.stop()
    expirer.stop()
    reaper.stop()
    http.stop()
    left = grace - (time.monotonic() - signalled[0]) if signalled else grace
    if not run_with_deadline(server.stop, left, "stop"):
        log.error("awe-server stopped without finishing its stop (exit 1)")
        return 1
    log.info("awe-server stopped cleanly")
    return 0


class _ServerCommand(click.Command):
    """Every start-up failure, a bad flag included, is one line on stderr and exit code 2."""

    def main(self, *args: Any, **extra: Any) -> Any:  # noqa: D102 - click's entry point
        extra.pop("standalone_mode", None)
        try:
            code = super().main(*args, standalone_mode=False, **extra)
        except click.ClickException as err:
            click.echo(f"awe-server: {err.format_message()}", err=True)
            sys.exit(2)
        except click.Abort:
            sys.exit(1)
        sys.exit(code if isinstance(code, int) else 0)


LOG_LEVELS = ["debug", "info", "warning", "error"]


@click.command(
    cls=_ServerCommand,
    context_settings={"help_option_names": ["-h", "--help"], "show_default": True},
)
@click.option(
    "--config",
    "config_path",
    type=click.Path(),
    help="YAML config (conf/awe-server.yaml documents every key). Default: none, built-in "
    "defaults.",
)
@click.option(
    "--port",
    type=click.IntRange(0, 65535),
    help=f"API port (0 picks a free one). Overrides api.port. Default: {DEFAULTS.api.port}.",
)
@click.option(
    "--host",
    help=f"Address to listen on. Overrides api.host. Default: {DEFAULTS.api.host}.",
)
@click.option(
    "--data-dir",
    help="Data directory, created if missing, locked while the server runs. Overrides "
    f"paths.data. Default: {DEFAULTS.paths.data}.",
)
@click.option(
    "--mongodb-uri",
    help="Use MongoDB at this URI instead of the embedded store. Default: the embedded store "
    "(SQLite in the data directory).",
)
@click.option(
    "--no-recover",
    is_flag=True,
    help="Leave unfinished jobs in the store (zombies). Default: bring them all back.",
)
@click.option(
    "--log-level",
    type=click.Choice(LOG_LEVELS, case_sensitive=False),
    default="info",
    help="How much the server logs.",
)
@click.version_option(__version__)
def main(config_path: str | None, log_level: str, **flags: Any) -> None:
    """Start the AWE server: the REST API on one port, jobs kept in the store.

    Exit codes: 0 stopped cleanly (SIGTERM/SIGINT), 1 had to force its stop, 2 could not
    start (bad flag or config, data dir unusable or in use, address not available).
    """
    try:
        config = check_server_config(apply_flags(load_server_config(config_path), **flags))
    except ConfigError as err:
        raise click.ClickException(f"configuration error: {err}") from err
    setup_logging(log_level, config.paths.logs)
    exit_now(serve(config))


if __name__ == "__main__":
    main()
