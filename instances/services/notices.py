"""What every notice about an instance shares: which instance it is about,
the events already open for it, and counting a repeat.

AWS resends its notices and agents resend theirs, so each kind of notice
keeps at most one open event per instance and counts the repeats on it.
"""

import functools

from django.db import connection

from instances.models import EmergencyEvent, Instance
from instances.selectors import instance_find
from instances.services.lifecycle import instance_current_primary
from spotopt.sql import all_columns, column, table


class NoInstance(Exception):
    """The agent has no instance that the notice could be about."""


def notice_instance(agent, instance_id: str, found=None) -> Instance:
    """The instance a notice is about: `found` when the caller already
    looked `instance_id` up, else looked up here; the current primary when
    the id names no serving instance."""
    instance = found or instance_find(agent_id=agent.pk, instance_id=instance_id)
    if instance is None or instance.is_retired:
        instance = instance_current_primary(agent_id=agent.pk)
    if instance is None:
        raise NoInstance("The agent has no running instance.")
    return instance


def open_events(instance, *kinds) -> dict[str, EmergencyEvent]:
    """The instance's open events of these kinds, by kind: at most one of
    each. Written by hand: every notice and its every repeat reads them."""
    events = EmergencyEvent.objects.raw(
        _open_events_sql(len(kinds)),
        [instance.pk, EmergencyEvent.Status.OPEN, *kinds],
    )
    return {event.kind: event for event in events}


@functools.cache
def _open_events_sql(kinds: int) -> str:
    marks = ", ".join(["%s"] * kinds)
    return f"""
        SELECT {all_columns(EmergencyEvent)} FROM {table(EmergencyEvent)}
        WHERE {column(EmergencyEvent, "instance")} = %s
          AND {column(EmergencyEvent, "status")} = %s
          AND {column(EmergencyEvent, "kind")} IN ({marks})
    """


def repeat_counted(event: EmergencyEvent | None) -> EmergencyEvent | None:
    """`event`, an earlier notice's, counted as noticed once more.

    Every notice takes its agent's lock before it looks for the event, so
    one not found cannot appear before this transaction ends; the unique
    constraint on open events stays as the backstop.
    """
    if event is not None:
        count = column(EmergencyEvent, "notice_count")
        with connection.cursor() as cursor:  # By hand: agents resend every 10 s.
            cursor.execute(
                f"UPDATE {table(EmergencyEvent)} SET {count} = {count} + 1"
                f" WHERE {column(EmergencyEvent, 'id')} = %s",
                [event.pk],
            )
        event.notice_count += 1
    return event
