from datetime import UTC, datetime

from django.core.management.base import BaseCommand, CommandError

from pricing.consolidation import consolidation_run


class Command(BaseCommand):
    help = "Consolidate new raw prices into the consolidated and canonical tiers."

    def add_arguments(self, parser):
        parser.add_argument(
            "--since",
            help="Re-consolidate every report observed after this ISO time.",
        )

    def handle(self, *args, **options):
        since = _moment(options["since"]) if options["since"] else None
        job = consolidation_run(since=since)
        self.stdout.write(
            f"Consolidation job {job.pk}: {job.raw_rows} raw rows, "
            f"{job.observed_rows} observed, {job.interpolated_rows} interpolated, "
            f"{job.canonical_rows} canonical in {job.duration_ms} ms"
        )


def _moment(value: str) -> datetime:
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise CommandError(f"--since {value!r} is not an ISO 8601 time")
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
