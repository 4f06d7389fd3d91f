"""Worker configuration: YAML, flags on top, errors that name the key, a documented conf file."""

from __future__ import annotations

import dataclasses
import socket
from pathlib import Path
from typing import Any

import pytest
import yaml

from awe.config import ConfigError
from awe.worker.config import WorkerConfig, load_worker_config

CONF = Path(__file__).parents[2] / "conf" / "awe-worker.yaml"


def test_the_shipped_conf_file_holds_every_key_with_its_default() -> None:
    documented = yaml.safe_load(CONF.read_text())
    assert documented == dataclasses.asdict(WorkerConfig())
    assert load_worker_config(CONF) == WorkerConfig()


def test_flags_override_the_file(tmp_path: Path) -> None:
    path = tmp_path / "w.yaml"
    path.write_text("slots: 2\ngroup: big\nbackoff: {idle_s: 1}\n")
    config = load_worker_config(path, {"slots": 4, "name": None, "apps": ["sort", "wc"]})
    assert (config.slots, config.group, config.apps) == (4, "big", ["sort", "wc"])
    assert config.backoff.idle_s == 1.0 and config.backoff.error_s == 10.0


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("slots: 0\n", "slots"),
        ("slots: two\n", "slots"),
        ("server_url: localhost:8001\n", "server_url"),
        ("backoff: {idle: 3}\n", "backoff.idle"),
        ("heartbeat_interval_s: 0\n", "heartbeat_interval_s"),
        ("log_level: loud\n", "log_level"),
    ],
)
def test_a_bad_value_names_its_key(tmp_path: Path, text: str, key: str) -> None:
    path = tmp_path / "w.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError, match=key.replace(".", r"\.")):
        load_worker_config(path)


def test_default_name_is_the_host_name_and_data_dir_sits_in_the_work_dir(tmp_path: Path) -> None:
    config = load_worker_config(None, {"work_dir": str(tmp_path / "w")})
    assert config.client_name == socket.gethostname()
    assert config.data_path == tmp_path / "w" / "_data"
    assert config.predata_path == tmp_path / "w" / "_data" / "predata"
    other: dict[str, Any] = {"work_dir": str(tmp_path / "w"), "data_dir": str(tmp_path / "d")}
    assert load_worker_config(None, other).data_path == tmp_path / "d"
