from django.urls import path

from agents import views

app_name = "agents"

urlpatterns = [
    path("", views.agent_list_page, name="agent-list"),
    path("<str:agent_id>/", views.agent_detail, name="agent-detail"),
]
