"""`python -m spotagent --server URL --token TOKEN`: run the agent."""

import argparse
import logging
import signal
import sys

from spotagent.agent import Agent
from spotagent.cloud import Ec2Cloud
from spotagent.config import ConfigError, config_load
from spotagent.metadata import ImdsClient, MetadataUnavailable
from spotagent.server import ServerApi


def _arguments(argv):
    parser = argparse.ArgumentParser(
        prog="spotagent", description="The SpotOpt reference agent."
    )
    parser.add_argument("--server", help="SpotOpt server URL (SPOTAGENT_SERVER)")
    parser.add_argument("--token", help="client token (SPOTAGENT_TOKEN)")
    parser.add_argument("--config", default="", help="a KEY=VALUE settings file")
    parser.add_argument("--logical-agent-id", help="stable workload identity")
    parser.add_argument("--log-level", default="INFO")
    return parser.parse_args(argv)


def main(argv=None) -> int:
    args = _arguments(argv)
    logging.basicConfig(
        level=args.log_level.upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    try:
        config = config_load(path=args.config, overrides={
            "server": args.server, "token": args.token,
            "logical_agent_id": args.logical_agent_id,
        })
    except (ConfigError, OSError) as error:
        print(f"spotagent: {error}", file=sys.stderr)
        return 2

    metadata = ImdsClient(base_url=config.metadata_url)
    try:
        identity = metadata.identity()
    except MetadataUnavailable as error:
        print(f"spotagent: instance metadata unavailable: {error}", file=sys.stderr)
        return 3

    agent = Agent(
        config=config,
        server=ServerApi(
            base_url=config.server, token=config.token,
            timeout=config.http_timeout_seconds,
        ),
        cloud=Ec2Cloud(
            region=config.region or identity.region,
            endpoint_url=config.ec2_endpoint,
            subnet_id=config.subnet_id,
            default_ami_id=config.ami_id or identity.ami_id,
        ),
        metadata=metadata,
        identity=identity,
    )
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: agent.stop())
    agent.run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
