"""What each worker request no longer computes anew, and that its answer is unchanged: the
Date header once a second, constant envelopes' JSON kept, the host check and the worker rules
cached (awe/http/base.py, awe/model/origins.py, awe/model/rights.py)."""

from __future__ import annotations

import email.utils
import json
from unittest import mock

import tornado

from awe.errors import NO_WORK
from awe.http import base
from awe.model import origins
from awe.model.rights import Policy
from tests.http.harness import AweTestCase


def test_the_date_is_formatted_once_a_second() -> None:
    with mock.patch.object(
        base.tornado.httputil, "format_timestamp", wraps=base.tornado.httputil.format_timestamp
    ) as fmt:
        with mock.patch.object(base.time, "time", return_value=1_000_000_000.2):
            first = base.http_date()
        with mock.patch.object(base.time, "time", return_value=1_000_000_000.9):
            assert base.http_date() == first
        with mock.patch.object(base.time, "time", return_value=1_000_000_001.0):
            later = base.http_date()
    assert fmt.call_count == 2
    assert first == "Sun, 09 Sep 2001 01:46:40 GMT" and later == "Sun, 09 Sep 2001 01:46:41 GMT"


def test_constant_envelopes_are_the_json_they_were_and_kept() -> None:
    cases = [({}, 200, None), ("ok", 200, None), (None, 400, [NO_WORK]), (None, 200, None)]
    for data, status, error in cases:
        text = base._constant_envelope(data, status, error)
        assert text == json.dumps({"status": status, "data": data, "error": error})
        assert base._constant_envelope(data, status, error) is text  # kept, not encoded again
    assert base._constant_envelope({"a": 1}, 200, None) is None
    assert base._constant_envelope(None, 400, ["Client not found"]) is None  # varies: not kept
    assert base._constant_envelope(None, 500, ["internal error (request req-1)"]) is None


def test_the_host_check_is_cached() -> None:
    policy = origins.OriginPolicy()
    before = origins.host_refusal.cache_info().hits
    for _ in range(3):
        assert origins.refusal("GET", "127.0.0.1:9", {}, {"heartbeat": [b""]}, policy) == ""
    assert origins.host_refusal.cache_info().hits >= before + 2
    refused = origins.refusal("GET", "evil.example:9", {}, {}, policy)
    assert refused == origins.refusal("GET", "EVIL.example:9", {}, {}, policy) != ""


def test_the_worker_rules_are_made_once_per_policy() -> None:
    policy = Policy()
    assert policy.workers is policy.workers


class ResponseHeadersTest(AweTestCase):
    def test_a_heartbeat_answers_the_same_headers_and_envelope(self) -> None:
        client_id = self.register()["id"]
        answer = self.call("GET", f"/client/{client_id}?heartbeat",
                           headers=self.worker_headers(client_id))  # fmt: skip
        headers = answer["_headers"]
        self.assertEqual(headers["Server"], f"TornadoServer/{tornado.version}")
        self.assertEqual(headers["Content-Type"], "application/json")
        self.assertEqual(headers["Vary"], "Origin")
        self.assertTrue(headers["X-Request-Id"].startswith("req-"))
        self.assertIsNotNone(email.utils.parsedate_to_datetime(headers["Date"]))
        self.assertEqual((answer["status"], answer["data"], answer["error"]), (200, {}, None))

    def test_if_none_match_never_matches_an_answer_without_etag(self) -> None:
        answer = self.call("GET", "/", headers={"If-None-Match": "*"})
        self.assertEqual(answer["_code"], 200)
        self.assertNotIn("Etag", answer["_headers"])
