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
from awe.http.fastpath import heard_from, worker_card
from awe.model import jsontext
from awe.model.workerauth import ASK_FOR_SECRET, SECRET_HEADER, Proof, derive_secret


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
        profile_id = profile.get("id") if isinstance(profile, dict) else None
        profile_id = profile_id if isinstance(profile_id, str) else ""
        shown = self.proof(profile_id)
        asks = self.request.headers.get(SECRET_HEADER) == ASK_FOR_SECRET
        record = await self.ask(self.services.registry, RegisterClient, profile=profile,
                                token=self.cg_token(), proof=shown, asks_secret=asks)  # fmt: skip
        if shown == Proof.VALID or (asks and not profile_id):  # never for an id it only claims
            self.set_header(SECRET_HEADER, derive_secret(self.services.client_key, record["id"]))
        self.reply(record)

    async def get(self) -> None:
        self.authorize("client.list")
        self.reply(await self.ask(self.services.registry, ListClients, busy=self.flag("busy")))

    async def put(self) -> None:
        self.authorize("client.control_all")
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
            card = worker_card(self, client_id)
            if card is not None and not card.instructions:  # nothing to say: answered here
                heard_from(self, client_id)
                self.reply({})
                return
            self.reply(await self.ask(registry, Heartbeat, client_id=client_id,
                                      token=self.cg_token(), proof=self.proof(client_id)))  # fmt: skip
        else:
            self.authorize("client.show")
            self.reply(await self.ask(registry, GetClient, client_id=client_id))

    async def put(self, client_id: str) -> None:
        self.authorize("client.control")
        ops = [op for op in ("suspend", "resume") if self.flag(op)]
        if not ops:
            raise NotImplementedOp()
        registry = self.services.registry
        self.reply(await self.ask(registry, ControlClient, client_id=client_id, op=ops[0]))

    async def delete(self, client_id: str) -> None:
        self.authorize("client.delete")
        registry = self.services.registry
        self.reply(await self.ask(registry, ControlClient, client_id=client_id, op="delete"))


routes = [
    (r"/client/?", ClientsHandler),
    (r"/client/([^/]+)/?", ClientHandler),
]
