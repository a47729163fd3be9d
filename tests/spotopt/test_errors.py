"""Field errors of nested input are named by their path, in plain words."""

from spotopt.errors import field_errors_flatten
from tests.conftest import REGISTRATION


def test_nested_errors_are_keyed_by_their_path():
    detail = {
        "region": ["Not a valid string."],
        "inventory_snapshot": {"non_field_errors": ["Invalid data."]},
        "pricing_data_array": [
            {},
            {"spot_price": ["Too low."], "az": ["Required.", "Too long."]},
        ],
        "non_field_errors": ["Nothing to report."],
    }

    assert field_errors_flatten(detail) == {
        "region": ["Not a valid string."],
        "inventory_snapshot": ["Invalid data."],
        "pricing_data_array.1.spot_price": ["Too low."],
        "pricing_data_array.1.az": ["Required.", "Too long."],
        "non_field_errors": ["Nothing to report."],
    }


def test_a_mistyped_nested_object_is_named_as_its_field(owner):
    agent_id = owner.post("/api/agents/register", REGISTRATION).json()["agent_id"]

    response = owner.post(
        f"/api/agents/{agent_id}/heartbeat", {"inventory_snapshot": "nope"}
    )

    body = response.json()
    assert response.status_code == 400
    assert body["message"] == "Invalid input: inventory_snapshot."
    [problem] = body["details"]["inventory_snapshot"]
    assert "dictionary" in problem and "ErrorDetail" not in problem


def test_a_bad_price_inside_a_report_names_its_item_and_field(owner):
    agent_id = owner.post("/api/agents/register", REGISTRATION).json()["agent_id"]
    prices = [
        {"instance_type": "m5.large", "az": "us-east-1a", "spot_price": 0.04},
        {"instance_type": "m5.large", "az": "us-east-1b", "spot_price": -1},
    ]

    response = owner.post(
        f"/api/agents/{agent_id}/pricing-report", {"pricing_data_array": prices}
    )

    details = response.json()["details"]
    assert response.status_code == 400
    assert list(details) == ["pricing_data_array.1.spot_price"]
    [problem] = details["pricing_data_array.1.spot_price"]
    assert "greater than or equal to 0" in problem


def test_a_message_names_at_most_five_fields(owner):
    agent_id = owner.post("/api/agents/register", REGISTRATION).json()["agent_id"]
    prices = [{"instance_type": "m5.large", "spot_price": "x"}] * 7

    response = owner.post(
        f"/api/agents/{agent_id}/pricing-report", {"pricing_data_array": prices}
    )

    body = response.json()
    assert len(body["details"]) == 7
    assert body["message"].endswith(".4.spot_price and 2 more.")
