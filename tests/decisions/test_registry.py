"""The model registry: pickles refused unread, features checked, fallback."""

import copy
import functools
import pickle

import pytest
from django.contrib.auth import get_user_model
from django.core.files.uploadedfile import SimpleUploadedFile
from rest_framework.test import APIClient

from decisions.models import ModelArtifact, RegistryEvent
from decisions.registry import ArtifactRefused, artifact_dump
from decisions.services.registry import (
    artifact_activate,
    artifact_fallback,
    artifact_upload,
    engine_serving,
)
from notifications.models import Notification
from tests.decisions.test_engines import tiny_model

PAYLOAD_RAN = []


class Exploit:
    """Unpickling this calls PAYLOAD_RAN.append: code run on load."""

    def __reduce__(self):
        return (PAYLOAD_RAN.append, ("payload ran",))


@functools.cache
def _model():
    return tiny_model()


def skops_bytes(version="v1", **changes) -> bytes:
    model = copy.copy(_model())
    model.version = version
    for key, value in changes.items():
        setattr(model, key, value)
    return artifact_dump(model)


@pytest.fixture
def staff(db) -> APIClient:
    user = get_user_model().objects.create_user(
        "operator", password="secret-pass", is_staff=True
    )
    api = APIClient()
    api.force_login(user)
    return api


def test_a_pickle_is_refused_and_its_payload_never_runs(db):
    with pytest.raises(ArtifactRefused, match="pickle"):
        artifact_upload(data=pickle.dumps(Exploit()))

    assert PAYLOAD_RAN == []
    assert not ModelArtifact.objects.exists()
    assert RegistryEvent.objects.get().event_type == "upload_refused"


def test_a_model_declaring_unknown_features_is_refused(db):
    data = skops_bytes(features=["price_to_ondemand", "moon_phase"])

    with pytest.raises(ArtifactRefused, match="moon_phase"):
        artifact_upload(data=data)

    assert not ModelArtifact.objects.exists()


def test_an_uploaded_model_is_validated_but_not_yet_serving(db):
    artifact = artifact_upload(data=skops_bytes(), actor="ops")

    assert artifact.status == ModelArtifact.Status.VALIDATED
    assert artifact.features[0] == "price_to_ondemand"
    assert engine_serving()[0].name == "balanced"


def test_activation_serves_the_model_and_keeps_the_old_one_as_fallback(
    db, registered
):
    first = artifact_upload(data=skops_bytes("v1"))
    second = artifact_upload(data=skops_bytes("v2"))
    registered.auto_switch_enabled = True
    registered.save()

    artifact_activate(artifact_id=first.pk)
    artifact_activate(artifact_id=second.pk)

    first.refresh_from_db()
    assert first.status == ModelArtifact.Status.FALLBACK
    assert engine_serving()[1] == {"name": "tiny", "version": "v2"}
    assert Notification.objects.filter(
        client=registered.client, kind=Notification.Kind.MODEL_ACTIVATED
    ).count() == 2


def test_fallback_returns_to_the_previous_model_then_to_the_baseline(db):
    first = artifact_upload(data=skops_bytes("v1"))
    second = artifact_upload(data=skops_bytes("v2"))
    artifact_activate(artifact_id=first.pk)
    artifact_activate(artifact_id=second.pk)

    assert artifact_fallback(reason="drift") == first
    assert engine_serving()[1]["version"] == "v1"
    assert artifact_fallback(reason="again") is None
    assert engine_serving()[0].name == "balanced"


def test_a_model_that_no_longer_loads_falls_back_by_itself(db):
    good = artifact_upload(data=skops_bytes("v1"))
    bad = artifact_upload(data=skops_bytes("v2"))
    artifact_activate(artifact_id=good.pk)
    artifact_activate(artifact_id=bad.pk)
    ModelArtifact.objects.filter(pk=bad.pk).update(
        data=pickle.dumps(Exploit()), sha256="changed"
    )

    engine, model = engine_serving()

    assert model["version"] == "v1"
    bad.refresh_from_db()
    assert bad.status == ModelArtifact.Status.FAILED
    assert RegistryEvent.objects.filter(event_type="failed", artifact=bad).exists()
    assert PAYLOAD_RAN == []


def test_operator_api_uploads_activates_and_lists(staff):
    upload = staff.post(
        "/api/admin/ml-models/upload",
        {"file": SimpleUploadedFile("model.skops", skops_bytes())},
        format="multipart",
    )
    assert upload.status_code == 201, upload.content

    activated = staff.post("/api/admin/ml-models/activate",
                           {"artifact_id": upload.json()["id"]}, format="json")
    sessions = staff.get("/api/admin/ml-models/sessions").json()

    assert activated.json()["status"] == "active"
    assert [m["status"] for m in sessions["models"]] == ["active"]
    assert {e["event_type"] for e in sessions["events"]} == {"uploaded", "activated"}


def test_operator_api_refuses_a_pickle_with_a_clear_error(staff):
    response = staff.post(
        "/api/admin/ml-models/upload",
        {"file": SimpleUploadedFile("model.pkl", pickle.dumps(Exploit()))},
        format="multipart",
    )

    assert response.status_code == 400
    assert "pickle" in str(response.json()).lower()
    assert PAYLOAD_RAN == []


def test_operator_api_is_for_staff_only(owner):
    response = owner.post("/api/admin/ml-models/fallback", {})

    assert response.status_code == 403
