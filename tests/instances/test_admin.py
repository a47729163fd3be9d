"""The command queue's actions and the instance history in the console."""

from django.urls import reverse

from instances.models import AuditEvent, Command, Instance
from instances.services.commands import command_close, command_enqueue

COMMANDS = "admin:instances_command_changelist"


def _action(browser, action: str, *pks):
    return browser.post(
        reverse(COMMANDS),
        {"action": action, "_selected_action": [str(pk) for pk in pks]},
        follow=True,
    )


def test_cancelling_a_config_command_closes_it_as_failed(staff_client, registered):
    command = command_enqueue(
        agent=registered, command_type=Command.Type.APPLY_CONFIG,
        params={"config_updates": {"enabled": False}},
    )

    _action(staff_client, "commands_cancel", command.pk)

    command.refresh_from_db()
    assert command.status == Command.Status.FAILED
    assert command.message.startswith("cancelled: operator")


def test_cancelling_a_launch_ends_the_instance_it_was_starting(
    owner, priced, staff_client
):
    owner.post(
        f"/api/agents/{priced.pk}/termination-imminent", {"instance_id": "i-0primary"}
    )
    launch = Command.objects.get(command_type=Command.Type.LAUNCH_INSTANCE)

    _action(staff_client, "commands_cancel", launch.pk)

    launch.refresh_from_db()
    assert launch.status == Command.Status.FAILED
    assert Instance.objects.get(pk=launch.instance_id).state == (
        Instance.State.TERMINATED
    )


def test_retrying_a_failed_command_queues_a_copy_with_a_new_request_id(
    staff_client, registered
):
    command = command_enqueue(
        agent=registered, command_type=Command.Type.SELF_DESTRUCT
    )
    command_close(command=command, succeeded=False, message="agent busy")

    _action(staff_client, "commands_retry", command.pk)

    copy = Command.objects.exclude(pk=command.pk).get()
    assert copy.status == Command.Status.PENDING
    assert copy.command_type == Command.Type.SELF_DESTRUCT
    assert copy.request_id != command.request_id
    assert AuditEvent.objects.filter(
        event_type="command_retry", details__retry_of=command.request_id
    ).exists()


def test_an_open_command_or_a_launch_is_not_retried(owner, priced, staff_client):
    owner.post(
        f"/api/agents/{priced.pk}/termination-imminent", {"instance_id": "i-0primary"}
    )
    launch = Command.objects.get(command_type=Command.Type.LAUNCH_INSTANCE)
    before = Command.objects.count()

    response = _action(staff_client, "commands_retry", launch.pk)

    assert Command.objects.count() == before
    assert b"Skipped 1" in response.content


def test_the_instance_page_shows_its_state_history_read_only(
    staff_client, registered
):
    instance = Instance.objects.get(agent=registered)

    response = staff_client.get(
        reverse("admin:instances_instance_change", args=[instance.pk])
    )

    assert response.status_code == 200
    assert b"state history" in response.content.lower()
    assert b"registered by the agent" in response.content
    assert b'name="_save"' not in response.content


def test_command_actions_are_refused_to_non_staff(nonstaff_client, registered):
    command = command_enqueue(
        agent=registered, command_type=Command.Type.APPLY_CONFIG
    )

    response = nonstaff_client.post(
        reverse(COMMANDS),
        {"action": "commands_cancel", "_selected_action": [command.pk]},
    )

    assert response.status_code == 302
    command.refresh_from_db()
    assert command.status == Command.Status.PENDING
