from django.core.management.base import BaseCommand, CommandError

from agents.models import Client
from agents.services.clients import client_token_rotate


class Command(BaseCommand):
    help = "Replace a client's API token and print the new one once."

    def add_arguments(self, parser):
        parser.add_argument("client", help="client id or exact name")

    def handle(self, *args, client, **options):
        lookup = {"pk": int(client)} if client.isdigit() else {"name": client}
        found = Client.objects.filter(**lookup).first()
        if found is None:
            raise CommandError(f"No client {client!r}.")

        token = client_token_rotate(client=found)
        self.stdout.write(f"New token for client {found.pk} ({found.name}): {token}")
        self.stdout.write("The old token no longer works.")
