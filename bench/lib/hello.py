"""Tornado hello world on 127.0.0.1 (a free port): the baseline awe's dispatch is compared with.

Served the way awe-server serves (one process, one IOLoop, HTTP/1.1 keep-alive), so that
`2 x workunits/s / hello requests/s` says how close awe gets to Tornado's own limit here.
"""

from __future__ import annotations

import logging
import sys

import tornado.httpserver
import tornado.ioloop
import tornado.netutil
import tornado.web


class HelloHandler(tornado.web.RequestHandler):
    def get(self) -> None:
        self.write("Hello, world")


def main() -> None:
    """Serve until SIGTERM (the default action ends the process)."""
    logging.basicConfig(stream=sys.stderr, level=logging.WARNING)
    app = tornado.web.Application([(r"/", HelloHandler)])
    server = tornado.httpserver.HTTPServer(app)
    sockets = tornado.netutil.bind_sockets(0, "127.0.0.1")
    server.add_sockets(sockets)
    host, port = sockets[0].getsockname()[:2]
    print(f"hello listening on http://{host}:{port}", file=sys.stderr, flush=True)
    tornado.ioloop.IOLoop.current().start()


if __name__ == "__main__":
    main()
