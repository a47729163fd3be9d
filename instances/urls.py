from django.urls import path

from instances import views

app_name = "instances"

urlpatterns = [
    path("", views.instance_list_page, name="instance-list"),
    path("<str:instance_pk>/", views.instance_detail, name="instance-detail"),
    path(
        "<str:instance_pk>/force-switch", views.instance_force_switch_page,
        name="instance-force-switch",
    ),
    path(
        "<str:instance_pk>/terminate", views.instance_terminate_page,
        name="instance-terminate",
    ),
    path(
        "launch/<str:agent_id>", views.instance_launch_page,
        name="instance-launch",
    ),
]
