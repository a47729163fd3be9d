"""Instance metadata (IMDSv2): who this instance is, and AWS's two signals.

IMDSv2 needs a session token from a PUT before any GET; the token lives for
hours, so it is kept and fetched again only when refused (401) or expired.
"""

import json
import logging
import time
import urllib.error
import urllib.request
from dataclasses import dataclass

logger = logging.getLogger(__name__)

TOKEN_TTL_SECONDS = 21600
INSTANCE_ACTION_PATH = "meta-data/spot/instance-action"
REBALANCE_PATH = "meta-data/events/recommendations/rebalance"


class MetadataUnavailable(Exception):
    """The metadata service did not answer."""


@dataclass(frozen=True)
class Identity:
    instance_id: str
    instance_type: str
    region: str
    az: str
    ami_id: str = ""
    private_ip: str = ""
    hostname: str = ""


@dataclass(frozen=True)
class Notice:
    """A signal as AWS gave it: `kind` is `termination` or `rebalance`."""

    kind: str
    instance_id: str
    time: str
    action: str = ""


class ImdsClient:
    """Reads this instance's metadata; answers only about this instance."""

    def __init__(self, *, base_url: str = "http://169.254.169.254",
                 timeout: float = 2.0):
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self._token = ""
        self._token_until = 0.0
        self._identity: Identity | None = None

    def identity(self) -> Identity:
        if self._identity is None:
            document = json.loads(
                self._get("dynamic/instance-identity/document") or "{}"
            )
            self._identity = Identity(
                instance_id=document.get("instanceId", ""),
                instance_type=document.get("instanceType", ""),
                region=document.get("region", ""),
                az=document.get("availabilityZone", ""),
                ami_id=document.get("imageId", ""),
                private_ip=document.get("privateIp", ""),
                hostname=self._get("meta-data/local-hostname") or "",
            )
        return self._identity

    def notices(self, instance_id: str) -> list[Notice]:
        """The signals standing now for `instance_id`, if it is this one."""
        if instance_id != self.identity().instance_id:
            return []

        found = []
        action = self._get(INSTANCE_ACTION_PATH)
        if action:
            body = json.loads(action)
            found.append(Notice(
                kind="termination", instance_id=instance_id,
                time=body.get("time", ""), action=body.get("action", ""),
            ))
        rebalance = self._get(REBALANCE_PATH)
        if rebalance:
            body = json.loads(rebalance)
            found.append(Notice(
                kind="rebalance", instance_id=instance_id,
                time=body.get("noticeTime", ""),
            ))
        return found

    def _session_token(self) -> str:
        if self._token and time.monotonic() < self._token_until:
            return self._token

        request = urllib.request.Request(
            f"{self.base_url}/latest/api/token", method="PUT",
            headers={"X-aws-ec2-metadata-token-ttl-seconds": str(TOKEN_TTL_SECONDS)},
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as answer:
                self._token = answer.read().decode()
        except (urllib.error.URLError, OSError) as error:
            raise MetadataUnavailable(str(error))
        # Renew a minute early so a GET never carries a token about to lapse.
        self._token_until = time.monotonic() + TOKEN_TTL_SECONDS - 60
        return self._token

    def _get(self, path: str, retried: bool = False) -> str | None:
        """GET a metadata path; None when it does not exist (404)."""
        request = urllib.request.Request(
            f"{self.base_url}/latest/{path}",
            headers={"X-aws-ec2-metadata-token": self._session_token()},
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as answer:
                return answer.read().decode()
        except urllib.error.HTTPError as error:
            if error.code == 404:
                return None
            if error.code == 401 and not retried:
                self._token = ""
                return self._get(path, retried=True)
            raise MetadataUnavailable(f"HTTP {error.code} for {path}")
        except (urllib.error.URLError, OSError) as error:
            raise MetadataUnavailable(str(error))
