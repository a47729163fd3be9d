import secrets

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand
from django.db import transaction

from agents.models import Client, ClientMembership
from agents.services.clients import client_create

DEMO_CLIENT_NAME = "Demo"
OPERATOR_USERNAME = "operator"
# The operator belongs to no client, so the dashboard needs a member login.
DASHBOARD_USERNAME = "demo"


class Command(BaseCommand):
    help = "On first start, create the demo client and its two logins."

    def handle(self, *args, **options):
        if Client.objects.filter(name=DEMO_CLIENT_NAME).exists():
            self.stdout.write(
                "Demo client exists; its token and logins were shown at first start."
            )
            return

        with transaction.atomic():
            client, token = client_create(
                name=DEMO_CLIENT_NAME, email="demo@example.com"
            )
            dashboard_password = _login_set(DASHBOARD_USERNAME)
            ClientMembership.objects.create(
                user=get_user_model().objects.get(username=DASHBOARD_USERNAME),
                client=client,
                role=ClientMembership.Role.ADMIN,
            )
            operator_password = _login_set(OPERATOR_USERNAME, staff=True)
        token_path = self._write_demo_token(token)

        self.stdout.write(self.style.SUCCESS("First start: demo accounts created."))
        self.stdout.write(f"  Demo client {client.pk} token: {token}")
        self.stdout.write(
            f"  Dashboard login (demo client, /): "
            f"{DASHBOARD_USERNAME} / {dashboard_password}"
        )
        self.stdout.write(
            f"  Operator login (admin, /admin/): "
            f"{OPERATOR_USERNAME} / {operator_password}"
        )
        self.stdout.write(f"  (token also kept for the demo fleet in {token_path})")

    def _write_demo_token(self, token: str) -> str:
        path = settings.BASE_DIR / ".demo-token"
        path.write_text(token)
        path.chmod(0o600)
        return str(path.name)


def _login_set(username: str, *, staff: bool = False) -> str:
    """Give the user a fresh random password and return it, once."""
    password = secrets.token_urlsafe(12)
    user, _ = get_user_model().objects.get_or_create(
        username=username,
        defaults={"is_staff": staff, "is_superuser": staff},
    )
    user.set_password(password)
    user.save()
    return password
