"""Notifications listed and marked read through the API and the page."""

from notifications.models import Notification
from notifications.services import notification_create


def _notify(persona, count=1, **fields):
    for number in range(count):
        notification_create(
            client_id=persona.client.pk, kind="agent_online",
            title=f"Agent {number} is online", **fields,
        )


def test_the_list_is_the_clients_newest_first_with_an_unread_count(
    owner, outsider, django_assert_max_num_queries
):
    _notify(owner, 3)
    _notify(outsider, 2)

    with django_assert_max_num_queries(5):
        body = owner.get("/api/notifications").json()

    assert body["count"] == 3
    assert body["unread"] == 3
    assert body["results"][0]["title"] == "Agent 2 is online"


def test_the_list_filters_unread_and_severity(owner):
    _notify(owner, 2)
    notification_create(
        client_id=owner.client.pk, kind="token_rotated", title="Token rotated",
        severity="warning",
    )
    first = Notification.objects.filter(kind="agent_online").first()
    owner.post(f"/api/notifications/{first.pk}/mark-read")

    unread = owner.get("/api/notifications?unread=true").json()
    warnings = owner.get("/api/notifications?severity=warning").json()

    assert unread["count"] == 2
    assert [row["kind"] for row in warnings["results"]] == ["token_rotated"]


def test_mark_read_and_mark_all_read(owner):
    _notify(owner, 3)
    first = Notification.objects.first()

    one = owner.post(f"/api/notifications/{first.pk}/mark-read")
    rest = owner.post("/api/notifications/mark-all-read")

    assert one.json() == {"id": first.pk, "read": True}
    assert rest.json() == {"marked": 2}
    assert not Notification.objects.filter(read_at__isnull=True).exists()


def test_an_unknown_notification_is_404(owner):
    assert owner.post("/api/notifications/999999/mark-read").status_code == 404


def test_the_page_lists_and_marks_notifications_with_bounded_queries(
    owner, owner_web, django_assert_max_num_queries
):
    _notify(owner, 6)

    with django_assert_max_num_queries(9):
        page = owner_web.get("/notifications/")
    target = Notification.objects.first()
    owner_web.post(f"/notifications/{target.pk}/mark-read")

    assert len(page.context["page"]) == 6
    assert page.context["unread_count"] == 6
    assert b"Mark \xe2\x80\x9cAgent 5 is online\xe2\x80\x9d read" in page.content
    target.refresh_from_db()
    assert target.read_at is not None


def test_the_page_cannot_mark_another_clients_notification(
    owner, outsider_web
):
    _notify(owner)
    target = Notification.objects.get()

    response = outsider_web.post(f"/notifications/{target.pk}/mark-read")

    assert response.status_code == 404
    target.refresh_from_db()
    assert target.read_at is None
