from django.core.management.base import BaseCommand, CommandError

from agents.models import Client, ClientMembership
from agents.services.clients import membership_invite


class Command(BaseCommand):
    help = "Give a person a dashboard account of a client and mail them a link."

    def add_arguments(self, parser):
        parser.add_argument("--client", type=int, required=True)
        parser.add_argument("--email", required=True)
        parser.add_argument(
            "--role", choices=ClientMembership.Role.values, default="member"
        )

    def handle(self, *args, client, email, role, **options):
        found = Client.objects.filter(pk=client).first()
        if found is None:
            raise CommandError(f"No client {client}.")
        if ClientMembership.objects.filter(user__username=email.lower()).exists():
            raise CommandError(f"{email} already belongs to a client.")

        membership_invite(client=found, email=email, role=role)
        return f"Invited {email} to {found.name}."
