"""`awe-worker`: the command line. Flags override conf/awe-worker.yaml."""

from __future__ import annotations

import logging
import signal
import sys
from types import FrameType

import click

from awe import __version__
from awe.config import ConfigError
from awe.worker.config import LOG_LEVELS, WorkerConfig, load_worker_config
from awe.worker.loop import Worker

log = logging.getLogger("awe.worker")
DEFAULTS = WorkerConfig()  # what --help shows as each flag's default


def setup_logging(level: str) -> None:
    """One readable line per step, to stderr."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        logging.Formatter("%(asctime)s %(levelname)-7s [%(threadName)s] %(message)s")
    )
    root = logging.getLogger("awe")
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    root.propagate = False


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--config",
    "config_path",
    type=click.Path(dir_okay=False),
    help="YAML config file (conf/awe-worker.yaml documents every key). Flags override it.",
)
@click.option("--server", "server_url", help=f"awe-server URL. Default: {DEFAULTS.server_url}.")
@click.option("--name", help="Client name. Default: this machine's host name.")
@click.option("--group", help=f"Clientgroup. Default: {DEFAULTS.group}.")
@click.option(
    "--work-dir", "work_dir", help=f"Root of the workunit dirs. Default: {DEFAULTS.work_dir}."
)
@click.option(
    "--data-dir",
    "data_dir",
    help="Predata cache and saved profile. Default: <work dir>/_data.",
)
@click.option("--slots", type=int, help=f"Workunits run at once. Default: {DEFAULTS.slots}.")
@click.option(
    "--apps",
    help="Comma-separated command names this worker runs, or * for any. "
    f"Default: {','.join(DEFAULTS.apps)}.",
)
@click.option(
    "--clientgroup-token",
    "clientgroup_token",
    help="Sent as 'Authorization: CG_TOKEN <token>'. Default: none.",
)
@click.option(
    "--datastore-path",
    "datastore_path",
    help="The server's datastore folder, if this machine shares it. Default: none (HTTP).",
)
@click.option(
    "--file-root",
    "file_roots",
    multiple=True,
    help="A directory file:// URLs may name (repeat). Work and data dirs always may.",
)
@click.option(
    "--log-level",
    "log_level",
    type=click.Choice(LOG_LEVELS, case_sensitive=False),
    help=f"Default: {DEFAULTS.log_level}.",
)
@click.version_option(__version__, prog_name="awe-worker")
def main(config_path: str | None, log_level: str | None, **flags: object) -> None:
    """Run an AWE worker: check out workunits, run their commands, move their data."""
    overrides = dict(flags)
    overrides["file_roots"] = list(overrides.get("file_roots") or ()) or None
    if isinstance(overrides.get("apps"), str):
        overrides["apps"] = [a for a in str(overrides["apps"]).split(",") if a]
    overrides["log_level"] = log_level
    try:
        config = load_worker_config(config_path, overrides)
    except ConfigError as err:
        raise click.UsageError(str(err)) from err
    setup_logging(config.log_level)
    worker = Worker(config)

    def on_signal(signum: int, _frame: FrameType | None) -> None:
        name = signal.Signals(signum).name
        if worker.stopping.is_set():
            log.warning("%s again: killing running commands now", name)
        worker.request_stop(name)

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    log.info(
        "awe-worker %s: server %s, %d slot(s), work dir %s",
        config.client_name,
        config.server_url,
        config.slots,
        config.work_path,
    )
    sys.exit(worker.run())


if __name__ == "__main__":
    main()
