from django.core.management.base import BaseCommand

from pricing.ledger import ledger_rebuild
from pricing.management.commands.consolidate_prices import _moment


class Command(BaseCommand):
    help = "Rebuild the savings ledger and its roll-ups from the instances."

    def add_arguments(self, parser):
        parser.add_argument(
            "--since", help="Rebuild only the hours from this ISO time on."
        )

    def handle(self, *args, **options):
        since = _moment(options["since"]) if options["since"] else None
        counts = ledger_rebuild(since=since)
        self.stdout.write(
            f"Ledger rebuilt: {counts['hours']} instance-hours, "
            f"{counts['days']} daily and {counts['months']} monthly roll-ups"
        )
