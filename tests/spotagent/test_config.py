import pytest

from spotagent.config import ConfigError, config_load


def test_settings_come_from_a_file_then_the_environment_then_overrides(tmp_path):
    path = tmp_path / "agent.env"
    path.write_text(
        "# the unit's EnvironmentFile\n"
        "SPOTAGENT_SERVER=https://file.example\n"
        "SPOTAGENT_TOKEN='from-file'\n"
        "SPOTAGENT_HEARTBEAT_SECONDS=15\n"
        "SPOTAGENT_CANDIDATE_TYPES=m5.large, c5.large\n"
    )
    environ = {"SPOTAGENT_TOKEN": "from-env", "HOME": "/root"}

    config = config_load(
        path=str(path), environ=environ, overrides={"server": "http://cli/"}
    )

    assert config.server == "http://cli"
    assert config.token == "from-env"
    assert config.heartbeat_seconds == 15.0
    assert config.candidate_types == ["m5.large", "c5.large"]


def test_a_missing_token_is_refused_with_its_name():
    with pytest.raises(ConfigError, match="token"):
        config_load(environ={"SPOTAGENT_SERVER": "http://server"})


def test_a_malformed_number_is_refused():
    environ = {"SPOTAGENT_SERVER": "http://s", "SPOTAGENT_TOKEN": "t",
               "SPOTAGENT_POLL_SECONDS": "often"}

    with pytest.raises(ConfigError, match="poll_seconds"):
        config_load(environ=environ)
