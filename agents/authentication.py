"""Bearer-token authentication for agents and client API calls.

Agents poll every few seconds, so the client behind a token is remembered in
the process for a few seconds. A suspension or rotation in this process
forgets it at once; other processes notice within AUTH_CACHE_SECONDS.

Which client owns an agent is remembered too, so an idle command poll needs
no query at all: in the process, and in the shared cache for the other
workers and for processes started after a deploy, which would otherwise
each read every agent's owner again. An agent never changes owner, so this
can be remembered for minutes; the only staleness is a deleted agent
answering empty polls for that long.
"""

import functools
import time

from django.core.cache import cache
from rest_framework import authentication, exceptions

from agents.models import Agent, Client
from agents.tokens import token_hash, token_prefix
from spotopt.cache import cache_safely
from spotopt.sql import column, prepared_cursor, table

AUTH_CACHE_SECONDS = 5.0
AGENT_OWNER_CACHE_SECONDS = 300.0
# Bounds the memory of a worker polled by very many agents; the cache is
# dropped whole when full, which costs one query per agent to rebuild.
AGENT_OWNER_CACHE_MAX_ENTRIES = 200_000
# Keyed by the token itself: hashing it on every poll cost more than the
# look-up. Only tokens that found a client are kept.
_clients_by_token: dict[str, tuple[float, Client]] = {}
_agent_owner_until: dict[tuple[int, int], float] = {}


class ClientPrincipal:
    """The authenticated caller of a token-authenticated request."""

    is_authenticated = True
    is_staff = False

    def __init__(self, client: Client):
        self.client = client

    def __str__(self):
        return f"client:{self.client.pk}"


def client_cache_clear() -> None:
    _clients_by_token.clear()
    _agent_owner_until.clear()


def client_for_token(token: str) -> Client | None:
    cached = _clients_by_token.get(token)
    now = time.monotonic()
    if cached and cached[0] > now:
        return cached[1]

    client = Client.objects.filter(
        token_prefix=token_prefix(token), token_hash=token_hash(token)
    ).first()
    if client is not None:
        _clients_by_token[token] = (now + AUTH_CACHE_SECONDS, client)
    return client


def agent_owner_key(agent_id: int) -> str:
    """The shared cache key holding the id of the agent's client."""
    return f"agent:owner:{agent_id}"


def agent_is_owned(*, client_id: int, agent_id: int) -> bool:
    """Say whether the agent belongs to the client, from memory when fresh.

    The process's memory answers first, then the shared cache, then the
    database. Only ownership is remembered, never its absence: an unknown or
    foreign agent id is checked against the database every time, so an
    agent that was just registered is found at once.
    """
    if agent_owned_in_memory(client_id=client_id, agent_id=agent_id):
        return True
    return agent_owner_confirm(
        client_id=client_id, agent_id=agent_id, shared=_shared_owner(agent_id)
    )


def agent_owned_in_memory(*, client_id: int, agent_id: int) -> bool:
    """Whether this process remembers the agent as the client's."""
    return _agent_owner_until.get((client_id, agent_id), 0.0) > time.monotonic()


def agent_owner_confirm(*, client_id: int, agent_id: int, shared) -> bool:
    """Check ownership with what the shared cache said of the agent's owner
    (`shared`, read by the caller; None when absent), else the database;
    remember it when owned."""
    key, now = (client_id, agent_id), time.monotonic()
    if shared == client_id:
        _owner_remember(key, now)
        return True

    with prepared_cursor() as cursor:
        cursor.execute(_owned_sql(), [agent_id, client_id])
        owned = cursor.fetchone() is not None
    if owned:
        _owner_remember(key, now)
        agent_owner_share(client_id=client_id, agent_id=agent_id)
    return owned


@functools.cache
def _owned_sql() -> str:
    # By hand: a worker's first poll of every agent asks it, 10,000 of them
    # after a restart.
    return (
        f"SELECT 1 FROM {table(Agent)} WHERE {column(Agent, 'id')} = %s"
        f" AND {column(Agent, 'client')} = %s"
    )


def _shared_owner(agent_id: int) -> int | None:
    return cache_safely(
        lambda: cache.get(agent_owner_key(agent_id)), about="agent owners"
    )


def _owner_remember(key: tuple[int, int], now: float) -> None:
    if len(_agent_owner_until) >= AGENT_OWNER_CACHE_MAX_ENTRIES:
        _agent_owner_until.clear()
    _agent_owner_until[key] = now + AGENT_OWNER_CACHE_SECONDS


def agent_owner_share(*, client_id: int, agent_id: int) -> None:
    agent_owners_share({agent_id: client_id})


def agent_owners_share(owners: dict[int, int]) -> None:
    """Tell every process who owns each agent (agent id -> client id), in
    one cache call: registration does, so no worker reads it from the
    database. Without the cache each reads it from the database."""
    cache_safely(
        lambda: cache.set_many(
            {agent_owner_key(agent_id): client_id
             for agent_id, client_id in owners.items()},
            timeout=int(AGENT_OWNER_CACHE_SECONDS),
        ),
        about="agent owners",
    )


class ClientTokenAuthentication(authentication.BaseAuthentication):
    keyword = "Bearer"

    def authenticate(self, request):
        header = authentication.get_authorization_header(request).split()
        if not header or header[0].lower() != self.keyword.lower().encode():
            return None
        if len(header) != 2:
            raise exceptions.AuthenticationFailed("Malformed Authorization header.")

        try:
            token = header[1].decode()
        except UnicodeDecodeError:
            raise exceptions.AuthenticationFailed("Malformed token.")
        client = client_for_token(token)
        if client is None:
            raise exceptions.AuthenticationFailed("Unknown token.")
        if not client.is_active:
            raise exceptions.PermissionDenied("This client is suspended.")
        return ClientPrincipal(client), token

    def authenticate_header(self, request):
        return self.keyword
