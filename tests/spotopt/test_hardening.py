"""Production settings, rate limits and error answers that reveal nothing."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings
from django.test import Client as BrowserClient
from django.test import override_settings

ROOT = Path(__file__).resolve().parents[2]
PRODUCTION_ENV = {
    "DJANGO_SETTINGS_MODULE": "spotopt.settings.production",
    "DEBUG": "0",
    "SECRET_KEY": "x" * 20 + "-a-long-random-production-secret-" + "y" * 20,
    "ALLOWED_HOSTS": "spotopt.example.com",
}


def _manage(*args, env: dict) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT, env={**clean, **env}, capture_output=True, text=True,
        timeout=120,
    )


def test_the_deploy_checks_pass_with_production_settings():
    result = _manage("check", "--deploy", "--fail-level", "WARNING",
                     env=PRODUCTION_ENV)

    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_production_refuses_to_start_without_a_secret_key():
    env = {**PRODUCTION_ENV, "SECRET_KEY": ""}

    result = _manage("check", env=env)

    assert result.returncode != 0
    assert "SECRET_KEY must be set" in result.stderr


def _throttled(scope: str, rate: str):
    rates = dict.fromkeys(("agent", "client", "user", "anon"), "1000/min")
    rates[scope] = rate
    return override_settings(
        REST_FRAMEWORK={**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": rates}
    )


def test_an_agent_over_its_rate_gets_429_with_retry_after(owner, registered):
    path = f"/api/agents/{registered.pk}/config"
    with _throttled("agent", "3/min"):
        answers = [owner.get(path) for _ in range(4)]

    assert [a.status_code for a in answers] == [200, 200, 200, 429]
    assert 1 <= int(answers[-1]["Retry-After"]) <= 61
    assert answers[-1].json()["error"] == "rate_limited"


def test_one_busy_agent_does_not_use_up_another_agents_rate(owner, registered):
    second = owner.post(
        "/api/agents/register",
        {"instance_id": "i-2", "instance_type": "m5.large",
         "region": "us-east-1", "az": "us-east-1a"},
    ).json()["agent_id"]
    with _throttled("agent", "2/min"):
        for _ in range(3):
            owner.get(f"/api/agents/{registered.pk}/config")
        other = owner.get(f"/api/agents/{second}/config")

    assert other.status_code == 200


def test_the_client_api_is_throttled_per_client(owner, outsider):
    with _throttled("client", "2/min"):
        answers = [owner.get("/api/client/validate") for _ in range(3)]
        other = outsider.get("/api/client/validate")

    assert [a.status_code for a in answers] == [200, 200, 429]
    assert "Retry-After" in answers[-1]
    assert other.status_code == 200


def test_the_limiter_lets_requests_through_when_the_cache_fails(
    owner, registered, monkeypatch
):
    from spotopt import throttling

    def broken(*args, **kwargs):
        raise ConnectionError("cache down")

    monkeypatch.setattr(throttling.cache, "add", broken)
    with _throttled("agent", "1/min"):
        answers = [owner.get(f"/api/agents/{registered.pk}/config") for _ in range(3)]

    assert [a.status_code for a in answers] == [200, 200, 200]


def test_the_default_agent_rate_allows_a_poll_every_five_seconds():
    from spotopt.settings import base
    from spotopt.throttling import rate_parse

    limit, window = rate_parse(base.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]["agent"])

    assert limit / window >= 10 * (1 / 5)


@override_settings(LOGIN_RATE="2/min")
@pytest.mark.parametrize("path", ["/admin/login/", "/accounts/login/"])
def test_repeated_login_attempts_are_throttled(db, path):
    browser = BrowserClient()
    answers = [
        browser.post(path, {"username": "x", "password": "wrong"}) for _ in range(3)
    ]

    assert [a.status_code for a in answers] == [200, 200, 429]
    assert int(answers[-1]["Retry-After"]) >= 1
    assert browser.get(path).status_code == 200


@override_settings(CONTENT_SECURITY_POLICY="default-src 'self'")
def test_the_content_security_policy_is_sent_when_configured(client, db):
    response = client.get("/admin/login/")

    assert response["Content-Security-Policy"] == "default-src 'self'"


def test_no_policy_header_is_sent_when_none_is_configured(client, db):
    assert "Content-Security-Policy" not in client.get("/admin/login/")


def test_an_unexpected_error_answers_without_internals(staff, monkeypatch):
    from agents.api import operator

    def explode():
        raise RuntimeError("password=hunter2 at db-host-7")

    monkeypatch.setattr(operator, "global_stats", explode)
    browser = BrowserClient(raise_request_exception=False)
    browser.force_login(staff)

    response = browser.get("/api/admin/stats")

    assert response.status_code == 500
    assert response.json()["error"] == "server_error"
    assert b"hunter2" not in response.content
    assert b"db-host-7" not in response.content


def test_an_oversized_body_is_refused_before_parsing(owner, registered):
    body = "x" * (settings.REQUEST_BODY_MAX_BYTES + 1)

    response = owner.api.post(
        f"/api/agents/{registered.pk}/heartbeat", body,
        content_type="application/json",
    )

    assert response.status_code == 413


def test_the_api_docs_need_no_inline_script(client, db):
    page = client.get("/api/docs/").content.decode()

    assert "<script>" not in page
    assert client.get("/api/docs/?script=").status_code == 200


@pytest.mark.redis
def test_the_limiter_counts_in_redis_when_the_cache_is_redis(settings):
    import uuid

    from spotopt.throttling import window_hit

    settings.CACHES = {"default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": os.environ["REDIS_URL"],
    }}
    key = f"test:{uuid.uuid4().hex}"

    # Mid-window, so the three hits cannot straddle a window boundary.
    waits = [
        window_hit(key=key, limit=2, window_seconds=60, now=1_800_000_030.0)
        for _ in range(3)
    ]

    assert waits == [0, 0, 31]


@pytest.mark.parametrize("backend", [
    pytest.param("django.core.cache.backends.redis.RedisCache",
                 marks=pytest.mark.redis),
    "django.core.cache.backends.locmem.LocMemCache",
])
def test_the_limiter_reads_other_keys_in_the_same_call(settings, backend):
    import uuid

    from django.core.cache import cache

    from spotopt.throttling import window_hit_reading

    settings.CACHES = {"default": {
        "BACKEND": backend, "LOCATION": os.environ.get("REDIS_URL", "")
    }}
    prefix = f"test:{uuid.uuid4().hex}"
    cache.set(f"{prefix}:marker", (3, 0))
    cache.set(f"{prefix}:generation", 3)
    read_keys = [f"{prefix}:marker", f"{prefix}:generation", f"{prefix}:absent"]

    answers = [
        window_hit_reading(key=prefix, limit=1, window_seconds=60,
                           read_keys=read_keys, now=1_800_000_030.0)
        for _ in range(2)
    ]

    stored = {f"{prefix}:marker": (3, 0), f"{prefix}:generation": 3}
    assert answers == [(0, stored), (31, stored)]


@override_settings(LOGIN_RATE="1/min")
def test_a_forged_forwarded_for_header_does_not_escape_the_login_limit(db):
    browser = BrowserClient()
    answers = [
        browser.post(
            "/admin/login/", {"username": "x", "password": "wrong"},
            HTTP_X_FORWARDED_FOR=f"10.0.0.{attempt}",
        )
        for attempt in range(2)
    ]

    assert [a.status_code for a in answers] == [200, 429]
