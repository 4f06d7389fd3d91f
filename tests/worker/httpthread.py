"""Run a tornado Application on 127.0.0.1 in a background thread, for worker tests."""

from __future__ import annotations

import asyncio
import socket
import threading
from typing import Any

import tornado.httpserver
import tornado.netutil
import tornado.web


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class ServerThread:
    """`start()` returns once the server listens; `stop()` closes it and its connections."""

    def __init__(self, app: tornado.web.Application, port: int = 0) -> None:
        self.app = app
        self.port = port
        self.url = ""
        self._loop: asyncio.AbstractEventLoop | None = None
        self._server: tornado.httpserver.HTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()
        self._error: BaseException | None = None

    def start(self) -> ServerThread:
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        if not self._ready.wait(10):
            raise RuntimeError("test HTTP server did not start")
        if self._error is not None:
            raise self._error
        return self

    def _run(self) -> None:
        self._loop = asyncio.new_event_loop()
        asyncio.set_event_loop(self._loop)
        try:
            self._server = tornado.httpserver.HTTPServer(self.app, max_body_size=1 << 30)
            sockets = tornado.netutil.bind_sockets(self.port, "127.0.0.1")
            self._server.add_sockets(sockets)
            self.port = sockets[0].getsockname()[1]
            self.url = f"http://127.0.0.1:{self.port}"
        except BaseException as err:  # report bind errors to start()
            self._error = err
            self._ready.set()
            return
        self._ready.set()
        self._loop.run_forever()
        self._loop.close()

    def stop(self) -> None:
        loop, server = self._loop, self._server
        if loop is None or server is None or loop.is_closed():
            return

        async def shutdown() -> None:
            server.stop()
            await server.close_all_connections()
            loop.stop()

        asyncio.run_coroutine_threadsafe(shutdown(), loop)
        if self._thread is not None:
            self._thread.join(10)

    def __enter__(self) -> ServerThread:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()
