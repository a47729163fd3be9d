"""Every admin page renders for an operator and is refused to anyone else."""

import pytest
from django.contrib import admin
from django.urls import reverse

from pricing.consolidation import consolidation_run
from tests.conftest import DEFAULT_POOLS, price_report

# Rows every fleet in use has; their change forms must be exercised.
CORE_MODELS = {
    "agents.client", "agents.agent", "instances.instance", "instances.command",
    "instances.emergencyevent", "instances.auditevent", "pricing.spotpool",
    "pricing.rawpricereport", "pricing.consolidationjob",
    "notifications.notification",
}


@pytest.fixture
def fleet(owner, priced, staff):
    """A fleet that went through a termination notice and a decision."""
    agent_id = priced.pk
    owner.post(
        f"/api/agents/{agent_id}/termination-imminent", {"instance_id": "i-0primary"}
    )
    owner.post(f"/api/agents/{agent_id}/decide", {})
    owner.post(f"/api/agents/{agent_id}/pricing-report", price_report(*DEFAULT_POOLS))
    consolidation_run()
    return priced


def _admin_pages(with_objects: bool):
    for model, model_admin in admin.site._registry.items():
        info = model._meta.app_label, model._meta.model_name
        yield model, f"admin:{info[0]}_{info[1]}_changelist", None
        if with_objects:
            first = model_admin.get_queryset(_FakeRequest()).first()
            if first is not None:
                yield model, f"admin:{info[0]}_{info[1]}_change", first.pk


class _FakeRequest:
    """Enough of a request for get_queryset, which ignores the user here."""

    user = None
    GET = {}


def test_every_changelist_and_change_form_renders_for_an_operator(
    fleet, staff_client
):
    seen = set()
    for model, name, pk in _admin_pages(with_objects=True):
        url = reverse(name, args=[pk] if pk else [])
        response = staff_client.get(url)

        assert response.status_code == 200, (url, response.status_code)
        if pk is not None:
            seen.add(model._meta.label_lower)
    assert seen >= CORE_MODELS, CORE_MODELS - seen


def test_every_add_form_renders_unless_the_admin_forbids_adding(staff_client, db):
    request = staff_client.get(reverse("admin:index")).wsgi_request
    for model, model_admin in admin.site._registry.items():
        info = model._meta.app_label, model._meta.model_name
        url = reverse(f"admin:{info[0]}_{info[1]}_add")
        response = staff_client.get(url)

        expected = 200 if model_admin.has_add_permission(request) else 403
        assert response.status_code == expected, url


def test_admin_pages_send_a_signed_in_non_staff_user_to_the_login(
    fleet, nonstaff_client
):
    pages = [reverse(name, args=[pk] if pk else [])
             for _, name, pk in _admin_pages(with_objects=True)]
    pages += [reverse("admin:index"), reverse("admin:system-health")]
    for url in pages:
        response = nonstaff_client.get(url)

        assert response.status_code == 302, url
        assert response["Location"].startswith(reverse("admin:login")), url


def test_the_index_shows_global_figures(fleet, staff_client):
    response = staff_client.get(reverse("admin:index"))

    assert response.status_code == 200
    figures = response.context["figures"]
    assert figures["clients"]["active"] == 1
    assert figures["emergencies_24h"]["terminations"] == 1
    assert b"fleet-figures" in response.content


def test_the_system_health_page_shows_each_dependency_and_the_fleet(
    fleet, staff_client
):
    response = staff_client.get(reverse("admin:system-health"))

    assert response.status_code == 200
    health = response.context["health"]
    assert health["checks"]["database"] == "ok"
    assert health["agents"]["online"] == 1
    assert health["emergencies_24h"]["termination"] == 1
    assert health["consolidation_lag_seconds"] is not None
    assert b"Consolidation lag" in response.content


def test_the_periodic_tasks_of_celery_beat_are_in_the_admin(staff_client):
    response = staff_client.get(
        reverse("admin:django_celery_beat_periodictask_changelist")
    )

    assert response.status_code == 200
