"""The hot agent calls answered in front of Django's WSGI handler: the same
answers and headers as Django gives, and everything else left to Django
with its body, its rate count and its refusals intact."""

import json
import time
from dataclasses import dataclass

import pytest
from django.core.handlers.wsgi import WSGIHandler
from django.core.signals import request_finished, request_started
from django.db import close_old_connections, connection
from django.test import RequestFactory, override_settings
from django.test.utils import CaptureQueriesContext

from agents.front import AgentHotPath
from instances.models import Command
from instances.services.commands import command_enqueue
from spotopt.metrics import POLLS

POLL_PATHS = ("commands/pending", "pending-commands")
HEARTBEAT_BODY = {
    "status": "online",
    "instance_id": "i-0primary",
    "inventory_snapshot": {"instances": ["i-0primary"], "count": 1},
}


@dataclass
class Answer:
    status: int
    headers: dict
    body: bytes

    def json(self):
        return json.loads(self.body)


class FrontClient:
    """Calls the WSGI application as a server does: the hot path in front of
    Django's handler. Like Django's test client it keeps the request signals
    from closing the test's database connection."""

    def __init__(self, token: str):
        self.application = AgentHotPath(WSGIHandler())
        self.token = token
        self.django_started = 0

    def get(self, path, **headers) -> Answer:
        return self.call("GET", path, b"", **headers)

    def post(self, path, body, **headers) -> Answer:
        raw = body if isinstance(body, bytes) else json.dumps(body).encode()
        return self.call("POST", path, raw, **headers)

    def call(self, method, path, raw: bytes, **headers) -> Answer:
        headers = {"Authorization": f"Bearer {self.token}", **headers}
        environ = RequestFactory().generic(
            method, path, raw, content_type="application/json",
            headers=headers, HTTP_HOST=headers.pop("Host", "testserver"),
        ).environ
        captured = {}

        def start_response(status, response_headers, exc_info=None):
            captured["status"] = int(status.split()[0])
            captured["headers"] = dict(response_headers)

        request_started.disconnect(close_old_connections)
        request_finished.disconnect(close_old_connections)
        request_started.connect(self._count_django, dispatch_uid="front-test")
        try:
            chunks = self.application(environ, start_response)
            body = b"".join(chunks)
            if hasattr(chunks, "close"):
                chunks.close()
        finally:
            request_started.disconnect(dispatch_uid="front-test")
            request_started.connect(close_old_connections)
            request_finished.connect(close_old_connections)
        return Answer(captured["status"], captured["headers"], body)

    def _count_django(self, **kwargs):
        self.django_started += 1


@pytest.fixture
def front(owner) -> FrontClient:
    return FrontClient(owner.token)


def _warm_poll(front, agent, path="commands/pending") -> str:
    url = f"/api/agents/{agent.pk}/{path}"
    assert front.get(url).status == 200  # read the queue, marked it idle
    return url


@pytest.mark.parametrize("path", POLL_PATHS)
def test_a_warm_idle_poll_is_answered_without_django_or_a_query(
    front, registered, path
):
    url = _warm_poll(front, registered, path)
    started = front.django_started

    with CaptureQueriesContext(connection) as queries:
        answer = front.get(url)

    assert answer.status == 200
    assert answer.json() == ([] if path == "pending-commands" else {"commands": []})
    assert front.django_started == started
    assert queries.captured_queries == []


def test_the_front_answers_with_the_headers_django_adds(front, owner, registered):
    url = _warm_poll(front, registered)

    answer = front.get(url)
    django_answer = owner.get(url)  # Django's own door, the middleware

    for name in ("Content-Type", "X-Content-Type-Options", "Referrer-Policy",
                 "Cross-Origin-Opener-Policy"):
        assert answer.headers[name] == django_answer[name], name
    assert answer.headers["Content-Length"] == str(len(answer.body))


@override_settings(SECURE_HSTS_SECONDS=3600, SECURE_PROXY_SSL_HEADER=(
    "HTTP_X_FORWARDED_PROTO", "https"
))
def test_an_answer_over_https_carries_hsts_as_django_would(front, registered):
    url = _warm_poll(front, registered)

    secure = front.get(url, X_Forwarded_Proto="https")
    plain = front.get(url)

    assert secure.headers["Strict-Transport-Security"] == "max-age=3600"
    assert "Strict-Transport-Security" not in plain.headers


def test_a_queued_command_is_delivered_by_django(front, registered):
    url = _warm_poll(front, registered)
    command = command_enqueue(agent=registered, command_type=Command.Type.APPLY_CONFIG)
    started = front.django_started

    answer = front.get(url)

    assert front.django_started == started + 1
    assert [item["id"] for item in answer.json()["commands"]] == [command.pk]


def test_another_clients_token_is_refused_by_django_with_404(
    front, outsider, registered
):
    url = _warm_poll(front, registered)

    answer = FrontClient(outsider.token).get(url)

    assert answer.status == 404
    assert answer.json()["error"] == "not_found"


def test_an_unknown_token_is_refused_by_django_with_401(front, registered):
    url = _warm_poll(front, registered)
    front.token = "spo_not-a-real-token"

    assert front.get(url).status == 401


def test_a_host_django_refuses_is_left_to_django(front, registered):
    url = _warm_poll(front, registered)

    answer = front.get(url, Host="evil.example.com")

    assert answer.status == 400


def test_a_plain_http_call_is_left_to_djangos_https_redirect(
    owner, registered, settings
):
    settings.SECURE_SSL_REDIRECT = True
    front = FrontClient(owner.token)  # Django reads it as its handler starts

    answer = front.get(f"/api/agents/{registered.pk}/commands/pending")

    assert answer.status == 301
    assert answer.headers["Location"].startswith("https://")


def test_a_call_over_the_rate_limit_is_counted_once_and_refused_by_django(
    front, registered, settings
):
    url = _warm_poll(front, registered)
    command_enqueue(agent=registered, command_type=Command.Type.APPLY_CONFIG)
    rates = {**settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"], "agent": "3/min"}

    with override_settings(
        REST_FRAMEWORK={**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": rates}
    ):
        # The warm poll was the first call. Each of these falls through to
        # the full view (a command waits); counted twice, the first would
        # already be refused.
        answers = [front.get(url) for _ in range(3)]

    assert [answer.status for answer in answers] == [200, 200, 429]
    assert int(answers[2].headers["Retry-After"]) > 0


def test_idle_polls_past_the_process_allowance_are_refused_at_the_limit(
    front, registered, settings
):
    seconds_left = 60 - time.time() % 60
    if seconds_left < 5:  # all 40 calls in one rate window
        time.sleep(seconds_left + 0.1)
    url = _warm_poll(front, registered)
    rates = {**settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"], "agent": "40/min"}

    with override_settings(
        REST_FRAMEWORK={**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": rates}
    ):
        # The warm poll was the first call. Two (the allowance of 40/min)
        # are counted in this process alone; the shared count must take
        # them over when it starts, or the limit slips.
        answers = [front.get(url).status for _ in range(40)]

    assert answers == [200] * 39 + [429]


def test_an_idle_poll_is_counted_in_the_poll_metrics(front, registered):
    url = _warm_poll(front, registered)
    counted = POLLS.labels("200")._value.get()

    front.get(url)

    assert POLLS.labels("200")._value.get() == counted + 1


@pytest.mark.postgres
def test_a_warm_heartbeat_is_one_statement_and_djangos_answer(front, registered):
    url = f"/api/agents/{registered.pk}/heartbeat"
    _warm_poll(front, registered)
    full = front.post(url, HEARTBEAT_BODY)  # leaves the memo
    started = front.django_started

    with CaptureQueriesContext(connection) as queries:
        quick = front.post(url, HEARTBEAT_BODY, X_Request_ID="beat-2")

    assert front.django_started == started
    statements = [query["sql"] for query in queries.captured_queries
                  if "SAVEPOINT" not in query["sql"]]  # the test's transaction
    assert len(statements) == 1
    assert quick.json().keys() == full.json().keys()
    assert quick.json()["config"] == full.json()["config"]


@pytest.mark.postgres
def test_a_heartbeat_the_front_read_reaches_django_whole(front, registered):
    url = f"/api/agents/{registered.pk}/heartbeat"
    _warm_poll(front, registered)
    front.post(url, HEARTBEAT_BODY)
    # A status the shortcut does not take: Django reads the same body.
    stopping = {**HEARTBEAT_BODY, "status": "stopped"}

    answer = front.post(url, stopping)

    assert answer.status == 200
    registered.refresh_from_db()
    assert registered.status == "stopped"


def test_a_malformed_heartbeat_gets_djangos_400(front, registered):
    url = f"/api/agents/{registered.pk}/heartbeat"
    _warm_poll(front, registered)

    answer = front.post(url, b'{"status": ')

    assert answer.status == 400
    assert answer.json()["error"]


def test_a_heartbeat_over_the_plain_size_is_left_unread_to_django(
    front, registered
):
    url = f"/api/agents/{registered.pk}/heartbeat"
    _warm_poll(front, registered)
    large = {**HEARTBEAT_BODY, "health_metrics": {"padding": "x" * 20_000}}

    answer = front.post(url, large)

    assert answer.status == 200
    assert answer.json()["status"] == "ok"


def _redis_scripts_run(admin) -> int:
    stats = admin.info("commandstats")
    return sum(stats.get(name, {}).get("calls", 0)
               for name in ("cmdstat_evalsha", "cmdstat_eval"))


@pytest.mark.redis
@pytest.mark.django_db(transaction=True)
def test_with_redis_a_warm_idle_poll_asks_nothing_of_it_and_a_change_is_heard(
    owner, registered, settings
):
    import os
    import uuid

    import redis

    from instances.queue_watch import queue_watch

    settings.CACHES = {"default": {
        "BACKEND": "spotopt.cache.ReusedClientRedisCache",
        "LOCATION": os.environ["REDIS_URL"],
        "KEY_PREFIX": f"test-{uuid.uuid4().hex}",
    }}
    front = FrontClient(owner.token)
    url = f"/api/agents/{registered.pk}/commands/pending"
    queue_watch().waiting(registered.pk)  # starts this process's listener
    deadline = time.monotonic() + 5
    while not queue_watch()._listening and time.monotonic() < deadline:
        time.sleep(0.01)
    assert front.get(url).status == 200  # reads the queue, marks it idle
    assert front.get(url).status == 200  # read the marker, remembered it
    admin = redis.Redis.from_url(os.environ["REDIS_URL"])
    scripts_before = _redis_scripts_run(admin)

    idle = front.get(url)

    assert idle.json() == {"commands": []}
    assert _redis_scripts_run(admin) == scripts_before
    command = command_enqueue(agent=registered, command_type=Command.Type.APPLY_CONFIG)
    deadline = time.monotonic() + 5
    while queue_watch().waiting(registered.pk) is not None:
        assert time.monotonic() < deadline, "the change never arrived"
        time.sleep(0.01)
    assert [c["id"] for c in front.get(url).json()["commands"]] == [command.pk]
