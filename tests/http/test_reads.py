"""Socket reads sized to the request: small for the worker's small requests, 1 MiB for a body
that is large (awe.http.app.make_http_server, APIHandler.size_reads)."""

from __future__ import annotations

from types import SimpleNamespace
from unittest import mock

from tornado.httputil import HTTPHeaders

from awe.http.base import BODY_READ_BYTES, SMALL_READ_BYTES, APIHandler
from tests.http.harness import AweTestCase


def _sized(stream: SimpleNamespace, headers: dict[str, str]) -> int:
    request = SimpleNamespace(
        connection=SimpleNamespace(stream=stream), headers=HTTPHeaders(headers)
    )
    APIHandler.size_reads(SimpleNamespace(request=request))  # type: ignore[arg-type]
    return stream.read_chunk_size


def test_a_large_body_is_read_in_large_blocks_and_the_next_request_in_small_ones() -> None:
    stream = SimpleNamespace(read_chunk_size=SMALL_READ_BYTES)
    assert _sized(stream, {"Content-Length": "10"}) == SMALL_READ_BYTES
    assert _sized(stream, {"Content-Length": str(SMALL_READ_BYTES + 1)}) == BODY_READ_BYTES
    assert _sized(stream, {}) == SMALL_READ_BYTES  # the same connection, a heartbeat next
    assert _sized(stream, {"Transfer-Encoding": "chunked"}) == BODY_READ_BYTES


def test_no_stream_no_change() -> None:
    request = SimpleNamespace(connection=None, headers=HTTPHeaders())
    APIHandler.size_reads(SimpleNamespace(request=request))  # type: ignore[arg-type]


class ReadSizeTest(AweTestCase):
    def test_the_server_starts_connections_with_small_reads(self) -> None:
        self.assertEqual(self.http_server.read_chunk_size, SMALL_READ_BYTES)

    def test_a_large_upload_arrives_in_blocks_larger_than_a_small_read(self) -> None:
        chunks: list[int] = []
        original = APIHandler.data_received

        def spy(handler: APIHandler, chunk: bytes) -> None:
            chunks.append(len(chunk))
            original(handler, chunk)

        script = b'{"info": {"name": "big", "x": "' + b"a" * (600 * 1024) + b'"}, "tasks": []}'
        with mock.patch.object(APIHandler, "data_received", spy):
            self.call("POST", "/job", files={"upload": script})
        self.assertEqual(sum(chunks) > 600 * 1024, True)
        self.assertGreater(max(chunks), SMALL_READ_BYTES)
