"""The live feed of a client's dashboard over a websocket.

The page's session is the credential; a user of another client is refused
before the handshake completes. Events are whatever spotopt.events sends to
the client's group, relayed as {"type", "payload", "at"}.
"""

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer

from spotopt.events import client_group
from spotopt.tenancy import client_of

# Close code for "not yours": the 4000 range is the application's to use.
CLOSE_NOT_FOUND = 4404


@database_sync_to_async
def _client_id_of(user) -> int | None:
    client = client_of(user)
    return client.pk if client else None


class ClientEventsConsumer(AsyncJsonWebsocketConsumer):
    async def connect(self):
        wanted = str(self.scope["url_route"]["kwargs"]["client_id"])
        client_id = await _client_id_of(self.scope.get("user"))
        if client_id is None or str(client_id) != wanted:
            await self.close(code=CLOSE_NOT_FOUND)
            return

        self.group = client_group(client_id)
        await self.channel_layer.group_add(self.group, self.channel_name)
        await self.accept()
        await self.send_json({"type": "hello", "payload": {"client_id": client_id}})

    async def disconnect(self, code):
        if hasattr(self, "group"):
            await self.channel_layer.group_discard(self.group, self.channel_name)

    async def client_event(self, message):
        await self.send_json(
            {"type": message["event"], "payload": message["payload"],
             "at": message["at"]}
        )
