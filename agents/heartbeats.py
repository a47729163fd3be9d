"""The usual heartbeat in one statement, and the answer every heartbeat gets.

Every agent sends a heartbeat every 30 s; nearly always its status stays
online, its config and notice are as they were and nothing it reports is a
zombie. That heartbeat is recorded by one PostgreSQL statement: an UPDATE of
the agent whose WHERE restates all of that (the status, the config and
notice the agent was last told, kept in the cache for every worker, no
retired instance among those it sees running) and, with a request id, an
INSERT of the finished idempotency row with the answer, fed by the UPDATE.
One statement commits or fails whole, so:

- a row that matches nothing (anything moved, or an agent not told since
  its memo expired) changes nothing, and the full view answers;
- a request id already taken fails the INSERT, which undoes the UPDATE, and
  the full view replays the first answer or says 409, as for any POST.

The unique constraint still decides between racing repeats.
"""

import functools
import json

from django.core.cache import cache
from django.db import IntegrityError, connection
from django.utils import timezone
from rest_framework.fields import DateTimeField

from agents.idempotency import savepoint_if_in_transaction
from agents.models import CONFIG_FIELDS, Agent, IdempotencyKey
from instances.models import Instance
from spotopt.cache import cache_safely
from spotopt.sql import column, prepared_cursor, table

# The inventory a heartbeat reports is checked for zombies up to this many.
RUNNING_INSTANCES_CHECKED = 500
# What an agent was last told outlives a deploy; the statement re-checks it.
ANSWER_MEMO_SECONDS = 86_400


# Made once: a field only formats here, and building one per heartbeat cost
# a tenth of the shortcut's time.
_SERVER_TIME = DateTimeField()


def heartbeat_answer(
    *, config: dict, pending_commands: int, notice_status: str, now
) -> dict:
    """The heartbeat's answer, built one way for both paths."""
    return {
        "status": "ok",
        "server_time": _SERVER_TIME.to_representation(now),
        "config": config,
        "pending_commands": pending_commands,
        "notice_status": notice_status,
    }


def heartbeat_memo_key(agent_id: int) -> str:
    """The cache key of what the agent was last told, shared by workers."""
    return f"hb:told:{agent_id}"


def heartbeat_shortcut_available() -> bool:
    """The shortcut's one statement is PostgreSQL's (a data-modifying CTE);
    elsewhere every heartbeat takes the full view."""
    return connection.vendor == "postgresql"


def heartbeat_answer_remember(agent: Agent) -> None:
    """Remember what an online agent was told, for its next heartbeat."""
    heartbeat_answers_remember([agent])


def heartbeat_answers_remember(agents: list[Agent]) -> None:
    """Remember what each online agent was told (its config and notice
    status), in one cache call; forget it for an agent no longer online.
    Registration calls this too, so a new agent's first heartbeat takes the
    shortcut: at 10,000 agents a wave of new ones would otherwise each cost
    a full view."""
    if not heartbeat_shortcut_available():
        return  # Nothing would read it.
    told = {
        heartbeat_memo_key(agent.pk): (
            tuple(agent.config()[name] for name in CONFIG_FIELDS),
            agent.notice_status,
        )
        for agent in agents if agent.status == Agent.Status.ONLINE
    }
    gone = [
        heartbeat_memo_key(agent.pk)
        for agent in agents if agent.status != Agent.Status.ONLINE
    ]
    # Without the cache every heartbeat takes the full view: slower, right.
    if told:
        cache_safely(
            lambda: cache.set_many(told, timeout=ANSWER_MEMO_SECONDS),
            about="heartbeat memos",
        )
    if gone:
        cache_safely(lambda: cache.delete_many(gone), about="heartbeat memos")


def running_instance_ids(snapshot) -> list[str]:
    """Instance ids of an inventory snapshot: strings or {instance_id, state}."""
    ids = []
    for item in (snapshot or {}).get("instances") or []:
        if isinstance(item, str):
            ids.append(item)
        elif isinstance(item, dict) and item.get("state", "running") == "running":
            ids.append(str(item.get("instance_id") or ""))
    return [instance_id for instance_id in ids if instance_id][
        :RUNNING_INSTANCES_CHECKED
    ]


def heartbeat_record_unchanged(
    *,
    client_id: int,
    agent_id: int,
    running: list[str],
    pending_commands: int,
    told,
    request_path: str,
    request_key: str,
    body_digest: str,
) -> bytes | None:
    """Record a heartbeat that changes nothing but its time; return the
    rendered answer, or None when the full view must record it (nothing was
    written then). `told` is what the caller read of heartbeat_memo_key();
    `request_key` may be empty: no idempotency row. Callers check
    heartbeat_shortcut_available() first."""
    if not _is_memo(told):
        return None
    config_values, notice_status = told

    now = timezone.now()
    answer = heartbeat_answer(
        config=dict(zip(CONFIG_FIELDS, config_values, strict=True)),
        pending_commands=pending_commands,
        notice_status=notice_status,
        now=now,
    )
    rendered = json.dumps(answer, separators=(",", ":")).encode()
    params = [
        now, agent_id, client_id,
        Agent.Status.ONLINE, notice_status, *config_values,
        agent_id, Instance.State.TERMINATED, running,
    ]
    if request_key:
        params += [
            client_id, request_path, request_key, body_digest,
            IdempotencyKey.State.DONE, 200, rendered.decode(), now,
        ]
    try:
        with savepoint_if_in_transaction(), prepared_cursor() as cursor:
            cursor.execute(_unchanged_sql(bool(request_key)), params)
            recorded = cursor.fetchone() is not None
    except IntegrityError:
        return None  # The request id is taken: the full view answers.
    return rendered if recorded else None


def _is_memo(told) -> bool:
    return (
        isinstance(told, tuple) and len(told) == 2
        and isinstance(told[0], tuple) and len(told[0]) == len(CONFIG_FIELDS)
    )


@functools.cache
def _unchanged_sql(with_request_key: bool) -> str:
    config_match = " AND ".join(
        f"{column(Agent, name)} = %s" for name in CONFIG_FIELDS
    )
    beat = f"""
        UPDATE {table(Agent)}
        SET {column(Agent, "last_heartbeat_at")} = %s
        WHERE {column(Agent, "id")} = %s AND {column(Agent, "client")} = %s
          AND {column(Agent, "status")} = %s
          AND {column(Agent, "notice_status")} = %s
          AND {config_match}
          AND NOT EXISTS (
            SELECT 1 FROM {table(Instance)}
            WHERE {column(Instance, "agent")} = %s
              AND {column(Instance, "state")} = %s
              AND {column(Instance, "instance_id")} = ANY(%s::text[])
          )
        RETURNING {column(Agent, "id")}
    """
    if not with_request_key:
        return f"WITH beat AS ({beat}) SELECT 1 FROM beat"
    key_columns = ", ".join(
        column(IdempotencyKey, name) for name in (
            "client", "path", "key", "body_hash", "state", "response_status",
            "response_body", "created_at",
        )
    )
    return f"""
        WITH beat AS ({beat})
        INSERT INTO {table(IdempotencyKey)} ({key_columns})
        SELECT %s, %s, %s, %s, %s, %s, %s::jsonb, %s FROM beat
        RETURNING 1
    """
