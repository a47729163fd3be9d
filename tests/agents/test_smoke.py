def test_register_then_heartbeat_returns_config(owner, registered):
    response = owner.post(f"/api/agents/{registered.pk}/heartbeat", {})

    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert body["config"]["enabled"] is True
    assert body["pending_commands"] == 0
