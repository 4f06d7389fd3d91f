"""`/client`: register, list, heartbeat, suspend/resume/delete (spec 6, 8.5)."""

from __future__ import annotations

from awe.actors.messages import (
    ControlAllClients,
    ControlClient,
    GetClient,
    Heartbeat,
    ListClients,
    RegisterClient,
)
from awe.errors import AweError, NotImplementedOp
from awe.http.base import APIHandler, UploadHandler, smaller_cap
from awe.model import jsontext


class ClientsHandler(UploadHandler):
    def body_limit(self) -> tuple[int, str]:
        return smaller_cap((1024 * 1024, ""), self._server_cap())  # a client profile

    async def post(self) -> None:
        self.parse_body()
        raw = self.file("profile")
        try:
            profile = jsontext.loads(raw) if raw else {}
        except ValueError as err:
            raise AweError(f"Error in registering new client:{err}") from None
        registry = self.services.registry
        self.reply(await self.ask(registry, RegisterClient, profile=profile, token=self.cg_token()))

    async def get(self) -> None:
        self.require("read")
        self.reply(await self.ask(self.services.registry, ListClients, busy=self.flag("busy")))

    async def put(self) -> None:
        self.require("write")
        ops = [op for op in ("suspendall", "resumeall") if self.flag(op)]
        if not ops:
            raise NotImplementedOp()
        self.reply(await self.ask(self.services.registry, ControlAllClients, op=ops[0]))

    async def delete(self) -> None:
        raise NotImplementedOp()


class ClientHandler(APIHandler):
    async def get(self, client_id: str) -> None:
        registry = self.services.registry
        if self.flag("heartbeat"):
            self.reply(await self.ask(registry, Heartbeat, client_id=client_id,
                                      token=self.cg_token()))  # fmt: skip
        else:
            self.require("read")
            self.reply(await self.ask(registry, GetClient, client_id=client_id))

    async def put(self, client_id: str) -> None:
        self.require("write")
        ops = [op for op in ("suspend", "resume") if self.flag(op)]
        if not ops:
            raise NotImplementedOp()
        registry = self.services.registry
        self.reply(await self.ask(registry, ControlClient, client_id=client_id, op=ops[0]))

    async def delete(self, client_id: str) -> None:
        self.require("delete")
        registry = self.services.registry
        self.reply(await self.ask(registry, ControlClient, client_id=client_id, op="delete"))


routes = [
    (r"/client/?", ClientsHandler),
    (r"/client/([^/]+)/?", ClientHandler),
]
