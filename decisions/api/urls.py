from django.urls import path

from decisions.api import views

app_name = "decisions-api"

urlpatterns = [
    path("<str:agent_id>/decide", views.DecideView.as_view(), name="agent-decide"),
    path(
        "<str:agent_id>/switch-recommendation",
        views.SwitchRecommendationView.as_view(),
        name="agent-switch-recommendation",
    ),
    path(
        "<str:agent_id>/issue-switch-command",
        views.IssueSwitchCommandView.as_view(),
        name="agent-issue-switch-command",
    ),
    path(
        "<str:agent_id>/statistics", views.StatisticsView.as_view(),
        name="agent-statistics",
    ),
]
