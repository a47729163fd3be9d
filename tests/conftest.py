"""Shared fixtures: personas (a client and an outsider), an API client that
speaks as an agent, and the rule that CI never skips a server-backed test."""

import os
from dataclasses import dataclass
from decimal import Decimal

import pytest
from django.core.cache import cache
from django.db import connection
from rest_framework.test import APIClient

from agents.authentication import client_cache_clear
from agents.hotpath import hot_path_memory_clear
from agents.models import Agent, Client
from agents.services.clients import client_create

REQUIRE_SERVICES = bool(os.environ.get("REQUIRE_SERVICES"))


def _missing(reason: str) -> None:
    if REQUIRE_SERVICES:
        pytest.fail(f"{reason}; CI must run this test", pytrace=False)
    pytest.skip(reason)


def pytest_runtest_setup(item):
    if item.get_closest_marker("postgres") and connection.vendor != "postgresql":
        _missing("needs PostgreSQL: set DATABASE_URL to a PostgreSQL database")
    if item.get_closest_marker("redis") and not os.environ.get("REDIS_URL"):
        _missing("needs Redis: set REDIS_URL")


@pytest.fixture(autouse=True)
def _fresh_caches():
    cache.clear()
    client_cache_clear()
    hot_path_memory_clear()
    yield
    client_cache_clear()
    hot_path_memory_clear()


@dataclass
class Persona:
    client: Client
    token: str
    api: APIClient

    def post(self, path, data=None, **headers):
        return self.api.post(path, data if data is not None else {}, format="json",
                             headers=headers or None)

    def get(self, path, **headers):
        return self.api.get(path, headers=headers or None)


def _persona(name: str) -> Persona:
    client, token = client_create(name=name, email=f"{name}@example.com")
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    return Persona(client=client, token=token, api=api)


@pytest.fixture
def owner(db) -> Persona:
    return _persona("owner")


@pytest.fixture
def outsider(db) -> Persona:
    return _persona("outsider")


REGISTRATION = {
    "instance_id": "i-0primary",
    "instance_type": "m5.large",
    "region": "us-east-1",
    "az": "us-east-1a",
    "logical_agent_id": "web-1",
    "mode": "spot",
    "hostname": "web-1.internal",
    "agent_version": "2.1.0",
}


@pytest.fixture
def registered(owner) -> Agent:
    """An agent of the owner, registered and running its first primary."""
    response = owner.post("/api/agents/register", REGISTRATION)
    assert response.status_code == 200, response.content
    return Agent.objects.get(pk=response.json()["agent_id"])


def price_report(*pools: tuple[str, str], ondemand: str = "0.096") -> dict:
    """A newer-dialect pricing report: (pool_id, price) pairs."""
    items = [
        {
            "instance_type": pool_id.rsplit(".", 1)[0],
            "az": pool_id.rsplit(".", 1)[1],
            "pool_id": pool_id,
            "spot_price": price,
        }
        for pool_id, price in pools
    ]
    items.append(
        {"instance_type": "m5.large", "price_type": "ondemand", "price": ondemand,
         "region": "us-east-1"}
    )
    return {"pricing_data_array": items}


DEFAULT_POOLS = (
    ("m5.large.us-east-1a", "0.0400"),
    ("m5.large.us-east-1b", "0.0300"),
    ("m5.large.us-east-1c", "0.0350"),
)


@pytest.fixture
def priced(owner, registered) -> Agent:
    """The registered agent after it reported three pools' prices."""
    response = owner.post(
        f"/api/agents/{registered.pk}/pricing-report", price_report(*DEFAULT_POOLS)
    )
    assert response.status_code == 200, response.content
    return registered


def as_decimal(value) -> Decimal:
    return Decimal(str(value))


@pytest.fixture
def staff(db, django_user_model):
    """An operator: a staff superuser of the admin and the operator API."""
    return django_user_model.objects.create_superuser(
        username="operator", email="operator@example.com", password="x-pass-1"
    )


@pytest.fixture
def staff_client(client, staff):
    client.force_login(staff)
    return client


@pytest.fixture
def nonstaff_client(db, django_user_model):
    """A signed-in user who is not staff, such as a dashboard user."""
    from django.test import Client as BrowserClient

    user = django_user_model.objects.create_user(
        username="member", email="member@example.com", password="x-pass-2"
    )
    browser = BrowserClient()
    browser.force_login(user)
    return browser


def _member_browser(persona: Persona, django_user_model):
    from django.test import Client as BrowserClient

    from agents.models import ClientMembership

    name = persona.client.name
    user = django_user_model.objects.create_user(
        username=f"{name}-web", email=f"{name}-web@example.com", password="x-pass-3"
    )
    ClientMembership.objects.create(user=user, client=persona.client)
    browser = BrowserClient()
    browser.force_login(user)
    browser.user = user
    return browser


@pytest.fixture
def owner_web(owner, django_user_model):
    """A dashboard session of a person who belongs to the owner's client."""
    return _member_browser(owner, django_user_model)


@pytest.fixture
def outsider_web(outsider, django_user_model):
    """A dashboard session of a person of the outsider's client."""
    return _member_browser(outsider, django_user_model)
