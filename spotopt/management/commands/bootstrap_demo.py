import secrets

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand

from agents.models import Client
from agents.services import client_create

DEMO_CLIENT_NAME = "Demo"
OPERATOR_USERNAME = "operator"


class Command(BaseCommand):
    help = "On first start, create the demo client and an operator login."

    def handle(self, *args, **options):
        if Client.objects.filter(name=DEMO_CLIENT_NAME).exists():
            self.stdout.write("Demo client exists; its token was shown at first start.")
            return

        client, token = client_create(name=DEMO_CLIENT_NAME, email="demo@example.com")
        password = secrets.token_urlsafe(12)
        user_model = get_user_model()
        operator, created = user_model.objects.get_or_create(
            username=OPERATOR_USERNAME,
            defaults={"is_staff": True, "is_superuser": True},
        )
        operator.set_password(password)
        operator.save()
        token_path = self._write_demo_token(token)
        self.stdout.write(self.style.SUCCESS("First start: demo accounts created."))
        self.stdout.write(f"  Demo client {client.pk} token: {token}")
        self.stdout.write(f"  Operator login: {OPERATOR_USERNAME} / {password}")
        self.stdout.write(f"  (token also kept for the demo fleet in {token_path})")

    def _write_demo_token(self, token: str) -> str:
        from django.conf import settings

        path = settings.BASE_DIR / ".demo-token"
        path.write_text(token)
        path.chmod(0o600)
        return str(path.name)
