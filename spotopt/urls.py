from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from spotopt import pages, streams, views

handler404 = "spotopt.errors.json_not_found"
handler500 = "spotopt.errors.json_server_error"
handler400 = "spotopt.errors.json_bad_request"

urlpatterns = [
    path("admin/", admin.site.urls),
    path("health", views.health, name="health"),
    path("metrics", views.metrics, name="metrics"),
    path("api/admin/", include("agents.api.operator_urls")),
    path("api/admin/ml-models/", include("decisions.api.operator_urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path(
        # The split view serves its script as a file: the content security
        # policy of production allows no inline scripts.
        "api/docs/", SpectacularSwaggerSplitView.as_view(url_name="schema"),
        name="docs",
    ),
    path("api/agents/", include("agents.api.urls")),
    path("api/agents/", include("instances.api.urls")),
    path("api/agents/", include("decisions.api.urls")),
    # The client surface: REST, server-sent events and the dashboard pages.
    path("api/client/", include("agents.api.client_urls")),
    path("api/client/", include("instances.api.client_urls")),
    path("api/client/", include("pricing.api.client_urls")),
    path("api/", include("notifications.api.urls")),
    path(
        "api/events/stream/<int:client_id>", streams.event_stream,
        name="event-stream",
    ),
    path("", pages.overview, name="overview"),
    path("accounts/", include("django.contrib.auth.urls")),
    path("agents/", include("agents.urls")),
    path("instances/", include("instances.urls")),
    path("savings/", include("pricing.urls")),
    path("notifications/", include("notifications.urls")),
]
