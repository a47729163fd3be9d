"""The model-registry part of the operator API: staff users only."""

from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import ValidationError
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.response import Response
from rest_framework.views import APIView

from agents.api.operator import OperatorAPIView
from decisions.models import ModelArtifact, RegistryEvent
from decisions.registry import ArtifactRefused
from decisions.services.registry import (
    artifact_activate,
    artifact_fallback,
    artifact_upload,
)

RECENT_EVENTS = 50


class ArtifactOut(serializers.ModelSerializer):
    class Meta:
        model = ModelArtifact
        fields = [
            "id", "name", "version", "status", "status_reason", "features",
            "horizon_hours", "metrics", "sha256", "uploaded_by", "created_at",
            "activated_at",
        ]


class RegistryEventOut(serializers.ModelSerializer):
    class Meta:
        model = RegistryEvent
        fields = [
            "id", "artifact", "event_type", "status_before", "status_after",
            "actor", "details", "created_at",
        ]


class UploadIn(serializers.Serializer):
    file = serializers.FileField()
    activate = serializers.BooleanField(default=False)


class ActivateIn(serializers.Serializer):
    artifact_id = serializers.IntegerField()


class FallbackIn(serializers.Serializer):
    reason = serializers.CharField(max_length=255, default="operator request")


def _actor(request) -> str:
    return request.user.get_username()


class ModelUploadView(OperatorAPIView, APIView):
    parser_classes = [MultiPartParser, FormParser]

    @extend_schema(request=UploadIn, responses={201: ArtifactOut})
    def post(self, request):
        data = UploadIn(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            artifact = artifact_upload(
                data=data.validated_data["file"].read(), actor=_actor(request)
            )
            if data.validated_data["activate"]:
                artifact = artifact_activate(
                    artifact_id=artifact.pk, actor=_actor(request)
                )
        except ArtifactRefused as error:
            raise ValidationError({"file": [str(error)]})
        return Response(ArtifactOut(artifact).data, status=status.HTTP_201_CREATED)


class ModelActivateView(OperatorAPIView, APIView):
    parser_classes = [JSONParser, FormParser]

    @extend_schema(request=ActivateIn, responses={200: ArtifactOut})
    def post(self, request):
        data = ActivateIn(data=request.data)
        data.is_valid(raise_exception=True)
        get_object_or_404(ModelArtifact, pk=data.validated_data["artifact_id"])
        try:
            artifact = artifact_activate(
                artifact_id=data.validated_data["artifact_id"],
                actor=_actor(request),
            )
        except ArtifactRefused as error:
            raise ValidationError({"artifact_id": [str(error)]})
        return Response(ArtifactOut(artifact).data)


class ModelFallbackView(OperatorAPIView, APIView):
    parser_classes = [JSONParser, FormParser]

    @extend_schema(request=FallbackIn, responses={200: OpenApiTypes.OBJECT})
    def post(self, request):
        data = FallbackIn(data=request.data)
        data.is_valid(raise_exception=True)
        active = artifact_fallback(
            actor=_actor(request), reason=data.validated_data["reason"]
        )
        return Response({
            "active": ArtifactOut(active).data if active else None,
            "engine": active.name if active else "balanced",
        })


class ModelSessionsView(OperatorAPIView, APIView):
    @extend_schema(responses={200: OpenApiTypes.OBJECT})
    def get(self, request):
        artifacts = ModelArtifact.objects.defer("data")
        events = RegistryEvent.objects.all()[:RECENT_EVENTS]
        return Response({
            "models": ArtifactOut(artifacts, many=True).data,
            "events": RegistryEventOut(events, many=True).data,
        })
