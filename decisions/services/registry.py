"""The model registry: upload, validate, activate, fall back.

An artefact is loaded only through `decisions.registry`, which refuses
pickles before reading them. The serving engine is the active artefact's;
when it cannot be loaded or fails while deciding, the registry falls back
on its own (to the fallback artefact, else to the balanced baseline) and
records why.
"""

import hashlib
import logging

from django.db import transaction
from django.utils import timezone

from agents.models import Client
from decisions.engines import BASELINES, LearnedEngine
from decisions.engines.features import feature_fixture
from decisions.models import ModelArtifact, RegistryEvent
from decisions.registry import (
    ArtifactRefused,
    artifact_check_format,
    artifact_load,
    artifact_validate,
)
from notifications.models import Notification
from notifications.services import notification_create

logger = logging.getLogger(__name__)

BASELINE_ENGINE = "balanced"
_loaded: dict = {}


def registry_event_record(*, event_type, artifact=None, before="", after="",
                          actor="", **details) -> RegistryEvent:
    return RegistryEvent.objects.create(
        artifact=artifact, event_type=event_type, status_before=before,
        status_after=after, actor=actor, details=details,
    )


def artifact_upload(*, data: bytes, actor: str = "") -> ModelArtifact:
    """Store a validated artefact; raise ArtifactRefused (and record it).

    The file must be skops, load with trusted types only, declare features
    this server computes, and score the fixture.
    """
    try:
        artifact_check_format(data)
        model = artifact_load(data)
        artifact_validate(model, feature_fixture())
    except ArtifactRefused as error:
        registry_event_record(event_type="upload_refused", actor=actor,
                              reason=str(error), size=len(data))
        logger.warning("Model upload refused: %s", error)
        raise

    artifact = ModelArtifact.objects.create(
        name=model.name, version=model.version, features=model.features,
        horizon_hours=model.horizon_hours, metrics=model.metrics,
        status=ModelArtifact.Status.VALIDATED, data=data,
        sha256=hashlib.sha256(data).hexdigest(), uploaded_by=actor,
    )
    registry_event_record(event_type="uploaded", artifact=artifact,
                          after=artifact.status, actor=actor)
    return artifact


@transaction.atomic
def artifact_activate(*, artifact_id: int, actor: str = "") -> ModelArtifact:
    """Make an artefact active; the one it replaces becomes the fallback."""
    artifact = ModelArtifact.objects.select_for_update().get(pk=artifact_id)
    artifact_validate(artifact_load(bytes(artifact.data)), feature_fixture())
    if artifact.status == ModelArtifact.Status.ACTIVE:
        return artifact

    before = artifact.status
    ModelArtifact.objects.filter(status=ModelArtifact.Status.FALLBACK).exclude(
        pk=artifact.pk
    ).update(status=ModelArtifact.Status.RETIRED)
    ModelArtifact.objects.filter(status=ModelArtifact.Status.ACTIVE).update(
        status=ModelArtifact.Status.FALLBACK
    )
    artifact.status = ModelArtifact.Status.ACTIVE
    artifact.activated_at = timezone.now()
    artifact.status_reason = ""
    artifact.save(update_fields=["status", "activated_at", "status_reason"])
    registry_event_record(event_type="activated", artifact=artifact,
                          before=before, after=artifact.status, actor=actor)
    _notify(f"Model {artifact.name} {artifact.version} now decides")
    logger.info("Model %s %s activated by %s", artifact.name,
                artifact.version, actor or "system")
    return artifact


@transaction.atomic
def artifact_fallback(*, actor: str = "", reason: str = "",
                      failed: bool = False) -> ModelArtifact | None:
    """Retire (or fail) the active artefact and promote the fallback.

    Returns the artefact now active, or None when decisions return to the
    baseline engine.
    """
    active = ModelArtifact.objects.select_for_update().filter(
        status=ModelArtifact.Status.ACTIVE
    ).first()
    fallback = ModelArtifact.objects.select_for_update().filter(
        status=ModelArtifact.Status.FALLBACK
    ).first()
    if active is not None:
        active.status = (
            ModelArtifact.Status.FAILED if failed else ModelArtifact.Status.RETIRED
        )
        active.status_reason = reason[:255]
        active.save(update_fields=["status", "status_reason"])
        registry_event_record(
            event_type="failed" if failed else "retired", artifact=active,
            before=ModelArtifact.Status.ACTIVE, after=active.status,
            actor=actor, reason=reason,
        )
    if fallback is not None:
        fallback.status = ModelArtifact.Status.ACTIVE
        fallback.activated_at = timezone.now()
        fallback.save(update_fields=["status", "activated_at"])
        registry_event_record(
            event_type="fell_back", artifact=fallback,
            before=ModelArtifact.Status.FALLBACK, after=fallback.status,
            actor=actor, reason=reason,
        )
    now_serving = (
        f"{fallback.name} {fallback.version}" if fallback
        else f"the {BASELINE_ENGINE} baseline"
    )
    _notify(f"Decisions fell back to {now_serving}", body=reason)
    logger.warning("Model fallback to %s: %s", now_serving, reason)
    return fallback


def _notify(title: str, body: str = "") -> None:
    """Tell every client that lets the engine act: their switches change."""
    clients = Client.objects.filter(
        agents__auto_switch_enabled=True, agents__enabled=True
    ).distinct().values_list("pk", flat=True)
    for client_id in clients:
        notification_create(
            client_id=client_id, kind=Notification.Kind.MODEL_ACTIVATED,
            title=title[:200], body=body,
        )


def engine_serving():
    """The engine that decides now, and its model object for the log.

    The active artefact is loaded once per content hash; one that fails to
    load makes the registry fall back before the baseline answers.
    """
    active = ModelArtifact.objects.filter(
        status=ModelArtifact.Status.ACTIVE
    ).values_list("pk", "sha256").first()
    if active is None:
        engine = BASELINES[BASELINE_ENGINE]
        return engine, engine.model

    if active not in _loaded:
        try:
            data = ModelArtifact.objects.values_list("data", flat=True).get(
                pk=active[0]
            )
            _loaded[active] = LearnedEngine(artifact_load(bytes(data)))
        except ArtifactRefused as error:
            artifact_fallback(actor="registry", reason=str(error), failed=True)
            return engine_serving()
    engine = _loaded[active]
    return engine, engine.model


def engine_failed(*, engine, error: Exception):
    """The serving model raised while deciding: fall back, answer anew."""
    artifact = ModelArtifact.objects.filter(
        status=ModelArtifact.Status.ACTIVE
    ).first()
    if artifact is not None and isinstance(engine, LearnedEngine):
        artifact_fallback(actor="registry", failed=True,
                          reason=f"failed while deciding: {error}"[:255])
    return engine_serving()
