"""Client accounts: creation, tokens, suspension, deletion and the people
who may see a client's dashboard."""

import logging

from django.db import transaction
from django.utils import timezone

from agents.authentication import client_cache_clear
from agents.models import Client, ClientMembership
from agents.tokens import token_generate
from notifications.models import Notification
from notifications.services import notification_create

logger = logging.getLogger(__name__)


def client_create(*, name: str, email: str = "") -> tuple[Client, str]:
    """Create a client; return it with its token, which is never shown again."""
    token, prefix, digest = token_generate()
    client = Client.objects.create(
        name=name, email=email, token_prefix=prefix, token_hash=digest
    )
    logger.info("Created client %s (%s)", client.pk, name)
    return client, token


def client_token_rotate(*, client: Client) -> str:
    """Replace the client's token; the old one stops working at once."""
    token, prefix, digest = token_generate()
    client.token_prefix, client.token_hash = prefix, digest
    client.token_rotated_at = timezone.now()
    client.save(update_fields=["token_prefix", "token_hash", "token_rotated_at"])
    client_cache_clear()
    notification_create(
        client_id=client.pk,
        kind=Notification.Kind.TOKEN_ROTATED,
        title="API token regenerated",
        body="Agents must be given the new token.",
        severity=Notification.Severity.WARNING,
    )
    logger.info("Rotated the token of client %s", client.pk)
    return token


def client_status_set(*, client: Client, status: str) -> None:
    client.status = status
    client.save(update_fields=["status"])
    client_cache_clear()
    logger.info("Client %s is now %s", client.pk, status)


def client_delete(*, client: Client) -> None:
    """Delete the client with its agents, instances and history.

    Its token stops working at once in this process, within seconds in the
    others (the authentication cache).
    """
    client_id = client.pk
    client.delete()
    client_cache_clear()
    logger.info("Deleted client %s", client_id)


def membership_invite(
    *, client: Client, email: str, role: str = "member", request=None
) -> ClientMembership:
    """Give a person a dashboard account of the client and mail a reset link.

    The account starts with a random password nobody knows: the person sets
    one through the password-reset mail, so no password ever travels.
    """
    import secrets

    from django.contrib.auth import get_user_model
    from django.contrib.auth.forms import PasswordResetForm

    user_model = get_user_model()
    with transaction.atomic():
        user, created = user_model.objects.get_or_create(
            username=email.lower(), defaults={"email": email}
        )
        if created:
            user.set_password(secrets.token_urlsafe(32))
            user.save(update_fields=["password"])
        membership = ClientMembership.objects.create(
            user=user, client=client, role=role
        )
    form = PasswordResetForm({"email": email})
    if form.is_valid():
        form.save(
            request=request,
            use_https=bool(request and request.is_secure()),
            domain_override=None if request else "localhost",
            subject_template_name="registration/invitation_subject.txt",
            email_template_name="registration/invitation_email.txt",
        )
    logger.info("Invited user %s to client %s", user.pk, client.pk)
    return membership
