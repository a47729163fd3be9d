import json

from django.core.management.base import BaseCommand, CommandError

from decisions.backtest.report import report_plot, report_table
from decisions.backtest.runner import backtest_run
from decisions.backtest.simulate import POLICIES


class Command(BaseCommand):
    help = "Replay workloads over price history and compare decision policies."

    def add_arguments(self, parser):
        parser.add_argument("--prices", required=True)
        parser.add_argument("--ondemand", required=True)
        parser.add_argument("--bands", required=True)
        parser.add_argument("--traces")
        parser.add_argument("--specs", help="instance_type_specs.csv")
        parser.add_argument("--train-until", required=True, help="YYYY-MM-DD")
        parser.add_argument("--policies", default="all",
                            help="all, or a comma list of " + ", ".join(POLICIES))
        parser.add_argument("--agents", type=int, default=200)
        parser.add_argument("--seed", type=int, default=0)
        parser.add_argument("--region", default="us-east-1")
        parser.add_argument("--plot", help="write a PNG chart here")
        parser.add_argument("--json", dest="json_path", help="write JSON here")

    def handle(self, *args, **options):
        policies = self._policies(options["policies"])
        if options["agents"] < 1:
            raise CommandError("--agents must be at least 1")
        try:
            result = backtest_run(
                prices_path=options["prices"], ondemand_path=options["ondemand"],
                bands_path=options["bands"], traces_path=options["traces"],
                specs_path=options["specs"], train_until=options["train_until"],
                policies=policies, agents=options["agents"],
                seed=options["seed"], region=options["region"],
            )
        except (OSError, ValueError) as error:
            raise CommandError(str(error))
        self.stdout.write(report_table(result))
        if options["plot"]:
            report_plot(result, options["plot"])
        if options["json_path"]:
            with open(options["json_path"], "w") as handle:
                json.dump(result, handle)
        return f"backtest of {len(policies)} policies done"

    def _policies(self, value: str) -> tuple:
        if value == "all":
            return POLICIES
        chosen = tuple(name.strip() for name in value.split(",") if name.strip())
        unknown = [name for name in chosen if name not in POLICIES]
        if unknown or not chosen:
            raise CommandError(f"unknown policies: {', '.join(unknown) or value}")
        return chosen
