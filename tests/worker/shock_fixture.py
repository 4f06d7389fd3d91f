"""A small Shock-compatible object store on tornado, for worker tests.

Nodes live in a temp dir. POST /node (upload, or parts=N, attributes), PUT /node/<id> (upload or
numbered parts; a multi-part node is complete when every part is there, its file = the parts in
order), GET /node/<id> (the node document), GET /node/<id>?download (the file). Every request's
Authorization header is recorded.
"""

from __future__ import annotations

import hashlib
import json
import threading
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import tornado.web

from tests.worker.httpthread import ServerThread


@dataclass
class Node:
    id: str
    attributes: Any = None
    parts: int = 0  # 0: a plain node
    part_files: dict[int, bytes] = field(default_factory=dict)
    name: str = ""
    complete: bool = False


class ShockFixture:
    """Start with `ShockFixture(tmp_path).start()`; `url`, `auth_seen`, `requests` for asserts."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)
        self.nodes: dict[str, Node] = {}
        self.auth_seen: list[str] = []
        self.requests: list[tuple[str, str]] = []
        self.fail_uploads = 0  # answer this many PUT/POST with 500 first
        self.lock = threading.Lock()
        app = tornado.web.Application(
            [
                (r"/node", NodesHandler, {"shock": self}),
                (r"/node/([^/]+)", NodeHandler, {"shock": self}),
            ]
        )
        self.server = ServerThread(app)

    @property
    def url(self) -> str:
        return self.server.url

    def start(self) -> ShockFixture:
        self.server.start()
        return self

    def stop(self) -> None:
        self.server.stop()

    def add_node(self, data: bytes, attributes: Any = None, name: str = "file") -> str:
        """A complete node holding `data`."""
        node = Node(str(uuid.uuid4()), attributes, name=name)
        self.nodes[node.id] = node
        self.write_file(node, data)
        return node.id

    def add_parts_node(self, parts: int) -> str:
        """An empty node waiting for `parts` numbered parts."""
        node = Node(str(uuid.uuid4()), parts=parts)
        self.nodes[node.id] = node
        return node.id

    def data(self, node_id: str) -> bytes:
        return (self.root / node_id).read_bytes()

    def write_file(self, node: Node, data: bytes) -> None:
        (self.root / node.id).write_bytes(data)
        node.complete = True

    def document(self, node: Node) -> dict[str, Any]:
        path = self.root / node.id
        data = path.read_bytes() if path.exists() else b""
        return {
            "id": node.id,
            "file": {
                "name": node.name,
                "size": len(data),
                "checksum": {
                    "md5": hashlib.md5(data, usedforsecurity=False).hexdigest() if data else ""
                },
            },
            "attributes": node.attributes,
            "parts": {"count": node.parts, "length": len(node.part_files)} if node.parts else None,
        }


class ShockHandler(tornado.web.RequestHandler):
    def initialize(self, shock: ShockFixture) -> None:
        self.shock = shock

    def prepare(self) -> None:
        with self.shock.lock:
            self.shock.auth_seen.append(self.request.headers.get("Authorization", ""))
            self.shock.requests.append((self.request.method or "", self.request.uri or ""))

    def answer(self, data: Any, status: int = 200, error: str | None = None) -> None:
        self.set_status(status)
        self.set_header("Content-Type", "application/json")
        self.finish(
            json.dumps({"status": status, "data": data, "error": [error] if error else None})
        )

    def maybe_fail(self) -> bool:
        with self.shock.lock:
            if self.shock.fail_uploads > 0:
                self.shock.fail_uploads -= 1
                self.answer(None, 500, "simulated upload failure")
                return True
        return False

    def apply_upload(self, node: Node) -> None:
        files = self.request.files
        if "attributes" in files:
            node.attributes = json.loads(files["attributes"][0]["body"])
        if "upload" in files:
            node.name = files["upload"][0]["filename"]
            self.shock.write_file(node, files["upload"][0]["body"])
        for key, items in files.items():
            if key.isdigit():
                node.part_files[int(key)] = items[0]["body"]
                node.name = node.name or items[0]["filename"]
        if node.parts and len(node.part_files) == node.parts:
            joined = b"".join(node.part_files[i] for i in range(1, node.parts + 1))
            self.shock.write_file(node, joined)


class NodesHandler(ShockHandler):
    def post(self) -> None:
        if self.maybe_fail():
            return
        parts = int(self.get_body_argument("parts", "0") or 0)
        node = Node(str(uuid.uuid4()), parts=parts)
        self.apply_upload(node)
        self.shock.nodes[node.id] = node
        self.answer(self.shock.document(node))


class NodeHandler(ShockHandler):
    def get(self, node_id: str) -> None:
        node = self.shock.nodes.get(node_id)
        if node is None:
            self.answer(None, 404, "Node not found")
            return
        if "download" in self.request.arguments:
            if not node.complete:
                self.answer(None, 400, "Node has no file")
                return
            self.set_header("Content-Type", "application/octet-stream")
            self.finish(self.shock.data(node_id))
            return
        self.answer(self.shock.document(node))

    def put(self, node_id: str) -> None:
        node = self.shock.nodes.get(node_id)
        if node is None:
            self.answer(None, 404, "Node not found")
            return
        if self.maybe_fail():
            return
        self.apply_upload(node)
        self.answer(self.shock.document(node))
