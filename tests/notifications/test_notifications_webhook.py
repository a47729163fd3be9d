"""Webhook delivery: a Slack-compatible body, an HMAC signature, retries."""

import contextlib
import hashlib
import hmac
import json
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest

from notifications.models import WebhookDelivery
from notifications.services import (
    SIGNATURE_HEADER,
    WebhookError,
    notification_create,
    webhook_deliver,
)
from notifications.tasks import webhook_deliver_task


class _Receiver(BaseHTTPRequestHandler):
    answers: list[int] = []
    received: list[tuple[dict, bytes]] = []

    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.received.append((self.headers, body))
        self.send_response(self.answers.pop(0) if self.answers else 200)
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture
def receiver():
    _Receiver.answers, _Receiver.received = [], []
    server = HTTPServer(("127.0.0.1", 0), _Receiver)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield _Receiver, f"http://127.0.0.1:{server.server_port}/hook"
    server.shutdown()


@pytest.fixture
def hooked(owner, receiver):
    owner.client.webhook_url = receiver[1]
    owner.client.webhook_secret = "s3cret"
    owner.client.save()
    return owner


def _notify(persona):
    return notification_create(
        client_id=persona.client.pk, kind="switch_completed",
        title="Switch to m5.large.us-east-1b completed",
        body="Downtime 900 ms.", severity="info",
    )


def test_a_notification_of_a_client_without_webhook_makes_no_delivery(owner):
    _notify(owner)

    assert not WebhookDelivery.objects.exists()


def test_a_termination_notice_queues_its_delivery_to_the_client_hook(
    hooked, priced, receiver
):
    response = hooked.post(
        f"/api/agents/{priced.pk}/termination-imminent",
        {"instance_id": "i-0primary"},
    )

    assert response.status_code == 200, response.content
    delivery = WebhookDelivery.objects.get()
    assert delivery.url == receiver[1]
    assert delivery.notification.kind == "emergency_notice"
    assert delivery.client_id == hooked.client.pk


def test_the_delivery_is_signed_and_slack_compatible(hooked, receiver):
    _notify(hooked)
    delivery = WebhookDelivery.objects.get()

    assert webhook_deliver(delivery_id=delivery.pk) is True

    headers, body = receiver[0].received[0]
    expected = hmac.new(b"s3cret", body, hashlib.sha256).hexdigest()
    assert headers[SIGNATURE_HEADER] == f"sha256={expected}"
    message = json.loads(body)
    assert message["text"] == "[info] Switch to m5.large.us-east-1b completed"
    assert message["attachments"][0]["text"] == "Downtime 900 ms."
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == ("delivered", 1)


def test_a_delivered_delivery_is_not_sent_twice(hooked, receiver):
    _notify(hooked)
    delivery = WebhookDelivery.objects.get()

    webhook_deliver(delivery_id=delivery.pk)
    webhook_deliver(delivery_id=delivery.pk)

    assert len(receiver[0].received) == 1


def test_a_refused_delivery_raises_for_a_retry_and_records_why(hooked, receiver):
    receiver[0].answers = [503]
    _notify(hooked)
    delivery = WebhookDelivery.objects.get()

    with pytest.raises(WebhookError):
        webhook_deliver(delivery_id=delivery.pk)

    delivery.refresh_from_db()
    assert (delivery.status, delivery.response_status) == ("pending", 503)
    assert delivery.last_error == "HTTP 503"


def test_the_task_retries_with_back_off_until_it_gives_up(
    hooked, receiver, monkeypatch
):
    _notify(hooked)
    delivery = WebhookDelivery.objects.get()
    receiver[0].answers = [500] * 10
    countdowns = []

    def retry(*, exc, countdown):
        countdowns.append(countdown)
        return exc

    monkeypatch.setattr(webhook_deliver_task, "retry", retry)
    for retries in range(webhook_deliver_task.max_retries + 1):
        webhook_deliver_task.push_request(retries=retries, is_eager=False)
        try:
            with contextlib.suppress(WebhookError):
                webhook_deliver_task.run(delivery_id=delivery.pk)
        finally:
            webhook_deliver_task.pop_request()

    assert countdowns == [30, 60, 120, 240, 480, 960]
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == ("failed", 7)


def test_deliveries_are_listed_in_the_admin(staff_client, hooked, receiver):
    _notify(hooked)

    response = staff_client.get("/admin/notifications/webhookdelivery/")

    assert response.status_code == 200
    assert b"Switch to m5.large" in response.content
