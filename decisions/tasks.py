"""Thin Celery tasks over the decisions services."""

from celery import shared_task

from decisions.services.autoswitch import agents_autoswitch


@shared_task(name="decisions.agents_autoswitch")
def agents_autoswitch_task() -> dict:
    """Every 15 minutes: evaluate every agent with auto-switch on."""
    return agents_autoswitch()
