"""Fixtures for the agent's tests: EC2 through moto in server mode, a fake
metadata service, and a proxy in front of the live server."""

import threading
import time

import boto3
import pytest
from django.db import OperationalError

from spotagent.cloud import Ec2Cloud
from tests.spotagent.fakes import FakeImds, SwitchableProxy

# One of the images moto ships; any of them will do for a launch.
MOTO_AMI_ID = "ami-12c6146b"


@pytest.fixture(scope="session")
def moto_url():
    """moto in server mode, the way the agent reaches EC2: over HTTP."""
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture
def aws_env(monkeypatch):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")


@pytest.fixture
def ec2(aws_env, moto_url):
    return boto3.client("ec2", region_name="us-east-1", endpoint_url=moto_url)


@pytest.fixture
def cloud(ec2, moto_url) -> Ec2Cloud:
    return Ec2Cloud(
        region="us-east-1", endpoint_url=moto_url, default_ami_id=MOTO_AMI_ID
    )


@pytest.fixture
def first_instance(cloud) -> str:
    """The instance the agent starts on: spot, m5.large, us-east-1a."""
    return cloud.instance_launch(
        instance_type="m5.large", az="us-east-1a", market="spot"
    )


@pytest.fixture
def imds(first_instance):
    with FakeImds(instance_id=first_instance) as fake:
        yield fake


@pytest.fixture
def proxy(live_server):
    front = SwitchableProxy(live_server.url)
    front.start()
    yield front
    front.stop()


def wait_for(predicate, *, timeout: float = 20.0, interval: float = 0.1):
    """Poll until `predicate()` is truthy; fail the test after `timeout`."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            value = predicate()
        except OperationalError:
            # SQLite's shared in-memory test database locks whole tables
            # while the live server writes; read again in a moment.
            value = None
        if value:
            return value
        time.sleep(interval)
    pytest.fail(f"condition not met within {timeout} s: {predicate.__doc__ or ''}")


class AgentRunner:
    """An agent running in a thread for the length of one test."""

    def __init__(self, agent):
        self.agent = agent
        self.thread = threading.Thread(target=agent.run, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self.agent

    def __exit__(self, *exc):
        self.agent.stop()
        self.thread.join(timeout=10)
