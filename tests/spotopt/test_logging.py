"""Log records carry the request id and never a token or a password."""

import io
import json
import logging

import pytest
from django.conf import settings

from spotopt.logging import (
    RequestIdFilter,
    SecretRedactingFilter,
    current_request_id,
    redact,
)


@pytest.mark.parametrize(
    "text, secret",
    [
        ("Authorization: Bearer s3cr3t-token.value", "s3cr3t-token.value"),
        ("HTTP_AUTHORIZATION=Token s3cr3t", "s3cr3t"),
        ("sent bearer s3cr3t to the agent", "s3cr3t"),
        ('{"password": "hunter2", "name": "x"}', "hunter2"),
        ("login with password=hunter2&next=/", "hunter2"),
        ("new_password1=hunter2 webhook_secret=abc123", "hunter2"),
        ("GET /x?token=s3cr3t&page=2", "s3cr3t"),
        ("api_key: 'AKIAEXAMPLE'", "AKIAEXAMPLE"),
    ],
)
def test_credentials_are_redacted_from_text(text, secret):
    assert secret not in redact(text)
    assert "[REDACTED]" in redact(text)


def test_ordinary_text_is_left_alone():
    text = "Agent 12 registered instance i-0abc (running_primary)"

    assert redact(text) == text


def _json_handler(stream) -> logging.Handler:
    """A handler built like the production console handler, into a buffer."""
    from pythonjsonlogger.json import JsonFormatter

    handler = logging.StreamHandler(stream)
    handler.setFormatter(
        JsonFormatter(settings.LOGGING["formatters"]["json"]["format"])
    )
    handler.addFilter(RequestIdFilter())
    handler.addFilter(SecretRedactingFilter())
    return handler


def test_a_json_record_has_the_request_id_and_no_secret_from_its_arguments():
    stream = io.StringIO()
    logger = logging.getLogger("tests.redaction")
    logger.addHandler(_json_handler(stream))
    logger.propagate = False
    token = current_request_id.set("req-42")
    try:
        logger.warning(
            "Rejected %s", "Authorization: Bearer s3cr3t",
            extra={"password": "hunter2", "headers": {"Cookie": "sessionid=abc"}},
        )
    finally:
        current_request_id.reset(token)
        logger.handlers.clear()

    record = json.loads(stream.getvalue())
    assert record["request_id"] == "req-42"
    assert "s3cr3t" not in stream.getvalue()
    assert "hunter2" not in stream.getvalue()
    assert "abc" not in stream.getvalue()
    assert record["message"] == "Rejected Authorization: [REDACTED]"


def test_the_console_handler_redacts_and_tags_every_record():
    handler = settings.LOGGING["handlers"]["console"]

    assert handler["filters"] == ["request_id", "redact_secrets"]
    assert settings.LOGGING["filters"]["redact_secrets"]["()"] == (
        "spotopt.logging.SecretRedactingFilter"
    )


def test_a_request_logs_under_the_callers_request_id(owner, caplog):
    with caplog.at_level(logging.INFO, logger="agents.services"):
        caplog.handler.addFilter(RequestIdFilter())
        owner.post(
            "/api/agents/register",
            {"instance_id": "i-1", "instance_type": "m5.large",
             "region": "us-east-1", "az": "us-east-1a"},
            **{"X-Request-ID": "trace-7"},
        )

    records = [
        r for r in caplog.records if r.name.startswith("agents.services.")
    ]
    assert records and all(r.request_id == "trace-7" for r in records)
