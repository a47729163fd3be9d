"""Agent settings from the environment or a file of KEY=VALUE lines.

The file format is the one systemd's EnvironmentFile reads, so one file
serves both the unit and a manual start; the environment wins over the file
and the command line wins over both.
"""

import os
from dataclasses import dataclass, field, fields
from pathlib import Path

ENV_PREFIX = "SPOTAGENT_"


class ConfigError(ValueError):
    """A setting is missing or malformed."""


@dataclass
class AgentConfig:
    """Everything the agent needs to know before it talks to anyone."""

    server: str = ""
    token: str = ""
    logical_agent_id: str = ""
    region: str = ""
    mode: str = "spot"
    ami_id: str = ""
    subnet_id: str = ""
    # Pools whose prices the agent reports: instance types in its region.
    candidate_types: list[str] = field(default_factory=list)
    ondemand_price: str = ""
    ec2_endpoint: str = ""
    metadata_url: str = "http://169.254.169.254"
    heartbeat_seconds: float = 30.0
    poll_seconds: float = 10.0
    notice_poll_seconds: float = 5.0
    price_report_seconds: float = 300.0
    launch_timeout_seconds: float = 600.0
    backoff_initial_seconds: float = 1.0
    backoff_max_seconds: float = 60.0
    http_timeout_seconds: float = 10.0
    state_file: str = ""

    def check(self) -> "AgentConfig":
        missing = [name for name in ("server", "token") if not getattr(self, name)]
        if missing:
            raise ConfigError(f"missing setting(s): {', '.join(missing)}")
        if not self.server.startswith(("http://", "https://")):
            raise ConfigError("server must be an http:// or https:// URL")
        self.server = self.server.rstrip("/")
        return self


def _convert(name: str, raw: str):
    kind = {item.name: item.type for item in fields(AgentConfig)}[name]
    if kind in (float, "float"):
        try:
            return float(raw)
        except ValueError:
            raise ConfigError(f"{name} must be a number, not {raw!r}")
    if kind in (list[str], "list[str]"):
        return [part.strip() for part in raw.split(",") if part.strip()]
    return raw


def _file_values(path: str) -> dict[str, str]:
    values = {}
    for number, line in enumerate(Path(path).read_text().splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        key, sep, value = line.partition("=")
        if not sep:
            raise ConfigError(f"{path}:{number}: expected KEY=VALUE")
        values[key.strip()] = value.strip().strip('"').strip("'")
    return values


def config_load(
    *, path: str = "", environ: dict | None = None, overrides: dict | None = None
) -> AgentConfig:
    """Build the config: file, then SPOTAGENT_* variables, then overrides."""
    environ = os.environ if environ is None else environ
    raw: dict[str, str] = {}
    path = path or environ.get(f"{ENV_PREFIX}CONFIG", "")
    if path:
        raw.update(_file_values(path))
    raw.update({k: v for k, v in environ.items() if k.startswith(ENV_PREFIX)})
    names = {item.name for item in fields(AgentConfig)}
    values = {}
    for key, value in raw.items():
        name = key.removeprefix(ENV_PREFIX).lower()
        if name in names:
            values[name] = _convert(name, value)
    values.update({k: v for k, v in (overrides or {}).items() if v not in (None, "")})
    return AgentConfig(**values).check()
