"""The agent end to end: the real server (live), EC2 in moto, fake IMDSv2."""

from datetime import UTC, datetime, timedelta

import pytest
from django.utils import timezone

from agents.models import Agent as AgentRow
from instances.models import Command, EmergencyEvent, Instance, Switch
from pricing.models import RawPriceReport
from spotagent.agent import Agent
from spotagent.config import AgentConfig
from spotagent.metadata import ImdsClient
from spotagent.server import ServerApi
from tests.spotagent.conftest import AgentRunner, wait_for

pytestmark = pytest.mark.django_db(transaction=True)


def _agent(*, proxy, owner, cloud, imds) -> Agent:
    config = AgentConfig(
        server=proxy.url, token=owner.token, logical_agent_id="web-1",
        candidate_types=["m5.large"], ondemand_price="0.096",
        heartbeat_seconds=0.5, poll_seconds=0.2, notice_poll_seconds=0.1,
        price_report_seconds=60, launch_timeout_seconds=20,
        backoff_initial_seconds=0.1, backoff_max_seconds=0.5,
    ).check()
    metadata = ImdsClient(base_url=imds.url)
    return Agent(
        config=config,
        server=ServerApi(base_url=config.server, token=config.token, timeout=5),
        cloud=cloud, metadata=metadata, identity=metadata.identity(),
    )


def _row() -> AgentRow:
    return AgentRow.objects.filter(logical_agent_id="web-1").first()


def _moto_state(ec2, instance_id: str) -> str:
    reservations = ec2.describe_instances(InstanceIds=[instance_id])["Reservations"]
    return reservations[0]["Instances"][0]["State"]["Name"]


def _aws_time(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def test_the_agent_registers_heartbeats_and_reports_prices(
    proxy, owner, cloud, imds, first_instance
):
    with AgentRunner(_agent(proxy=proxy, owner=owner, cloud=cloud, imds=imds)):
        row = wait_for(_row)
        wait_for(lambda: RawPriceReport.objects.filter(agent_id=row.pk).exists())

    primary = Instance.objects.get(agent=row, state=Instance.State.RUNNING_PRIMARY)
    assert primary.instance_id == first_instance
    assert primary.pool.pool_id == "m5.large.us-east-1a"
    assert RawPriceReport.objects.filter(
        agent_id=row.pk, price_type="ondemand"
    ).exists()


def test_a_switch_launches_promotes_and_terminates_the_old_instance(
    proxy, owner, cloud, imds, ec2, first_instance
):
    agent = _agent(proxy=proxy, owner=owner, cloud=cloud, imds=imds)
    with AgentRunner(agent):
        row = wait_for(_row)
        AgentRow.objects.filter(pk=row.pk).update(
            auto_switch_enabled=True, terminate_wait_seconds=1
        )
        response = owner.post(
            f"/api/agents/{row.pk}/issue-switch-command",
            {"target_mode": "spot", "target_pool_id": "m5.large.us-east-1b"},
        )
        assert response.status_code == 201, response.content
        switch = wait_for(lambda: Switch.objects.filter(
            pk=response.json()["switch_id"], status=Switch.Status.COMPLETED
        ).first())
        wait_for(lambda: _moto_state(ec2, first_instance) == "terminated")

    new = switch.new_instance
    assert agent.instance_id == new.instance_id
    assert Instance.objects.get(pk=new.pk).state == Instance.State.RUNNING_PRIMARY
    assert _moto_state(ec2, new.instance_id) == "running"
    old = Instance.objects.get(instance_id=first_instance)
    wait_for(lambda: Instance.objects.get(pk=old.pk).state == "terminated")


def test_a_rebalance_stages_a_replica_and_the_notice_fails_over_to_it(
    proxy, owner, cloud, imds, ec2, first_instance
):
    agent = _agent(proxy=proxy, owner=owner, cloud=cloud, imds=imds)
    with AgentRunner(agent):
        row = wait_for(_row)
        wait_for(lambda: RawPriceReport.objects.filter(agent_id=row.pk).exists())
        imds.rebalance = {"noticeTime": _aws_time(datetime.now(UTC))}
        replica = wait_for(lambda: Instance.objects.filter(
            agent=row, state=Instance.State.RUNNING_REPLICA
        ).first())
        imds.instance_action = {
            "action": "terminate",
            "time": _aws_time(datetime.now(UTC) + timedelta(seconds=120)),
        }
        wait_for(lambda: EmergencyEvent.objects.filter(
            agent=row, kind="termination", status="resolved"
        ).exists())
        wait_for(lambda: agent.instance_id == replica.instance_id)

    events = EmergencyEvent.objects.filter(agent=row)
    rebalance = events.get(kind="rebalance")
    termination = events.get(kind="termination")
    assert rebalance.became_interruption is True
    assert (rebalance.notice_count, termination.notice_count) == (1, 1)
    assert termination.action == "promote_replica"
    promoted = Instance.objects.get(pk=replica.pk)
    assert promoted.state == Instance.State.RUNNING_PRIMARY
    assert _moto_state(ec2, replica.instance_id) == "running"


def test_the_agent_recovers_after_the_server_stops_answering(
    proxy, owner, cloud, imds, ec2
):
    agent = _agent(proxy=proxy, owner=owner, cloud=cloud, imds=imds)
    with AgentRunner(agent):
        row = wait_for(_row)
        proxy.stop()
        AgentRow.objects.filter(pk=row.pk).update(auto_switch_enabled=True)
        response = owner.post(
            f"/api/agents/{row.pk}/issue-switch-command",
            {"target_mode": "spot", "target_pool_id": "m5.large.us-east-1c"},
        )
        assert response.status_code == 201, response.content
        down_at = timezone.now()
        wait_for(lambda: agent._down_since is not None, timeout=5)
        proxy.start()
        wait_for(lambda: AgentRow.objects.get(pk=row.pk).last_heartbeat_at > down_at)
        switch = wait_for(lambda: Switch.objects.filter(
            pk=response.json()["switch_id"], status=Switch.Status.COMPLETED
        ).first())

    launches = Command.objects.filter(
        agent=row, command_type=Command.Type.LAUNCH_INSTANCE
    )
    assert launches.count() == 1
    reservations = ec2.describe_instances(Filters=[
        {"Name": "tag:spotopt:request-id", "Values": [launches.get().request_id]}
    ])["Reservations"]
    assert len(reservations) == 1
    assert agent.instance_id == switch.new_instance.instance_id
