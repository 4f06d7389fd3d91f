"""Browsers' requests from other sites are refused before any handler runs."""

from __future__ import annotations

import pytest

from awe.model.origins import (
    OriginPolicy,
    allow_origin_header,
    changes_state,
    is_loopback_host,
    origin_problem,
    refusal,
)

HOST = "127.0.0.1:8001"
DEFAULT = OriginPolicy()
SHARED = OriginPolicy(allowed=("https://dash.example",), loopback_only=False)


def refused(method: str, headers: dict[str, str], policy: OriginPolicy = DEFAULT,
            query: dict | None = None, host: str = HOST) -> bool:  # fmt: skip
    return bool(refusal(method, host, headers, query or {}, policy))


def test_a_cross_site_post_is_refused_and_the_same_origin_or_no_origin_is_not() -> None:
    assert refused("POST", {"Origin": "http://evil.example"})
    assert refused("DELETE", {"Origin": "null"})  # a sandboxed frame or a file:// page
    assert not refused("POST", {"Origin": "http://127.0.0.1:8001"})
    assert not refused("POST", {})  # curl, the CLI, workers
    assert not refused("GET", {"Origin": "http://evil.example"})  # reads: CORS keeps them
    assert not refused("POST", {"Origin": "https://dash.example"}, SHARED, host="awe:8001")


def test_referer_and_fetch_metadata_when_there_is_no_origin() -> None:
    assert refused("PUT", {"Referer": "http://evil.example/page"})
    assert not refused("PUT", {"Referer": "http://127.0.0.1:8001/ui/"})
    assert refused("POST", {"Sec-Fetch-Site": "cross-site"})
    assert not refused("POST", {"Sec-Fetch-Site": "same-origin"})


def test_gets_that_change_state_are_checked_too() -> None:
    assert changes_state("GET", {"status": [b"done"], "client": [b"c"]})
    assert refused("GET", {"Referer": "http://evil.example/"}, query={"heartbeat": [b""]})
    assert not changes_state("GET", {"query": [b""]})


def test_dns_rebinding_is_refused_on_a_loopback_server() -> None:
    assert refused("GET", {}, host="evil.example:8001")
    assert not refused("GET", {}, host="localhost:8001")
    assert not refused("GET", {}, host="[::1]:8001")
    named = OriginPolicy(external_url="https://awe.lab.example")
    assert not refused("GET", {}, named, host="awe.lab.example")
    assert not refused("GET", {}, SHARED, host="evil.example:8001")  # not on loopback only


def test_cors_header_only_for_configured_origins() -> None:
    assert allow_origin_header("http://evil.example", DEFAULT) == ""
    assert allow_origin_header("https://dash.example", SHARED) == "https://dash.example"
    assert allow_origin_header("https://x.example", OriginPolicy(allowed=("*",))) == "*"


@pytest.mark.parametrize("origin", ["dash.example", "https://dash.example/", "ftp://x", ""])
def test_configured_origins_must_be_origins(origin: str) -> None:
    assert origin_problem(origin)


def test_loopback_names() -> None:
    assert is_loopback_host("127.0.0.2") and is_loopback_host("LOCALHOST")
    assert not is_loopback_host("0.0.0.0") and not is_loopback_host("10.0.0.1")


def test_log_lines_mask_query_values_that_could_be_secrets() -> None:
    from awe.model.redact import redact_uri

    uri = "/job?query&info.datatoken=dt1&state=queued&ticket=abc&x=1&API_KEY=k#frag"
    assert redact_uri(uri) == "/job?query&info.datatoken=…&state=queued&ticket=…&x=1&API_KEY=…#frag"
    assert redact_uri("/work/w_0_0?datatoken&client=c1") == "/work/w_0_0?datatoken&client=c1"
