"""The operator API of PROTOCOL.md: staff only, and what each path answers."""

import csv
import io

import pytest

from agents.models import Client
from agents.tokens import token_hash

READ_PATHS = [
    "/api/admin/stats",
    "/api/admin/clients",
    "/api/admin/clients/growth",
    "/api/admin/instances",
    "/api/admin/agents",
    "/api/admin/activity",
    "/api/admin/system-health",
    "/api/admin/export/global-stats",
]


@pytest.mark.parametrize("path", READ_PATHS)
def test_every_read_path_answers_an_operator(staff_client, registered, path):
    response = staff_client.get(path)

    assert response.status_code == 200, response.content


@pytest.mark.parametrize("path", READ_PATHS)
def test_a_non_staff_user_is_refused(nonstaff_client, db, path):
    assert nonstaff_client.get(path).status_code == 403


@pytest.mark.parametrize("path", READ_PATHS)
def test_a_client_token_is_refused(owner, path):
    assert owner.get(path).status_code == 403


def test_an_anonymous_caller_is_asked_to_authenticate(client, db):
    assert client.get("/api/admin/stats").status_code == 401


def test_the_write_paths_refuse_non_staff(nonstaff_client, owner):
    pk = owner.client.pk
    calls = [
        nonstaff_client.post("/api/admin/clients/create", {"name": "X"}),
        nonstaff_client.delete(f"/api/admin/clients/{pk}"),
        nonstaff_client.post(f"/api/admin/clients/{pk}/regenerate-token"),
    ]

    assert [call.status_code for call in calls] == [403, 403, 403]
    owner.client.refresh_from_db()
    assert Client.objects.count() == 1


def test_creating_a_client_answers_its_token_once(staff_client):
    response = staff_client.post(
        "/api/admin/clients/create",
        {"name": "Acme", "email": "ops@acme.example"},
        content_type="application/json",
    )

    assert response.status_code == 201
    body = response.json()
    client = Client.objects.get(pk=body["client_id"])
    assert client.token_hash == token_hash(body["token"])
    listed = staff_client.get("/api/admin/clients").json()["results"]
    assert all("token" not in row and "token_hash" not in row for row in listed)


def test_creating_a_client_without_a_name_is_a_400(staff_client):
    response = staff_client.post(
        "/api/admin/clients/create", {}, content_type="application/json"
    )

    assert response.status_code == 400
    assert response.json()["details"]["name"]


def test_regenerating_a_token_stops_the_old_one(staff_client, owner, registered):
    response = staff_client.post(
        f"/api/admin/clients/{owner.client.pk}/regenerate-token"
    )

    assert response.status_code == 200
    assert owner.get(f"/api/agents/{registered.pk}/config").status_code == 401
    owner.api.credentials(HTTP_AUTHORIZATION=f"Bearer {response.json()['token']}")
    assert owner.get(f"/api/agents/{registered.pk}/config").status_code == 200


def test_deleting_a_client_removes_it_and_its_agents(staff_client, owner, registered):
    response = staff_client.delete(f"/api/admin/clients/{owner.client.pk}")

    assert response.status_code == 200
    assert response.json() == {"deleted": True, "client_id": owner.client.pk}
    assert not Client.objects.exists()
    assert owner.get(f"/api/agents/{registered.pk}/config").status_code == 401


def test_deleting_an_unknown_client_is_a_404(staff_client):
    assert staff_client.delete("/api/admin/clients/999").status_code == 404


def test_stats_count_the_fleet(staff_client, registered, outsider):
    stats = staff_client.get("/api/admin/stats").json()

    assert stats["clients"] == {"total": 2, "active": 2, "suspended": 0}
    assert stats["agents"]["online"] == 1
    assert stats["instances"]["primaries"] == 1


def test_the_client_list_carries_agent_counts(staff_client, registered, outsider):
    rows = staff_client.get("/api/admin/clients").json()["results"]

    counts = {row["name"]: row["agent_count"] for row in rows}
    assert counts == {"outsider": 0, "owner": 1}


def test_growth_is_a_daily_series_ending_today(staff_client, owner):
    body = staff_client.get("/api/admin/clients/growth?days=7").json()

    assert body["days"] == 7
    assert len(body["series"]) == 7
    assert body["series"][-1]["total"] == 1


def test_lists_filter_like_the_client_api(staff_client, registered):
    online = staff_client.get("/api/admin/agents?status=online").json()
    offline = staff_client.get("/api/admin/agents?status=offline").json()
    running = staff_client.get("/api/admin/instances?state=running_primary").json()

    assert online["count"] == 1 and offline["count"] == 0
    assert running["results"][0]["instance_id"] == "i-0primary"


def test_the_list_endpoints_run_a_fixed_number_of_queries(
    staff_client, registered, outsider, django_assert_max_num_queries
):
    for path in ("/api/admin/clients", "/api/admin/agents", "/api/admin/instances"):
        with django_assert_max_num_queries(6):
            staff_client.get(path)


def test_activity_lists_recent_changes(staff_client, registered):
    events = staff_client.get("/api/admin/activity").json()["events"]

    assert events[0]["cause"] == "registered by the agent"


def test_the_export_is_a_csv_that_cannot_smuggle_formulas(staff_client, db):
    staff_client.post(
        "/api/admin/clients/create", {"name": "=HYPERLINK(1)"},
        content_type="application/json",
    )

    response = staff_client.get("/api/admin/export/global-stats")

    assert response["Content-Type"] == "text/csv"
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert rows[0][:2] == ["id", "name"]
    assert rows[1][1] == "'=HYPERLINK(1)"
