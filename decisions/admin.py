from django.contrib import admin, messages

from decisions.models import DecisionLog, ModelArtifact, RegistryEvent
from decisions.registry import ArtifactRefused
from decisions.services.registry import artifact_activate, artifact_fallback


@admin.register(DecisionLog)
class DecisionLogAdmin(admin.ModelAdmin):
    list_display = [
        "agent", "engine", "model_version", "recommended_action",
        "recommended_pool_id", "allowed", "outcome", "created_at",
    ]
    list_filter = ["engine", "recommended_action", "allowed"]
    list_select_related = ["agent"]
    raw_id_fields = ["agent", "client"]


@admin.register(ModelArtifact)
class ModelArtifactAdmin(admin.ModelAdmin):
    """Active and fallback models at a glance; activate or fall back here."""

    list_display = ["name", "version", "status", "status_reason",
                    "created_at", "activated_at"]
    list_filter = ["status", "name"]
    exclude = ["data"]
    readonly_fields = [
        "name", "version", "features", "horizon_hours", "metrics", "status",
        "status_reason", "sha256", "uploaded_by", "created_at", "activated_at",
    ]
    actions = ["activate", "fall_back"]

    def has_add_permission(self, request):
        # Uploads go through the operator API, which validates the file.
        return False

    @admin.action(description="Activate the selected model")
    def activate(self, request, queryset):
        if queryset.count() != 1:
            self.message_user(request, "Select exactly one model.",
                              messages.ERROR)
            return
        try:
            artifact = artifact_activate(artifact_id=queryset.get().pk,
                                         actor=request.user.get_username())
        except ArtifactRefused as error:
            self.message_user(request, str(error), messages.ERROR)
            return
        self.message_user(request, f"{artifact} is active.")

    @admin.action(description="Fall back from the active model")
    def fall_back(self, request, queryset):
        active = artifact_fallback(actor=request.user.get_username(),
                                   reason="operator fall-back from the admin")
        self.message_user(request, f"Now serving: {active or 'the baseline'}.")


@admin.register(RegistryEvent)
class RegistryEventAdmin(admin.ModelAdmin):
    list_display = ["event_type", "artifact", "status_before", "status_after",
                    "actor", "created_at"]
    list_filter = ["event_type"]
    readonly_fields = [f.name for f in RegistryEvent._meta.fields]
