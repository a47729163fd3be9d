"""Reads of a client's agents for the dashboard and the client API."""

import functools

from django.db.models import Count

from agents.models import Agent
from spotopt.sql import all_columns, column, table


def agent_list(*, client_id: int):
    return Agent.objects.filter(client_id=client_id).order_by("logical_agent_id")


def agent_get(*, client_id: int, agent_id) -> Agent | None:
    """The client's agent, or None for another client's or a malformed id.

    Written by hand: every agent POST looks its agent up, and the ORM spent
    0.6 ms of CPU building the query each time."""
    raw = str(agent_id)
    if not (raw.isascii() and raw.isdigit() and len(raw) <= 18):
        return None
    found = list(Agent.objects.raw(_agent_get_sql(), [int(raw), client_id]))
    return found[0] if found else None


@functools.cache
def _agent_get_sql() -> str:
    return (
        f"SELECT {all_columns(Agent)} FROM {table(Agent)}"
        f" WHERE {column(Agent, 'id')} = %s AND {column(Agent, 'client')} = %s"
    )


def agent_status_counts(*, client_id: int) -> dict[str, int]:
    rows = (
        Agent.objects.filter(client_id=client_id)
        .values("status").annotate(total=Count("id")).order_by()
    )
    counts = dict.fromkeys(Agent.Status.values, 0)
    counts.update({row["status"]: row["total"] for row in rows})
    return counts
