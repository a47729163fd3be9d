from django.urls import path

from instances.api import client as views

app_name = "client-instances-api"

_INSTANCE = "instances/<str:instance_pk>/"

urlpatterns = [
    path(
        "<int:client_id>/instances", views.InstanceListView.as_view(),
        name="instance-list",
    ),
    path(
        "<int:client_id>/replicas", views.ReplicaListView.as_view(),
        name="replica-list",
    ),
    path("instances/launch", views.LaunchView.as_view(), name="instance-launch"),
    path(
        "pricing-history", views.PricingHistoryView.as_view(),
        name="pricing-history",
    ),
    path(
        _INSTANCE + "pricing", views.InstancePricingView.as_view(),
        name="instance-pricing",
    ),
    path(
        _INSTANCE + "metrics", views.InstanceMetricsView.as_view(),
        name="instance-metrics",
    ),
    path(
        _INSTANCE + "price-history", views.InstancePriceHistoryView.as_view(),
        name="instance-price-history",
    ),
    path(
        _INSTANCE + "available-options", views.InstanceOptionsView.as_view(),
        name="instance-available-options",
    ),
    path(_INSTANCE + "logs", views.InstanceLogsView.as_view(), name="instance-logs"),
    path(
        _INSTANCE + "pool-volatility", views.PoolVolatilityView.as_view(),
        name="instance-pool-volatility",
    ),
    path(
        _INSTANCE + "simulate-switch", views.SimulateSwitchView.as_view(),
        name="instance-simulate-switch",
    ),
    path(
        _INSTANCE + "force-switch", views.ForceSwitchView.as_view(),
        name="instance-force-switch",
    ),
    path(
        _INSTANCE + "terminate", views.TerminateView.as_view(),
        name="instance-terminate",
    ),
]
