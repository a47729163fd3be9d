import pytest

AGENT_PATHS = {
    ("post", "/api/agents/register"),
    ("post", "/api/agents/{agent_id}/heartbeat"),
    ("get", "/api/agents/{agent_id}/config"),
    ("get", "/api/agents/{agent_id}/pending-commands"),
    ("get", "/api/agents/{agent_id}/commands/pending"),
    ("post", "/api/agents/{agent_id}/commands/{command_id}/executed"),
    ("post", "/api/agents/{agent_id}/action-result"),
    ("post", "/api/agents/{agent_id}/pricing-report"),
    ("post", "/api/agents/{agent_id}/switch-report"),
    ("post", "/api/agents/{agent_id}/rebalance-recommendation"),
    ("post", "/api/agents/{agent_id}/termination-imminent"),
    ("post", "/api/agents/{agent_id}/termination-report"),
    ("post", "/api/agents/{agent_id}/create-emergency-replica"),
    ("get", "/api/agents/{agent_id}/emergency-status"),
    ("get", "/api/agents/{agent_id}/replica-config"),
    ("get", "/api/agents/{agent_id}/instances-to-terminate"),
    ("post", "/api/agents/{agent_id}/instance-launched"),
    ("post", "/api/agents/{agent_id}/instance-terminated"),
    ("post", "/api/agents/{agent_id}/termination"),
    ("post", "/api/agents/{agent_id}/shutdown"),
    ("post", "/api/agents/{agent_id}/cleanup-report"),
    ("post", "/api/agents/{agent_id}/decide"),
    ("get", "/api/agents/{agent_id}/switch-recommendation"),
    ("post", "/api/agents/{agent_id}/issue-switch-command"),
    ("get", "/api/agents/{agent_id}/statistics"),
}


@pytest.fixture
def schema(client, db):
    response = client.get(
        "/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json"
    )
    assert response.status_code == 200
    return response.json()


def test_the_schema_documents_every_agent_path_with_its_shapes(schema):
    operations = {
        (method, path): operation
        for path, methods in schema["paths"].items()
        for method, operation in methods.items()
    }

    assert set(operations) >= AGENT_PATHS
    for key in AGENT_PATHS:
        operation = operations[key]
        assert any(code.startswith("2") for code in operation["responses"]), key
        success = next(v for c, v in operation["responses"].items() if c[0] == "2")
        assert "content" in success, key
        if key[0] == "post":
            assert "requestBody" in operation, key
    assert "clientToken" in schema["components"]["securitySchemes"]


def test_the_swagger_ui_is_served(client, db):
    assert client.get("/api/docs/").status_code == 200


def test_get_only_agent_paths_refuse_a_post(owner, registered):
    response = owner.post(f"/api/agents/{registered.pk}/config", {})

    assert response.status_code == 405
    assert response.json()["error"] == "method_not_allowed"
