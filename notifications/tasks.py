"""Webhook delivery with retries; the rules live in notifications.services."""

from celery import shared_task

from notifications.services import (
    WebhookError,
    webhook_deliver,
    webhook_delivery_fail,
)

WEBHOOK_MAX_RETRIES = 6
WEBHOOK_BACKOFF_SECONDS = 30


@shared_task(bind=True, max_retries=WEBHOOK_MAX_RETRIES, ignore_result=True)
def webhook_deliver_task(self, *, delivery_id: int) -> None:
    try:
        webhook_deliver(delivery_id=delivery_id)
    except WebhookError as error:
        if self.request.retries >= self.max_retries or self.request.is_eager:
            webhook_delivery_fail(delivery_id=delivery_id)
            return
        # 30 s, 60 s, 120 s ... so a restarting endpoint is not hammered.
        countdown = WEBHOOK_BACKOFF_SECONDS * 2 ** self.request.retries
        raise self.retry(exc=error, countdown=countdown)
