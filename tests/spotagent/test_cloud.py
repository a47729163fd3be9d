def _described(ec2, instance_id: str) -> dict:
    reservations = ec2.describe_instances(InstanceIds=[instance_id])["Reservations"]
    return reservations[0]["Instances"][0]


def test_a_spot_launch_lands_in_the_requested_pool_with_its_tags(cloud, ec2):
    instance_id = cloud.instance_launch(
        instance_type="c5.large", az="us-east-1b", market="spot",
        tags={"spotopt:role": "replica"},
    )
    cloud.instance_wait_running(instance_id, timeout=10, poll_seconds=0.05)

    described = _described(ec2, instance_id)
    assert described["InstanceType"] == "c5.large"
    assert described["Placement"]["AvailabilityZone"] == "us-east-1b"
    assert described["InstanceLifecycle"] == "spot"
    assert {"Key": "spotopt:role", "Value": "replica"} in described["Tags"]


def test_promotion_tags_and_termination_reach_ec2(cloud, ec2, first_instance):
    cloud.instance_tag(first_instance, {"spotopt:role": "primary"})
    cloud.instance_terminate(first_instance)

    described = _described(ec2, first_instance)
    assert {"Key": "spotopt:role", "Value": "primary"} in described["Tags"]
    assert described["State"]["Name"] == "terminated"


def test_terminating_an_instance_already_gone_is_not_an_error(cloud):
    cloud.instance_terminate("i-00000000000000000")


def test_spot_prices_give_one_latest_price_per_pool(cloud):
    prices = cloud.spot_prices(instance_types=["m5.large"])

    pools = [(price.instance_type, price.az) for price in prices]
    assert pools and len(pools) == len(set(pools))
    assert all(instance_type == "m5.large" for instance_type, _ in pools)
