"""Live events for a client's dashboard, published after the commit.

Consumers join the group named by client_group(); publishing only after the
transaction commits means a page never hears of a row it cannot read yet.
"""

import logging

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import transaction
from django.utils import timezone

logger = logging.getLogger(__name__)


def client_group(client_id: int) -> str:
    return f"client-{client_id}"


def event_publish(*, client_id: int, event_type: str, payload: dict) -> None:
    """Send the event to the client's group once the transaction commits."""
    message = {
        "type": "client.event",
        "event": event_type,
        "payload": payload,
        "at": timezone.now().isoformat(),
    }
    transaction.on_commit(lambda: _send(client_id, message))


def _send(client_id: int, message: dict) -> None:
    layer = get_channel_layer()
    if layer is None:
        return
    try:
        async_to_sync(layer.group_send)(client_group(client_id), message)
    except Exception:
        # A dead channel layer must never fail the agent's request.
        logger.warning(
            "Could not publish %s to client %s", message["event"], client_id,
            exc_info=True,
        )
