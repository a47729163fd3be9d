import json
import logging
import time

from django.core.management.base import BaseCommand, CommandError

from spotagent.sim.fleet import Fleet
from spotagent.sim.world import world_create


class Command(BaseCommand):
    help = "Run N simulated agents (real agent code, simulated EC2) against a server."

    def add_arguments(self, parser):
        parser.add_argument("--server", required=True, help="server URL")
        parser.add_argument("--token", required=True, help="a client token")
        parser.add_argument("--agents", type=int, default=10)
        parser.add_argument("--speed", type=float, default=1.0,
                            help="simulated seconds per real second")
        parser.add_argument("--duration", type=float, default=0,
                            help="real seconds to run; 0 runs until interrupted")
        parser.add_argument("--prices", default="",
                            help="CSV of spot price history to replay")
        parser.add_argument("--types", default="m5.large,m5.xlarge,c5.large")
        parser.add_argument("--azs", default="us-east-1a,us-east-1b,us-east-1c")
        parser.add_argument("--hazard-per-hour", type=float, default=None,
                            help="interruptions per instance-hour (default: "
                                 "from each type's Spot Advisor band)")
        parser.add_argument("--boot-median", type=float, default=90.0,
                            help="median boot time in simulated seconds")
        parser.add_argument("--prefix", default="sim")
        parser.add_argument("--seed", type=int, default=7)

    def handle(self, *args, **options):
        if options["agents"] < 1 or options["speed"] <= 0:
            raise CommandError("--agents must be at least 1 and --speed positive")

        logging.getLogger("spotagent").setLevel(logging.WARNING)
        try:
            world = world_create(
                speed=options["speed"], seed=options["seed"],
                prices_csv=options["prices"],
                types=options["types"].split(","), azs=options["azs"].split(","),
                hazard_per_hour=options["hazard_per_hour"],
                boot_median_seconds=options["boot_median"],
            )
        except (OSError, ValueError, KeyError) as error:
            raise CommandError(f"cannot build the simulated cloud: {error}")
        fleet = Fleet(
            world=world, server=options["server"], token=options["token"],
            prefix=options["prefix"],
        )
        fleet.start(options["agents"])
        self.stdout.write(
            f"{options['agents']} agents started at speed {options['speed']}"
        )
        try:
            self._run(fleet, options["duration"])
        except KeyboardInterrupt:
            pass
        finally:
            fleet.stop()
        summary = fleet.stats.summary()
        self.stdout.write(json.dumps(summary))
        return None

    def _run(self, fleet: Fleet, duration: float) -> None:
        started = time.monotonic()
        while not duration or time.monotonic() - started < duration:
            time.sleep(min(10.0, duration or 10.0))
            self.stdout.write(
                f"{fleet.registered()}/{len(fleet.members)} registered; "
                f"{dict(fleet.stats.counts)}"
            )
