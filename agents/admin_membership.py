"""Admin of dashboard accounts; registered from agents/admin.py."""

from django.contrib import admin, messages

from agents.models import ClientMembership


@admin.register(ClientMembership)
class ClientMembershipAdmin(admin.ModelAdmin):
    list_display = ["user", "client", "role", "invited_at"]
    list_filter = ["role"]
    search_fields = ["user__username", "user__email", "client__name"]
    list_select_related = ["user", "client"]
    autocomplete_fields = ["client"]
    raw_id_fields = ["user"]
    actions = ["invitation_resend"]

    @admin.action(description="Send a password-setting mail again")
    def invitation_resend(self, request, queryset):
        from django.contrib.auth.forms import PasswordResetForm

        for membership in queryset.select_related("user"):
            form = PasswordResetForm({"email": membership.user.email})
            if form.is_valid():
                form.save(request=request, use_https=request.is_secure())
        messages.success(request, f"Mailed {queryset.count()} people.")

