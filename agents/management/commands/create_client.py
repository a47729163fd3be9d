from django.core.management.base import BaseCommand, CommandError

from agents.models import Client
from agents.services.clients import client_create


class Command(BaseCommand):
    help = "Create a client and print its API token (shown only this once)."

    def add_arguments(self, parser):
        parser.add_argument("--name", required=True)
        parser.add_argument("--email", default="")

    def handle(self, *args, name, email, **options):
        name = name.strip()
        if not name:
            raise CommandError("--name must not be empty.")
        if Client.objects.filter(name=name).exists():
            raise CommandError(f"A client named {name!r} exists already.")

        client, token = client_create(name=name, email=email)
        self.stdout.write(f"Client {client.pk} ({client.name}) created.")
        self.stdout.write(f"Token (shown once, store it now): {token}")
        return None
