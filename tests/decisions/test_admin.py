"""The registry in the admin: models listed, activation and fall-back."""

import pytest
from django.contrib.auth import get_user_model

from decisions.models import ModelArtifact
from decisions.registry import artifact_dump
from decisions.services.registry import artifact_upload
from tests.decisions.test_engines import tiny_model


@pytest.fixture
def admin_client(client, db):
    user = get_user_model().objects.create_superuser("root", password="pw-root-1")
    client.force_login(user)
    return client


def test_admin_activates_then_falls_back_from_a_model(admin_client):
    artifact = artifact_upload(data=artifact_dump(tiny_model()))
    url = "/admin/decisions/modelartifact/"

    listed = admin_client.get(url)
    admin_client.post(url, {"action": "activate", "_selected_action": [artifact.pk]})
    artifact.refresh_from_db()
    activated = artifact.status
    admin_client.post(url, {"action": "fall_back",
                            "_selected_action": [artifact.pk]})
    artifact.refresh_from_db()

    assert listed.status_code == 200
    assert activated == ModelArtifact.Status.ACTIVE
    assert artifact.status == ModelArtifact.Status.RETIRED
