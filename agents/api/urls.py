from django.urls import path

from agents.api import views

app_name = "agents-api"

urlpatterns = [
    path("register", views.RegisterView.as_view(), name="agent-register"),
    path(
        "<str:agent_id>/heartbeat", views.HeartbeatView.as_view(),
        name="agent-heartbeat",
    ),
    path("<str:agent_id>/config", views.ConfigView.as_view(), name="agent-config"),
    path(
        "<str:agent_id>/pending-commands", views.PendingCommandsView.as_view(),
        name="agent-pending-commands",
    ),
    path(
        "<str:agent_id>/commands/pending", views.CommandsPendingView.as_view(),
        name="agent-commands-pending",
    ),
    path(
        "<str:agent_id>/commands/<str:command_id>/executed",
        views.CommandExecutedView.as_view(),
        name="agent-command-executed",
    ),
    path(
        "<str:agent_id>/action-result", views.ActionResultView.as_view(),
        name="agent-action-result",
    ),
    path(
        "<str:agent_id>/pricing-report", views.PricingReportView.as_view(),
        name="agent-pricing-report",
    ),
    path(
        "<str:agent_id>/shutdown", views.ShutdownView.as_view(),
        name="agent-shutdown",
    ),
    path(
        "<str:agent_id>/cleanup-report", views.CleanupReportView.as_view(),
        name="agent-cleanup-report",
    ),
]
