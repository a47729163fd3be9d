"""The operator console: Django's admin with fleet figures and a health page.

Installed as the default admin site (see OperatorAdminConfig), so every
app's `admin.register` lands here.
"""

from django.contrib import admin
from django.template.response import TemplateResponse
from django.urls import path

from spotopt.health import system_health
from spotopt.selectors import global_stats


class OperatorAdminSite(admin.AdminSite):
    site_header = "SpotOpt operator console"
    site_title = "SpotOpt operators"
    index_title = "Fleet"
    index_template = "admin/spotopt/index.html"

    def get_urls(self):
        extra = [
            path(
                "system-health/",
                self.admin_view(self.system_health_view),
                name="system-health",
            ),
        ]
        return extra + super().get_urls()

    def index(self, request, extra_context=None):
        context = {"figures": global_stats(), **(extra_context or {})}
        return super().index(request, extra_context=context)

    def system_health_view(self, request):
        context = {
            **self.each_context(request),
            "title": "System health",
            "health": system_health(),
        }
        return TemplateResponse(request, "admin/spotopt/system_health.html", context)
