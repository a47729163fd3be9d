"""Dashboard accounts: invitations, password resets, and their admin."""

import re

from django.core import mail
from django.core.management import call_command

from agents.models import ClientMembership


def test_an_invitation_makes_a_member_who_sets_a_password_by_mail(owner, client):
    result = call_command(
        "invite_member", "--client", str(owner.client.pk), "--email",
        "Bea@Example.com",
    )

    membership = ClientMembership.objects.get()
    assert result == "Invited Bea@Example.com to owner."
    assert (membership.client, membership.user.username) == (
        owner.client, "bea@example.com"
    )
    assert len(mail.outbox) == 1
    link = re.search(r"https?://[^/]+(/accounts/reset/\S+)", mail.outbox[0].body)
    assert link, mail.outbox[0].body

    form = client.get(link.group(1), follow=True)
    done = client.post(
        form.redirect_chain[-1][0],
        {"new_password1": "a-long-pass-42", "new_password2": "a-long-pass-42"},
    )
    assert done.status_code == 302
    assert client.login(username="bea@example.com", password="a-long-pass-42")


def test_a_member_can_reset_a_forgotten_password(owner_web, client):
    response = client.post(
        "/accounts/password_reset/", {"email": owner_web.user.email}
    )

    assert response.status_code == 302
    assert mail.outbox[0].to == [owner_web.user.email]


def test_memberships_are_listed_in_the_admin(staff_client, owner_web):
    response = staff_client.get("/admin/agents/clientmembership/")

    assert response.status_code == 200
    assert owner_web.user.username.encode() in response.content
