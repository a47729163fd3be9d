from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError
from django.core.management.base import BaseCommand, CommandError

from pricing.aws import spot_prices_fetch
from pricing.management.commands.consolidate_prices import _moment

NO_CREDENTIALS = (
    "No AWS credentials found. Set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, "
    "AWS_PROFILE, or run where an instance role is available."
)


class Command(BaseCommand):
    help = "Fetch spot price history from AWS into the raw price tier."

    def add_arguments(self, parser):
        parser.add_argument("--region", required=True)
        parser.add_argument("--since", required=True, help="ISO 8601 start time.")
        parser.add_argument("--instance-types", nargs="+", default=None)

    def handle(self, *args, **options):
        try:
            counts = spot_prices_fetch(
                region=options["region"], since=_moment(options["since"]),
                instance_types=options["instance_types"],
            )
        except NoCredentialsError:
            raise CommandError(NO_CREDENTIALS)
        except (BotoCoreError, ClientError) as error:
            raise CommandError(f"AWS refused the request: {error}")
        self.stdout.write(
            f"Fetched {counts['read']} spot prices for {options['region']}: "
            f"{counts['stored']} new, {counts['pools']} pools"
        )
