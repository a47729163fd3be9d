from django.urls import path

from instances.api import views

app_name = "instances-api"

urlpatterns = [
    path(
        "<str:agent_id>/switch-report", views.SwitchReportView.as_view(),
        name="agent-switch-report",
    ),
    path(
        "<str:agent_id>/rebalance-recommendation",
        views.RebalanceRecommendationView.as_view(),
        name="agent-rebalance-recommendation",
    ),
    path(
        "<str:agent_id>/termination-imminent",
        views.TerminationImminentView.as_view(),
        name="agent-termination-imminent",
    ),
    path(
        "<str:agent_id>/termination-report",
        views.TerminationReportView.as_view(),
        name="agent-termination-report",
    ),
    path(
        "<str:agent_id>/create-emergency-replica",
        views.CreateEmergencyReplicaView.as_view(),
        name="agent-create-emergency-replica",
    ),
    path(
        "<str:agent_id>/emergency-status", views.EmergencyStatusView.as_view(),
        name="agent-emergency-status",
    ),
    path(
        "<str:agent_id>/replica-config", views.ReplicaConfigView.as_view(),
        name="agent-replica-config",
    ),
    path(
        "<str:agent_id>/instances-to-terminate",
        views.InstancesToTerminateView.as_view(),
        name="agent-instances-to-terminate",
    ),
    path(
        "<str:agent_id>/instance-launched", views.InstanceLaunchedView.as_view(),
        name="agent-instance-launched",
    ),
    path(
        "<str:agent_id>/instance-terminated",
        views.InstanceTerminatedView.as_view(),
        name="agent-instance-terminated",
    ),
    path(
        "<str:agent_id>/termination", views.TerminationView.as_view(),
        name="agent-termination",
    ),
]
