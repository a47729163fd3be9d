import pytest
from django.core.management import CommandError, call_command

from agents.models import Client
from agents.tokens import token_hash

pytestmark = pytest.mark.django_db


def test_create_client_prints_a_token_that_authenticates(capsys, client):
    call_command("create_client", name="Acme", email="ops@acme.test")

    out = capsys.readouterr().out
    token = out.split("Token (shown once, store it now): ")[1].strip()
    acme = Client.objects.get(name="Acme")
    assert acme.token_hash == token_hash(token)
    assert token not in (acme.token_hash, acme.token_prefix)
    response = client.post(
        "/api/agents/register",
        {"instance_id": "i-1", "instance_type": "m5.large", "region": "us-east-1",
         "az": "us-east-1a"},
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {token}",
    )
    assert response.status_code == 200


def test_create_client_refuses_a_duplicate_name():
    call_command("create_client", name="Acme")

    with pytest.raises(CommandError, match="exists already"):
        call_command("create_client", name="Acme")


def test_rotating_a_token_stops_the_old_one_at_once(owner, capsys):
    call_command("rotate_client_token", str(owner.client.pk))

    new_token = capsys.readouterr().out.split(": ")[1].split()[0]
    assert owner.get("/api/agents/1/config").status_code == 401
    owner.api.credentials(HTTP_AUTHORIZATION=f"Bearer {new_token}")
    assert owner.post("/api/agents/register", {
        "instance_id": "i-1", "instance_type": "m5.large", "region": "us-east-1",
        "az": "us-east-1a",
    }).status_code == 200


def test_rotating_an_unknown_client_is_an_error():
    with pytest.raises(CommandError, match="No client"):
        call_command("rotate_client_token", "nobody")
