"""The agent's rules, with the server and the cloud replaced by stubs."""

from spotagent.agent import Agent
from spotagent.config import AgentConfig
from spotagent.metadata import Identity, Notice
from spotagent.server import ServerError, ServerUnreachable
from tests.spotagent.conftest import AgentRunner, wait_for

LAUNCH = {
    "id": 7, "request_id": "req-launch-7", "command_type": "LAUNCH_INSTANCE",
    "params": {"instance_type": "m5.large", "az": "us-east-1b", "market": "spot",
               "role_hint": "replica", "temp_instance_id": "tmp-1"},
}


class StubServer:
    """Answers like the server; `down` makes every call unreachable."""

    def __init__(self, queue=None):
        self.queue = list(queue or [])
        self.posts: list[tuple[str, dict, str]] = []
        self.down = False
        self.lose_answers_for: set[str] = set()
        self.fail_next: dict[str, int] = {}

    def get(self, path):
        if self.down:
            raise ServerUnreachable("connection refused")
        return {"commands": list(self.queue)}

    def post(self, path, body, request_id=""):
        if self.down:
            raise ServerUnreachable("connection refused")
        suffix = path.split("/", 1)[-1]
        if self.fail_next.get(suffix):
            self.fail_next[suffix] -= 1
            raise ServerError(503, "busy")
        self.posts.append((path, body, request_id))
        if suffix in self.lose_answers_for:
            self.lose_answers_for.discard(suffix)
            raise ServerUnreachable("answer lost")
        if path == "register":
            return {"agent_id": 1, "client_id": 1, "config": {}}
        if suffix.endswith("/executed"):
            self.queue = [c for c in self.queue if f"/{c['id']}/" not in suffix]
        return {"status": "ok", "action": "launch_replica", "pending_commands": 0}

    def paths(self) -> list[str]:
        return [path for path, _, _ in self.posts]


class StubCloud:
    def __init__(self):
        self.launches = []

    def instance_launch(self, **request):
        self.launches.append(request)
        return f"i-new{len(self.launches)}"

    def instance_wait_running(self, instance_id, *, timeout, sleep):
        return None

    def instance_terminate(self, instance_id):
        return None

    def instance_tag(self, instance_id, tags):
        return None

    def spot_prices(self, *, instance_types):
        return []

    def ondemand_prices(self, *, instance_types):
        return {}


class StubMetadata:
    def __init__(self):
        self.standing: list[Notice] = []

    def notices(self, instance_id):
        return [n for n in self.standing if n.instance_id == instance_id]


def _agent(server, cloud=None, metadata=None, state_file="") -> Agent:
    config = AgentConfig(
        server="http://stub", token="t", logical_agent_id="web-1",
        heartbeat_seconds=0.05, poll_seconds=0.02, notice_poll_seconds=0.02,
        price_report_seconds=60, backoff_initial_seconds=0.01,
        backoff_max_seconds=0.05, state_file=state_file,
    )
    return Agent(
        config=config, server=server, cloud=cloud or StubCloud(),
        metadata=metadata or StubMetadata(),
        identity=Identity("i-first", "m5.large", "us-east-1", "us-east-1a"),
    )


def test_a_command_delivered_twice_is_executed_once_and_answered_twice():
    server, cloud = StubServer(queue=[LAUNCH]), StubCloud()
    server.lose_answers_for.add("commands/7/executed")

    with AgentRunner(_agent(server, cloud)):
        wait_for(lambda: server.paths().count("1/commands/7/executed") == 2)

    assert len(cloud.launches) == 1
    executed = [p for p in server.posts if p[0] == "1/commands/7/executed"]
    assert executed[0][2] == executed[1][2], "a resent result keeps its request id"
    assert executed[1][1]["result"] == {"instance_id": "i-new1"}


def test_a_launch_is_confirmed_with_the_command_s_request_id():
    server = StubServer(queue=[LAUNCH])

    with AgentRunner(_agent(server)):
        wait_for(lambda: "1/instance-launched" in server.paths())

    body = next(b for p, b, _ in server.posts if p == "1/instance-launched")
    assert body["request_id"] == "req-launch-7"
    assert body["temp_instance_id"] == "tmp-1"
    assert body["instance_id"] == "i-new1"


def test_heartbeats_resume_with_reconnect_after_the_server_comes_back():
    server = StubServer()
    with AgentRunner(agent := _agent(server)):
        wait_for(lambda: "1/heartbeat" in server.paths())
        server.down = True
        wait_for(lambda: agent._down_since is not None)
        sent_before = len(server.posts)
        server.down = False
        wait_for(lambda: len(server.posts) > sent_before + 1)

    heartbeats = [b for p, b, _ in server.posts[sent_before:] if p == "1/heartbeat"]
    assert heartbeats[0]["reconnect"] is True
    assert server.posts[sent_before][0] == "1/heartbeat", "the first call back"


def test_each_notice_is_reported_once_though_metadata_keeps_showing_it():
    server, metadata = StubServer(), StubMetadata()
    metadata.standing = [
        Notice("rebalance", "i-first", "2026-01-01T00:00:00Z"),
        Notice("termination", "i-first", "2026-01-01T00:02:00Z", "terminate"),
    ]

    with AgentRunner(_agent(server, metadata=metadata)):
        wait_for(lambda: "1/termination-imminent" in server.paths())
        wait_for(lambda: len(server.posts) > 12)

    assert server.paths().count("1/termination-imminent") == 1
    assert server.paths().count("1/rebalance-recommendation") == 1


def test_a_notice_report_that_fails_is_sent_again_with_the_same_request_id():
    server, metadata = StubServer(), StubMetadata()
    server.lose_answers_for.add("termination-imminent")
    metadata.standing = [
        Notice("termination", "i-first", "2026-01-01T00:02:00Z", "terminate"),
    ]

    with AgentRunner(_agent(server, metadata=metadata)):
        wait_for(lambda: server.paths().count("1/termination-imminent") == 2)

    first, second = [r for p, _, r in server.posts if p == "1/termination-imminent"]
    assert first == second


def test_after_a_promotion_the_agent_speaks_for_the_replica():
    promote = {
        "id": 8, "request_id": "req-promote-8",
        "command_type": "PROMOTE_REPLICA_TO_PRIMARY",
        "params": {"replica_instance_id": "i-replica", "old_primary_id": "i-first"},
    }
    server = StubServer(queue=[promote])

    with AgentRunner(agent := _agent(server)):
        wait_for(lambda: agent.instance_id == "i-replica")
        wait_for(lambda: any(
            b.get("instance_id") == "i-replica"
            for p, b, _ in server.posts if p == "1/heartbeat"
        ))


def test_an_interrupted_old_primary_is_reported_gone_after_its_deadline():
    promote = {
        "id": 9, "request_id": "req-promote-9",
        "command_type": "PROMOTE_REPLICA_TO_PRIMARY",
        "params": {"replica_instance_id": "i-replica", "old_primary_id": "i-first"},
    }
    server, metadata = StubServer(), StubMetadata()
    metadata.standing = [
        Notice("termination", "i-first", "2026-01-01T00:02:00Z", "terminate"),
    ]

    with AgentRunner(_agent(server, metadata=metadata)):
        wait_for(lambda: "1/termination-imminent" in server.paths())
        gone_before_promotion = "1/termination-report" in server.paths()
        server.queue = [promote]
        wait_for(lambda: "1/termination-report" in server.paths())
        wait_for(lambda: len(server.posts) > 15)

    assert not gone_before_promotion
    reports = [b for p, b, _ in server.posts if p == "1/termination-report"]
    assert reports == [{"instance_id": "i-first", "success": True,
                        "terminated_at": "2026-01-01T00:02:00+00:00"}]


def test_a_command_delivered_again_after_a_restart_is_answered_not_run(tmp_path):
    state_file = str(tmp_path / "agent-state.json")
    server, cloud = StubServer(queue=[LAUNCH]), StubCloud()
    server.lose_answers_for.add("commands/7/executed")
    with AgentRunner(_agent(server, cloud, state_file=state_file)):
        wait_for(lambda: "1/commands/7/executed" in server.paths())

    # The restarted agent gets the command again: its result was lost.
    server.queue, server.posts = [LAUNCH], []
    with AgentRunner(_agent(server, cloud, state_file=state_file)):
        wait_for(lambda: "1/commands/7/executed" in server.paths())

    assert len(cloud.launches) == 1
    executed = next(b for p, b, _ in server.posts if p == "1/commands/7/executed")
    assert executed["result"] == {"instance_id": "i-new1"}


def test_a_restarted_agent_speaks_for_the_instance_it_was_promoted_to(tmp_path):
    state_file = str(tmp_path / "agent-state.json")
    promote = {
        "id": 8, "request_id": "req-promote-8",
        "command_type": "PROMOTE_REPLICA_TO_PRIMARY",
        "params": {"replica_instance_id": "i-replica", "old_primary_id": "i-first"},
    }
    server = StubServer(queue=[promote])
    with AgentRunner(agent := _agent(server, state_file=state_file)):
        wait_for(lambda: agent.instance_id == "i-replica")

    assert _agent(StubServer(), state_file=state_file).instance_id == "i-replica"


def test_an_unreadable_state_file_is_ignored(tmp_path):
    state_file = tmp_path / "agent-state.json"
    state_file.write_text("{not json")

    agent = _agent(StubServer(), state_file=str(state_file))

    assert agent.instance_id == "i-first"
    assert not agent._done
