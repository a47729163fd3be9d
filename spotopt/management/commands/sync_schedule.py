from django.core.management.base import BaseCommand
from django_celery_beat.models import IntervalSchedule, PeriodicTask

from spotopt.schedule import DEFAULT_SCHEDULE


class Command(BaseCommand):
    help = "Copy the default periodic schedule into django-celery-beat."

    def handle(self, *args, **options):
        created = 0
        for entry in DEFAULT_SCHEDULE:
            interval, _ = IntervalSchedule.objects.get_or_create(
                every=entry.every_seconds, period=IntervalSchedule.SECONDS
            )
            # An operator's pause or new interval survives a re-sync.
            _, was_created = PeriodicTask.objects.get_or_create(
                name=entry.name,
                defaults={
                    "task": entry.task,
                    "interval": interval,
                    "description": entry.note,
                },
            )
            created += was_created
        self.stdout.write(
            f"{len(DEFAULT_SCHEDULE)} schedule entries, {created} new."
        )
