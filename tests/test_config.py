"""The YAML config: documented defaults, errors that name the key, flags over the file."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from awe.config import ConfigError, ServerConfig, from_mapping, load_server_config
from awe.server import apply_flags

ROOT = Path(__file__).resolve().parent.parent


def test_shipped_config_documents_exactly_the_defaults() -> None:
    assert load_server_config(ROOT / "conf" / "awe-server.yaml") == ServerConfig()


@pytest.mark.parametrize(
    ("mapping", "message"),
    [
        ({"api": {"prot": 1}}, "unknown configuration key: api.prot"),
        ({"api": {"port": "8001"}}, "api.port: expected an integer, got '8001'"),
        ({"queue": {"recover": "yes"}}, "queue.recover: expected true or false, got 'yes'"),
        ({"queue": {"client_timeout_s": "soon"}}, "queue.client_timeout_s: expected a number"),
        ({"store": []}, "store: expected a mapping"),
        ({"auth": {"tokens": {"t": 3}}}, "auth.tokens.t: expected a string"),
        ({"auth": {"oauth_bearers": ["mg rast"]}}, "auth.oauth_bearers: 'mg rast' is not a word"),
        ({"expiration": {"global_expire": "30d"}}, "expiration.global_expire: '30d' is not"),
        ({"expiration": {"pipeline_expire": {"p": "1W"}}}, "expiration.pipeline_expire.p: '1W'"),
        ({"expiration": {"reaper_interval_min": 0}}, "expiration.reaper_interval_min: must be"),
    ],
)
def test_bad_values_name_the_key(mapping: dict, message: str) -> None:
    with pytest.raises(ConfigError) as err:
        from_mapping(ServerConfig, mapping)
    assert message in str(err.value)


def test_unreadable_and_invalid_files(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read config file"):
        load_server_config(tmp_path / "missing.yaml")
    broken = tmp_path / "broken.yaml"
    broken.write_text("api: [1,\n")
    with pytest.raises(ConfigError, match="is not valid YAML"):
        load_server_config(broken)


def test_flags_override_the_file(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text("api: {port: 9000}\npaths: {data: /srv/awe}\n")
    config = apply_flags(
        load_server_config(path), port=9100, data_dir=str(tmp_path), no_recover=True
    )
    assert (config.api.port, config.paths.data, config.queue.recover) == (
        9100,
        str(tmp_path),
        False,
    )
    assert config.embedded_path == tmp_path / "awe.sqlite3"
    assert config.datastore_root == tmp_path / "datastore"


@pytest.mark.parametrize(
    ("mapping", "message"),
    [
        ({"api": {"port": 70000}}, "api.port: 70000 is not a port"),
        ({"api": {"port": -1}}, "api.port: -1 is not a port"),
        ({"limits": {"tasks_per_job": 0}}, "limits.tasks_per_job: must be at least 1, got 0"),
        ({"limits": {"listing_limit": 10}}, "queue.page_size: must be from 1 to"),
        ({"shutdown_grace_s": -1}, "shutdown_grace_s: must not be negative"),
        ({"limits": {"report_bytes": "big"}}, "limits.report_bytes: expected an integer"),
    ],
)
def test_values_out_of_range_name_the_key(tmp_path: Path, mapping: dict, message: str) -> None:
    path = tmp_path / "c.yaml"
    path.write_text(yaml.safe_dump(mapping))
    with pytest.raises(ConfigError) as err:
        load_server_config(path)
    assert message in str(err.value)


def test_the_old_report_key_still_works_and_is_named() -> None:
    config = ServerConfig()
    assert config.report_limit == (16 * 1024 * 1024, "limits.report_bytes")
    config.limits.report_bytes = 1000
    assert config.report_limit == (1000, "limits.report_bytes")
    config.reports.max_bytes = 2048  # a config written before limits: existed
    assert config.report_limit == (2048, "reports.max_bytes")
