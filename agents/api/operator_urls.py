from django.urls import path

from agents.api import operator as views

app_name = "operator-api"

urlpatterns = [
    path("clients/create", views.ClientCreateView.as_view(), name="client-create"),
    path("clients", views.ClientListView.as_view(), name="client-list"),
    path(
        "clients/growth", views.ClientGrowthView.as_view(), name="client-growth"
    ),
    path(
        "clients/<int:client_id>", views.ClientDeleteView.as_view(),
        name="client-delete",
    ),
    path(
        "clients/<int:client_id>/regenerate-token",
        views.TokenRegenerateView.as_view(),
        name="client-regenerate-token",
    ),
    path("stats", views.StatsView.as_view(), name="stats"),
    path("instances", views.InstanceListView.as_view(), name="instance-list"),
    path("agents", views.AgentListView.as_view(), name="agent-list"),
    path("activity", views.ActivityView.as_view(), name="activity"),
    path(
        "system-health", views.SystemHealthView.as_view(), name="system-health"
    ),
    path(
        "export/global-stats", views.GlobalStatsExportView.as_view(),
        name="export-global-stats",
    ),
]
