"""Seed benchmark agents in bulk, each with a running primary instance.

Registration is not part of the steady field mix, and the API registers a
few dozen agents a second on a shared 2-core machine, so the larger ramp
steps get their agents here: the same rows agent_register creates for a new
agent, written in bulk. Run by agent_load.py with the server's environment:

    python bench/_seed.py CLIENT_ID FIRST COUNT

Prints one JSON line: [[agent_id, instance_id], ...].
"""

import json
import os
import sys
from pathlib import Path

AZS = ("us-east-1a", "us-east-1b", "us-east-1c")


def agents_seed(*, client_id: int, first: int, count: int) -> list:
    from django.db import connection
    from django.utils import timezone

    from agents.authentication import agent_owners_share
    from agents.heartbeats import heartbeat_answers_remember
    from agents.models import Agent
    from instances.models import Instance
    from pricing.services import pool_get_or_create

    now = timezone.now()
    pools = {
        az: pool_get_or_create(instance_type="m5.large", az=az, region="us-east-1")
        for az in AZS
    }
    indexes = range(first, first + count)
    agents = Agent.objects.bulk_create(
        [
            Agent(
                client_id=client_id, logical_agent_id=f"bench-{index}",
                instance_type="m5.large", region="us-east-1",
                az=AZS[index % len(AZS)], hostname=f"bench-{index}.internal",
                agent_version="bench", last_heartbeat_at=now,
                offline_after=Agent.next_offline_after(now),
            )
            for index in indexes
        ],
        batch_size=1000,
    )
    Instance.objects.bulk_create(
        [
            Instance(
                agent=agent, client_id=client_id,
                instance_id=f"i-bench{index:07d}",
                temp_instance_id=f"reg-i-bench{index:07d}-{agent.pk}",
                pool=pools[agent.az], instance_type="m5.large",
                region="us-east-1", az=agent.az, mode=Instance.Mode.SPOT,
                role_hint=Instance.Role.PRIMARY,
                state=Instance.State.RUNNING_PRIMARY,
                confirmed_at=now, promoted_at=now,
            )
            for index, agent in zip(indexes, agents, strict=True)
        ],
        batch_size=1000,
    )
    # As registration does: a new agent's owner and first heartbeat's answer
    # are known to every worker before it calls.
    heartbeat_answers_remember(agents)
    agent_owners_share({agent.pk: client_id for agent in agents})
    # As autovacuum would soon after a bulk load. This machine's PostgreSQL
    # runs with autovacuum off, and with the statistics of an empty table
    # the planner took the client's index for the heartbeat's update of one
    # agent (reading every agent of the client) instead of the primary key.
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    return [
        [agent.pk, f"i-bench{index:07d}"]
        for index, agent in zip(indexes, agents, strict=True)
    ]


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "spotopt.settings.base")
    import django

    django.setup()
    client_id, first, count = map(int, sys.argv[1:4])
    print(json.dumps(agents_seed(client_id=client_id, first=first, count=count)))
