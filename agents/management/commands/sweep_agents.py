from django.core.management.base import BaseCommand

from agents.services.lifecycle import agents_mark_offline
from instances.services.rebalances import replicas_retire_expired
from instances.services.replicas import replicas_reconcile_all
from instances.services.sweeps import commands_expire


class Command(BaseCommand):
    help = "Mark silent agents offline, expire commands, retire old replicas."

    def handle(self, *args, **options):
        offline = agents_mark_offline()
        expired = commands_expire()
        retired = replicas_retire_expired()
        reconciled = replicas_reconcile_all()
        self.stdout.write(
            f"{offline} agents marked offline, {expired} commands expired, "
            f"{retired} replicas retired, {reconciled} manual replica changes."
        )
