"""Malformed input on every agent POST path: bad JSON, wrong types, missing
fields and oversized bodies get the error shape and never a 500; unknown
fields are ignored."""

import json
from dataclasses import dataclass, field

import pytest

from agents.models import Agent
from instances.models import Command
from tests.conftest import DEFAULT_POOLS, REGISTRATION, price_report

ERROR_KEYS = {"error", "message", "details"}


@dataclass
class PostPath:
    """One POST path with a valid body, a mistyped one and what is required."""

    name: str
    valid: dict
    mistyped: dict
    mistyped_field: str
    required: set[str] = field(default_factory=set)


@dataclass
class World:
    """An agent with prices, auto-switch on and one launch command queued."""

    agent: Agent
    launch: Command

    def path(self, name: str) -> str:
        if name == "register":
            return "/api/agents/register"
        if name == "executed":
            return f"/api/agents/{self.agent.pk}/commands/{self.launch.pk}/executed"
        return f"/api/agents/{self.agent.pk}/{name}"


def post_paths(world: World) -> dict[str, PostPath]:
    launch = world.launch
    specs = [
        PostPath("register", REGISTRATION,
                 {**REGISTRATION, "instance_id": {"id": 1}}, "instance_id",
                 {"instance_id", "instance_type", "region", "az"}),
        PostPath("heartbeat", {"status": "online"},
                 {"inventory_snapshot": "lots"}, "inventory_snapshot"),
        PostPath("executed", {"success": True,
                              "result": {"instance_id": "i-0spare"}},
                 {"success": "perhaps"}, "success"),
        PostPath("action-result",
                 {"request_id": launch.request_id, "result": "SUCCESS",
                  "cloud_instance_id": "i-0spare"},
                 {"request_id": launch.request_id, "result": "MAYBE"}, "result",
                 {"request_id", "result"}),
        PostPath("pricing-report", price_report(*DEFAULT_POOLS),
                 {"pricing_data_array": "cheap"}, "pricing_data_array",
                 {"pricing_data_array"}),
        PostPath("switch-report",
                 {"trigger": "manual", "new_instance": {"instance_id": "i-0x"}},
                 {"timing": {"initiated_at": "yesterday"}}, "timing"),
        PostPath("rebalance-recommendation", {"instance_id": "i-0primary"},
                 {"detected_at": "soon"}, "detected_at"),
        PostPath("termination-imminent", {"instance_id": "i-0primary"},
                 {"termination_time": [2026]}, "termination_time"),
        PostPath("termination-report",
                 {"instance_id": "i-0primary", "notice_type": "TERMINATION"},
                 {"success": "sure"}, "success"),
        PostPath("create-emergency-replica", {"reason": "drill"},
                 {"exclude_azs": "us-east-1b"}, "exclude_azs"),
        PostPath("instance-launched",
                 {"instance_id": "i-0spare",
                  "temp_instance_id": launch.params["temp_instance_id"]},
                 {"instance_id": ["i-0spare"]}, "instance_id", {"instance_id"}),
        PostPath("instance-terminated", {"instance_id": "i-0primary"},
                 {"instance_id": {"id": 1}}, "instance_id", {"instance_id"}),
        PostPath("termination", {"reason": "deleted"},
                 {"reason": {"why": "deleted"}}, "reason"),
        PostPath("shutdown", {"cloud_instance_id": "i-0primary"},
                 {"timestamp": "noon"}, "timestamp"),
        PostPath("cleanup-report", {"snapshots": {"deleted": 1}},
                 {"snapshots": {"deleted": "many"}}, "snapshots"),
        PostPath("decide", {"pricing": {"current_spot_price": 0.04}},
                 {"pricing": "cheap"}, "pricing"),
        PostPath("issue-switch-command",
                 {"target_pool_id": "m5.large.us-east-1b"},
                 {"target_pool_id": "m5.large.us-east-1b", "priority": "high"},
                 "priority", {"target_pool_id"}),
    ]
    return {spec.name: spec for spec in specs}


POST_NAMES = [
    "register", "heartbeat", "executed", "action-result", "pricing-report",
    "switch-report", "rebalance-recommendation", "termination-imminent",
    "termination-report", "create-emergency-replica", "instance-launched",
    "instance-terminated", "termination", "shutdown", "cleanup-report",
    "decide", "issue-switch-command",
]
REQUIRED_NAMES = [
    "register", "action-result", "pricing-report", "instance-launched",
    "instance-terminated", "issue-switch-command",
]


@pytest.fixture
def world(owner, priced) -> World:
    Agent.objects.filter(pk=priced.pk).update(auto_switch_enabled=True)
    response = owner.post(f"/api/agents/{priced.pk}/create-emergency-replica", {})
    assert response.status_code == 201, response.content
    return World(
        agent=priced, launch=Command.objects.get(pk=response.json()["command_id"])
    )


def raw_post(persona, path, body: bytes | str, content_type="application/json"):
    return persona.api.generic("POST", path, body, content_type=content_type)


def error_of(response, status: int, label: str = "") -> dict:
    assert response.status_code == status, (label, response.content)
    body = response.json()
    assert set(body) == ERROR_KEYS, (label, body)
    assert isinstance(body["error"], str) and body["error"]
    assert isinstance(body["message"], str) and body["message"]
    assert isinstance(body["details"], dict)
    return body


def field_errors_of(response, label: str = "") -> dict:
    body = error_of(response, 400, label)
    assert body["error"] == "validation_error", label
    for problems in body["details"].values():
        assert isinstance(problems, list) and problems
        assert all(isinstance(problem, str) for problem in problems)
    return body["details"]


def names_field(details: dict, field: str) -> bool:
    """True when details name the field or something inside it."""
    return any(name == field or name.startswith(f"{field}.") for name in details)


def test_every_post_path_of_the_protocol_is_covered(world):
    assert set(post_paths(world)) == set(POST_NAMES)


NOT_AN_OBJECT = [
    '{"instance_id": "i-0primary",',
    b'{"status": "\xff\xfe"}',
    '{"health_metrics": ' + "[" * 50_000 + "]" * 50_000 + "}",
    "[]", "[1, 2]", '"text"', "42", "null", "true",
]


def test_a_body_that_is_not_a_json_object_is_a_400_on_every_path(owner, world):
    for name in POST_NAMES:
        responses = [
            raw_post(owner, world.path(name), body) for body in NOT_AN_OBJECT
        ]

        errors = [error_of(response, 400, name)["error"] for response in responses]
        assert errors[0] == errors[2] == "invalid_json", name


def test_wrong_types_are_a_400_naming_the_field_on_every_path(owner, world):
    for name, spec in post_paths(world).items():
        response = owner.post(world.path(name), spec.mistyped)

        assert names_field(field_errors_of(response, name), spec.mistyped_field), name


def test_missing_required_fields_are_a_400_naming_them(owner, world):
    specs = post_paths(world)

    for name in REQUIRED_NAMES:
        response = owner.post(world.path(name), {})

        assert set(field_errors_of(response, name)) == specs[name].required


def test_a_one_megabyte_body_is_a_413_on_every_path(owner, world):
    padding = "x" * (1024 * 1024)

    for name, spec in post_paths(world).items():
        body = json.dumps({**spec.valid, "padding": padding})
        response = raw_post(owner, world.path(name), body)

        assert error_of(response, 413, name)["error"] == "payload_too_large"


def test_a_form_encoded_body_is_a_415_on_every_path(owner, world):
    for name in POST_NAMES:
        response = raw_post(
            owner, world.path(name), "instance_id=i-0primary",
            content_type="application/x-www-form-urlencoded",
        )

        error_of(response, 415, name)


@pytest.mark.parametrize("name", POST_NAMES)
def test_unknown_fields_are_ignored(owner, world, name):
    spec = post_paths(world)[name]
    body = {**spec.valid, "future_field": {"nested": [1, 2]}, "x-extra": None}

    response = owner.post(world.path(name), body)

    assert 200 <= response.status_code < 300, response.content
    assert isinstance(response.json(), dict) and response.json()


@pytest.mark.parametrize(
    "body, field_name",
    [
        ({"pricing_data_array": [{"instance_type": "m5.large",
                                  "az": "us-east-1a", "spot_price": "abc"}]},
         "pricing_data_array.0.spot_price"),
        ({"pricing_data_array": [{"instance_type": "m5.large",
                                  "az": "us-east-1a", "spot_price": -1}]},
         "pricing_data_array.0.spot_price"),
        ({"pricing_data_array": [{"instance_type": "m5.large",
                                  "spot_price": 0.03}]},
         "pricing_data_array.0.az"),
        ({"pricing_data_array": [{"az": "us-east-1a", "spot_price": 0.03}]},
         "pricing_data_array.0.instance_type"),
        ({"pricing_data_array": ["m5.large"]}, "pricing_data_array.0"),
        ({"pricing": {"spot_pools": [{"pool_id": "m5.large.us-east-1a",
                                      "price": "NaN"}]}},
         "pricing.spot_pools.0.price"),
        ({"pricing": {"spot_pools": "all"}}, "pricing.spot_pools"),
        ({"pricing": {"collected_at": 5}}, "pricing.collected_at"),
        ({"instance": "i-0primary", "pricing": {"on_demand_price": 1}},
         "instance"),
    ],
)
def test_malformed_price_reports_are_refused(owner, world, body, field_name):
    response = owner.post(world.path("pricing-report"), body)

    assert list(field_errors_of(response)) == [field_name]


@pytest.mark.parametrize(
    "pricing",
    [
        {"on_demand_price": "abc"},
        {"on_demand_price": {"value": 1}},
        {"current_spot_price": [0.03]},
        {"current_spot_price": -0.5},
    ],
)
def test_decide_with_junk_price_overrides_is_a_400(owner, world, pricing):
    response = owner.post(world.path("decide"), {"pricing": pricing})

    assert "pricing" in field_errors_of(response)


@pytest.mark.parametrize(
    "body, field_name",
    [
        ({"target_mode": "banana", "target_pool_id": "m5.large.us-east-1b"},
         "target_mode"),
        ({"target_mode": "spot"}, "target_pool_id"),
        ({"target_pool_id": "not-a-pool"}, "target_pool_id"),
        ({"target_pool_id": "m5.large.us-east-1b", "priority": 0}, "priority"),
        ('{"target_pool_id": "m5.large.us-east-1b", "priority": 1e400}',
         "priority"),
        ('{"target_pool_id": "m5.large.us-east-1b", "priority": 2.5}',
         "priority"),
    ],
)
def test_malformed_switch_commands_are_refused(owner, world, body, field_name):
    path = world.path("issue-switch-command")

    if isinstance(body, str):
        response = raw_post(owner, path, body)
    else:
        response = owner.post(path, body)

    assert field_name in field_errors_of(response)


@pytest.mark.parametrize(
    "body, field_name",
    [
        ({"instance_id": "i-1", "instance_type": "m5.large", "region": "r",
          "az": "a" * 100}, "az"),
        ({**REGISTRATION, "instance_type": True}, "instance_type"),
        ({**REGISTRATION, "hostname": ["web"]}, "hostname"),
        ({**REGISTRATION, "region": None}, "region"),
    ],
)
def test_malformed_registrations_are_refused(owner, world, body, field_name):
    response = owner.post(world.path("register"), body)

    assert field_name in field_errors_of(response)


def test_a_null_for_an_optional_string_is_accepted(owner, world):
    body = {**REGISTRATION, "hostname": None, "mode": None, "ami_id": None}

    response = owner.post(world.path("register"), body)

    assert response.status_code == 200, response.content


def test_a_result_for_an_unknown_command_is_a_404(owner, world):
    response = owner.post(
        world.path("action-result"), {"request_id": "nope", "result": "SUCCESS"}
    )

    error_of(response, 404)


def test_a_launch_report_for_an_unknown_instance_is_a_404(owner, world):
    response = owner.post(
        world.path("instance-launched"),
        {"instance_id": "i-0stranger", "temp_instance_id": "tmp-unknown"},
    )

    error_of(response, 404)


@pytest.mark.parametrize("command_id", ["999999", "not-a-command",
                                        "99999999999999999999999999"])
def test_executed_for_an_unknown_command_is_a_404(owner, world, command_id):
    response = owner.post(
        f"/api/agents/{world.agent.pk}/commands/{command_id}/executed",
        {"success": True},
    )

    error_of(response, 404)


def test_an_over_long_request_id_header_is_not_a_500(owner, world):
    response = owner.post(
        world.path("heartbeat"), {}, **{"X-Request-ID": "r" * 5000}
    )

    assert response.status_code == 200, response.content


def test_a_wrong_method_is_a_405_with_the_error_shape(owner, world):
    agent_base = f"/api/agents/{world.agent.pk}"

    answers = {
        "GET heartbeat": owner.get(f"{agent_base}/heartbeat"),
        "GET register": owner.get("/api/agents/register"),
        "POST config": owner.post(f"{agent_base}/config", {}),
        "POST commands/pending": owner.post(f"{agent_base}/commands/pending", {}),
        "PUT pricing-report": owner.api.put(
            f"{agent_base}/pricing-report", {}, format="json"
        ),
        "DELETE statistics": owner.api.delete(f"{agent_base}/statistics"),
    }

    for label, response in answers.items():
        assert error_of(response, 405, label)["error"] == "method_not_allowed"
