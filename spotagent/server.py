"""The SpotOpt server as the agent sees it: JSON over HTTP with a token.

Only the standard library is used, so each call is a fresh connection and
the client is safe to share between the agent's two threads.
"""

import json
import logging
import urllib.error
import urllib.request
import uuid

logger = logging.getLogger(__name__)

# Answers worth retrying: the server is busy, restarting or still working on
# the first copy of the request (409).
RETRYABLE_STATUSES = {408, 409, 425, 429, 500, 502, 503, 504}


class ServerError(Exception):
    """The server answered, but not with success."""

    def __init__(self, status: int, body, retry_after: float | None = None):
        super().__init__(f"HTTP {status}: {str(body)[:200]}")
        self.status = status
        self.body = body
        self.retry_after = retry_after

    @property
    def is_retryable(self) -> bool:
        return self.status in RETRYABLE_STATUSES


class ServerUnreachable(Exception):
    """No answer at all: connection refused, reset or timed out."""


def request_id_new() -> str:
    return uuid.uuid4().hex


class ServerApi:
    """One method per call the agent makes; errors are raised, not hidden."""

    def __init__(self, *, base_url: str, token: str, timeout: float = 10.0):
        self.base_url = base_url.rstrip("/")
        self._token = token
        self.timeout = timeout

    def call(self, method: str, path: str, body: dict | None = None,
             request_id: str = ""):
        """Send one request; return the decoded JSON body of a 2xx answer."""
        data = None if body is None else json.dumps(body, default=str).encode()
        request = urllib.request.Request(
            f"{self.base_url}/api/agents/{path.lstrip('/')}",
            data=data, method=method,
        )
        request.add_header("Authorization", f"Bearer {self._token}")
        request.add_header("Accept", "application/json")
        if data is not None:
            request.add_header("Content-Type", "application/json")
        if request_id:
            request.add_header("X-Request-ID", request_id)
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as answer:
                return _decoded(answer.read())
        except urllib.error.HTTPError as error:
            raise _server_error(error)
        except (urllib.error.URLError, OSError) as error:
            raise ServerUnreachable(str(error))

    def get(self, path: str):
        return self.call("GET", path)

    def post(self, path: str, body: dict, request_id: str = ""):
        return self.call("POST", path, body, request_id=request_id or request_id_new())


def _decoded(raw: bytes):
    if not raw:
        # Deployed agents treat an empty body as a failure; so does this one.
        raise ServerError(502, "empty response body")
    try:
        return json.loads(raw)
    except ValueError:
        raise ServerError(502, "response is not JSON")


def _server_error(error: urllib.error.HTTPError) -> ServerError:
    try:
        body = json.loads(error.read() or b"{}")
    except (ValueError, OSError):
        body = {}
    retry_after = None
    header = error.headers.get("Retry-After") if error.headers else None
    if header and header.strip().isdigit():
        retry_after = float(header)
    return ServerError(error.code, body, retry_after)
