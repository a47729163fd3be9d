"""Creating notifications; delivery channels hang off these calls."""

import logging

from notifications.models import Notification

logger = logging.getLogger(__name__)


def notification_create(
    *,
    client_id: int,
    kind: str,
    title: str,
    body: str = "",
    severity: str = Notification.Severity.INFO,
    agent_id: int | None = None,
) -> Notification:
    notification = Notification.objects.create(
        client_id=client_id,
        kind=kind,
        title=title,
        body=body,
        severity=severity,
        agent_id=agent_id,
    )
    logger.info(
        "Notification %s for client %s: %s", kind, client_id, title
    )
    return notification
