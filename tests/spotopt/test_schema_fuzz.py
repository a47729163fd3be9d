"""Fuzz every operation of the OpenAPI schema with a valid client token.

Each operation gets a bounded number of generated requests; every answer
must be free of 5xx and match the schema. Path ids are pointed at the
client's real agent and instance half the time, so the fuzzing reaches the
handlers and not only the 404 of an unknown id.
"""

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.config import SchemathesisConfig
from schemathesis.specs.openapi.checks import response_schema_conformance

from instances.models import Instance

# The event stream never ends, which a synchronous fuzz call cannot wait for.
EXCLUDED_PATH_REGEX = r"/events/stream/"
EXAMPLES_PER_OPERATION = 6

schema = schemathesis.pytest.from_fixture("api_schema")


@pytest.fixture
def api_schema(transactional_db):
    # Each fuzzed call commits like a real request: on PostgreSQL a database
    # error in one call would otherwise abort the test's transaction for
    # every call after it.
    from spotopt.wsgi import application

    # The generated examples are enough for a CI run; the coverage phase's
    # exhaustive boundary cases would take it past its time budget.
    config = SchemathesisConfig.from_dict({
        "phases": {"coverage": {"enabled": False}, "stateful": {"enabled": False}}
    })
    loaded = schemathesis.openapi.from_wsgi("/api/schema/", application, config=config)
    return loaded.exclude(path_regex=EXCLUDED_PATH_REGEX)


def _real_ids(owner, agent) -> dict:
    instance = Instance.objects.filter(agent=agent).first()
    return {
        "agent_id": agent.pk,
        "client_id": owner.client.pk,
        "instance_id": instance.pk if instance else 1,
    }


@schema.parametrize()
@settings(
    max_examples=EXAMPLES_PER_OPERATION,
    deadline=None,
    derandomize=True,
    suppress_health_check=list(HealthCheck),
)
def test_no_operation_answers_5xx_or_breaks_its_schema(case, owner, priced):
    ids = _real_ids(owner, priced)
    for name in list(case.path_parameters or {}):
        if name in ids and hash(str(case.path_parameters[name])) % 2:
            case.path_parameters[name] = ids[name]
        elif name == "id" and "client" in case.path:
            case.path_parameters[name] = owner.client.pk

    case.call_and_validate(
        headers={"Authorization": f"Bearer {owner.token}"},
        checks=[not_a_server_error, response_schema_conformance],
    )
