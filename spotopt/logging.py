"""Log record helpers: every record carries the current request id, and no
record carries a credential."""

import contextvars
import logging
import re

current_request_id = contextvars.ContextVar("current_request_id", default="-")


class RequestIdFilter(logging.Filter):
    def filter(self, record):
        record.request_id = current_request_id.get()
        return True


REDACTED = "[REDACTED]"
# "Authorization: Bearer abc", "token=abc", '"password": "abc"' and the like:
# the name, its separator, then the value up to a quote, comma or space.
_SECRET_PATTERN = re.compile(
    r"(?i)(?P<scheme>\b(?:bearer|basic)\s+)[A-Za-z0-9._~+/=-]+"
    r"|(?P<name>(?<![A-Za-z])(?:authorization|password|passwd|secret|token"
    r"|api[_-]?key|cookie|sessionid|csrftoken)\w*"
    r"[\"']?\s*[:=]\s*[\"']?)(?:(?:bearer|basic|token)\s+)?[^\"',\s&;}]+"
)
_SECRET_KEYS = re.compile(
    r"(?i)authorization|password|passwd|secret|token|api[_-]?key|cookie"
)


def redact(text: str) -> str:
    """Replace the value of anything that looks like a credential."""

    def _replace(match: re.Match) -> str:
        return f"{match.group('scheme') or match.group('name')}{REDACTED}"

    return _SECRET_PATTERN.sub(_replace, text)


def _redact_value(value):
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, dict):
        return {
            key: REDACTED if _SECRET_KEYS.search(str(key)) else _redact_value(item)
            for key, item in value.items()
        }
    if isinstance(value, list | tuple):
        return type(value)(_redact_value(item) for item in value)
    return value


class SecretRedactingFilter(logging.Filter):
    """Keep tokens and passwords out of every log line, whoever logs them.

    The message is formatted here, once, so a secret passed as an argument
    is caught as well as one in the text; extra fields are scrubbed by name.
    """

    def filter(self, record):
        try:
            message = record.getMessage()
        except Exception:
            return True
        record.msg, record.args = redact(message), None
        for key, value in list(record.__dict__.items()):
            if key in _RECORD_FIELDS:
                continue
            if _SECRET_KEYS.search(key):
                setattr(record, key, REDACTED)
            elif isinstance(value, str | dict | list | tuple):
                setattr(record, key, _redact_value(value))
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        return True


_RECORD_FIELDS = frozenset(
    logging.LogRecord("", 0, "", 0, "", None, None).__dict__
) | {"message", "asctime", "request_id"}
