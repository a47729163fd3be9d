"""Idempotent POSTs: a repeated request id replays the first answer and
changes nothing; the same id with another body is 422; a repeat while the
first is still running is 409."""

from datetime import timedelta

import pytest
from django.conf import settings
from django.utils import timezone

from agents.idempotency import idempotency_keys_prune
from agents.models import Agent, IdempotencyKey
from instances.models import Command, Switch
from pricing.models import RawPriceReport
from tests.agents.agent_paths import (
    POST_BODIES,
    POST_PATHS,
    effects,
    fill,
    launch_queue,
)
from tests.conftest import REGISTRATION

REPLAYED = "Idempotent-Replayed"


@pytest.fixture
def launch(owner, priced) -> Command:
    return launch_queue(owner, priced)


def agent_path(launch: Command, name: str) -> str:
    return f"/api/agents/{launch.agent_id}/{fill(name, launch)}"


def assert_replay_of(first, repeat) -> None:
    assert repeat.status_code == first.status_code
    assert repeat.json() == first.json()
    assert repeat.headers.get(REPLAYED) == "true"


@pytest.mark.parametrize("name", POST_PATHS)
def test_a_repeated_request_id_replays_and_another_body_is_a_422(
    owner, launch, name
):
    path, body = agent_path(launch, name), fill(POST_BODIES[name], launch)
    headers = {"X-Request-ID": f"once-{name}"}
    first = owner.post(path, body, **headers)
    assert 200 <= first.status_code < 300, first.content
    assert REPLAYED not in first.headers
    after_first = effects()

    repeats = [owner.post(path, body, **headers) for _ in range(2)]
    reused = owner.post(path, {**body, "reason": "another body"}, **headers)

    for repeat in repeats:
        assert_replay_of(first, repeat)
    assert reused.status_code == 422, reused.content
    assert reused.json()["error"] == "idempotency_key_reused"
    assert set(reused.json()) == {"error", "message", "details"}
    assert REPLAYED not in reused.headers
    assert effects() == after_first


def test_a_repeated_registration_replays_the_first_answer(owner):
    headers = {"X-Request-ID": "register-once"}
    first = owner.post("/api/agents/register", REGISTRATION, **headers)
    after_first = effects()

    repeat = owner.post("/api/agents/register", REGISTRATION, **headers)

    assert_replay_of(first, repeat)
    assert effects() == after_first


@pytest.mark.parametrize(
    "name", ["heartbeat", "pricing-report", "termination-report", "decide"]
)
def test_a_request_id_in_the_body_works_like_the_header(owner, launch, name):
    path = agent_path(launch, name)
    body = {**fill(POST_BODIES[name], launch), "request_id": f"body-{name}"}
    first = owner.post(path, body)
    after_first = effects()

    repeat = owner.post(path, body)

    assert_replay_of(first, repeat)
    assert effects() == after_first


def test_a_repeated_pricing_report_stores_its_prices_once(owner, launch):
    path = agent_path(launch, "pricing-report")
    body = fill(POST_BODIES["pricing-report"], launch)
    before = RawPriceReport.objects.count()

    for _ in range(3):
        owner.post(path, body, **{"X-Request-ID": "prices-1"})

    assert RawPriceReport.objects.count() == before + 1


def test_a_repeated_switch_command_starts_one_switch(owner, launch):
    path = agent_path(launch, "issue-switch-command")
    body = POST_BODIES["issue-switch-command"]

    answers = [owner.post(path, body, **{"X-Request-ID": "switch-1"})
               for _ in range(3)]

    assert [answer.status_code for answer in answers] == [201, 201, 201]
    assert len({answer.json()["command_id"] for answer in answers}) == 1
    assert Switch.objects.filter(agent_id=launch.agent_id).count() == 1


def test_a_repeat_without_a_request_id_is_a_new_request(owner, launch):
    path = agent_path(launch, "pricing-report")
    body = fill(POST_BODIES["pricing-report"], launch)
    before = RawPriceReport.objects.count()

    owner.post(path, body)
    repeat = owner.post(path, body)

    assert REPLAYED not in repeat.headers
    assert RawPriceReport.objects.count() == before + 2


def test_the_same_id_on_another_path_is_another_request(owner, launch):
    headers = {"X-Request-ID": "shared-id"}
    owner.post(agent_path(launch, "heartbeat"), {}, **headers)

    other = owner.post(agent_path(launch, "cleanup-report"), {}, **headers)

    assert other.status_code == 200
    assert REPLAYED not in other.headers


def test_the_same_id_from_another_client_is_another_request(owner, outsider):
    headers = {"X-Request-ID": "shared-id"}
    mine = owner.post("/api/agents/register", REGISTRATION, **headers)

    theirs = outsider.post("/api/agents/register", REGISTRATION, **headers)

    assert theirs.status_code == 200
    assert REPLAYED not in theirs.headers
    assert theirs.json()["agent_id"] != mine.json()["agent_id"]


def test_a_refused_request_does_not_use_up_its_id(owner, launch):
    path = agent_path(launch, "issue-switch-command")
    body = POST_BODIES["issue-switch-command"]
    Agent.objects.filter(pk=launch.agent_id).update(auto_switch_enabled=False)
    refused = owner.post(path, body, **{"X-Request-ID": "retry-me"})

    Agent.objects.filter(pk=launch.agent_id).update(auto_switch_enabled=True)
    retried = owner.post(path, body, **{"X-Request-ID": "retry-me"})

    assert refused.status_code == 403
    assert retried.status_code == 201
    assert REPLAYED not in retried.headers


def test_an_invalid_request_does_not_use_up_its_id(owner, launch):
    path = agent_path(launch, "pricing-report")
    invalid = owner.post(path, {"pricing_data_array": "x"},
                         **{"X-Request-ID": "fix-me"})

    fixed = owner.post(path, fill(POST_BODIES["pricing-report"], launch),
                       **{"X-Request-ID": "fix-me"})

    assert invalid.status_code == 400
    assert fixed.status_code == 200
    assert not IdempotencyKey.objects.filter(
        key="fix-me", state=IdempotencyKey.State.PROCESSING
    ).exists()


def _claim_in_progress(owner, launch, path: str, body: dict, age_seconds=0):
    from agents.idempotency import body_digest

    return IdempotencyKey.objects.create(
        client=owner.client, path=path, key="in-flight",
        body_hash=body_digest(body),
        created_at=timezone.now() - timedelta(seconds=age_seconds),
    )


def test_a_repeat_while_the_first_is_running_is_a_409(owner, launch):
    path = agent_path(launch, "heartbeat")
    _claim_in_progress(owner, launch, path, {})
    before = effects()

    response = owner.post(path, {}, **{"X-Request-ID": "in-flight"})

    assert response.status_code == 409
    assert response.json()["error"] == "request_in_progress"
    assert response.headers["Retry-After"]
    assert effects() == before


def test_a_claim_abandoned_by_a_dead_process_is_taken_over(owner, launch):
    path = agent_path(launch, "heartbeat")
    _claim_in_progress(owner, launch, path, {}, age_seconds=3600)

    response = owner.post(path, {}, **{"X-Request-ID": "in-flight"})

    assert response.status_code == 200
    key = IdempotencyKey.objects.get(key="in-flight")
    assert key.state == IdempotencyKey.State.DONE
    assert key.response_status == 200


def test_request_ids_are_kept_for_at_least_a_day(owner, launch):
    path = agent_path(launch, "heartbeat")
    owner.post(path, {}, **{"X-Request-ID": "day-old"})
    IdempotencyKey.objects.filter(key="day-old").update(
        created_at=timezone.now() - timedelta(hours=23, minutes=59)
    )

    idempotency_keys_prune(older_than_hours=settings.IDEMPOTENCY_KEY_TTL_HOURS)
    repeat = owner.post(path, {}, **{"X-Request-ID": "day-old"})

    assert settings.IDEMPOTENCY_KEY_TTL_HOURS >= 24
    assert repeat.headers.get(REPLAYED) == "true"


def test_an_answer_that_cannot_be_stored_undoes_its_effect(
    owner, launch, monkeypatch
):
    path = agent_path(launch, "pricing-report")
    body = fill(POST_BODIES["pricing-report"], launch)
    before = RawPriceReport.objects.count()

    def _store_fails(claim, response):
        raise RuntimeError("the process died before its answer was stored")

    monkeypatch.setattr("agents.idempotency._answer_store", _store_fails)
    owner.api.raise_request_exception = False
    failed = owner.post(path, body, **{"X-Request-ID": "prices-crash"})
    monkeypatch.undo()
    retried = owner.post(path, body, **{"X-Request-ID": "prices-crash"})

    assert failed.status_code == 500
    assert retried.status_code == 200
    assert REPLAYED not in retried.headers
    assert RawPriceReport.objects.count() == before + 1


def test_a_finished_first_attempt_is_never_taken_over(owner, launch):
    path = agent_path(launch, "heartbeat")
    first = owner.post(path, {}, **{"X-Request-ID": "finished"})
    IdempotencyKey.objects.filter(key="finished").update(
        created_at=timezone.now() - timedelta(hours=2)
    )

    repeat = owner.post(path, {}, **{"X-Request-ID": "finished"})

    assert_replay_of(first, repeat)
