from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError
from django.core.management.base import BaseCommand, CommandError

from pricing.aws import ondemand_prices_fetch
from pricing.management.commands.fetch_spot_prices import NO_CREDENTIALS


class Command(BaseCommand):
    help = "Fetch Linux on-demand prices of a region from the AWS Pricing API."

    def add_arguments(self, parser):
        parser.add_argument("--region", required=True)
        parser.add_argument("--instance-types", nargs="+", default=None)

    def handle(self, *args, **options):
        try:
            counts = ondemand_prices_fetch(
                region=options["region"], instance_types=options["instance_types"]
            )
        except NoCredentialsError:
            raise CommandError(NO_CREDENTIALS)
        except (BotoCoreError, ClientError) as error:
            raise CommandError(f"AWS refused the request: {error}")
        self.stdout.write(
            f"Stored {counts['stored']} on-demand prices for {options['region']}"
        )
