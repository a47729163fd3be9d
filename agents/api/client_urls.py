from django.urls import path

from agents.api import client as views

app_name = "client-agents-api"

urlpatterns = [
    path("validate", views.ValidateView.as_view(), name="client-validate"),
    path("<int:client_id>", views.ClientDetailView.as_view(), name="client-detail"),
    path(
        "<int:client_id>/agents", views.AgentListView.as_view(), name="agent-list"
    ),
    path(
        "<int:client_id>/agents/decisions", views.DecisionListView.as_view(),
        name="decision-list",
    ),
    path(
        "<int:client_id>/agents/history", views.AgentHistoryView.as_view(),
        name="agent-history",
    ),
    path(
        "agents/<str:agent_id>/toggle-enabled",
        views.AgentToggleEnabledView.as_view(), name="agent-toggle-enabled",
    ),
    path(
        "agents/<str:agent_id>/settings", views.AgentConfigView.as_view(),
        name="agent-settings",
    ),
    path(
        "agents/<str:agent_id>/config", views.AgentConfigView.as_view(),
        name="agent-config",
    ),
    path("agents/<str:agent_id>", views.AgentDeleteView.as_view(), name="agent-delete"),
]
