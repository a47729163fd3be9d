from spotagent.metadata import ImdsClient
from tests.spotagent.fakes import FakeImds


def test_identity_is_read_with_an_imdsv2_session_token():
    with FakeImds(instance_id="i-0abc", az="us-east-1c") as fake:
        client = ImdsClient(base_url=fake.url)

        identity = client.identity()

    assert identity.instance_id == "i-0abc"
    assert identity.region == "us-east-1"
    assert identity.az == "us-east-1c"
    assert fake.token_requests == 1


def test_both_signals_are_seen_only_once_they_appear():
    with FakeImds(instance_id="i-0abc") as fake:
        client = ImdsClient(base_url=fake.url)
        assert client.notices("i-0abc") == []

        fake.rebalance = {"noticeTime": "2026-01-01T00:00:00Z"}
        fake.instance_action = {"action": "terminate", "time": "2026-01-01T00:02:00Z"}
        notices = {notice.kind: notice for notice in client.notices("i-0abc")}

    assert notices["termination"].time == "2026-01-01T00:02:00Z"
    assert notices["termination"].action == "terminate"
    assert notices["rebalance"].time == "2026-01-01T00:00:00Z"


def test_a_refused_token_is_replaced_and_the_read_retried():
    with FakeImds(instance_id="i-0abc") as fake:
        client = ImdsClient(base_url=fake.url)
        client.identity()
        fake.tokens.clear()
        fake.rebalance = {"noticeTime": "2026-01-01T00:00:00Z"}

        notices = client.notices("i-0abc")

    assert [notice.kind for notice in notices] == ["rebalance"]
    assert fake.token_requests == 2


def test_signals_about_another_instance_are_not_this_instance_s_business():
    with FakeImds(instance_id="i-0abc") as fake:
        fake.instance_action = {"action": "terminate", "time": "2026-01-01T00:02:00Z"}
        client = ImdsClient(base_url=fake.url)

        assert client.notices("i-0other") == []
