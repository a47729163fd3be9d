"""Reads of a client's agents for the dashboard and the client API."""

from django.db.models import Count

from agents.models import Agent


def agent_list(*, client_id: int):
    return Agent.objects.filter(client_id=client_id).order_by("logical_agent_id")


def agent_get(*, client_id: int, agent_id) -> Agent | None:
    """The client's agent, or None for another client's or a malformed id."""
    if not str(agent_id).isdigit():
        return None
    return Agent.objects.filter(client_id=client_id, pk=int(agent_id)).first()


def agent_status_counts(*, client_id: int) -> dict[str, int]:
    rows = (
        Agent.objects.filter(client_id=client_id)
        .values("status").annotate(total=Count("id")).order_by()
    )
    counts = dict.fromkeys(Agent.Status.values, 0)
    counts.update({row["status"]: row["total"] for row in rows})
    return counts
