from django.urls import path

from pricing.api import client as views

app_name = "client-pricing-api"

urlpatterns = [
    path("<int:client_id>/savings", views.SavingsView.as_view(), name="savings"),
    path(
        "<int:client_id>/switch-history", views.SwitchHistoryView.as_view(),
        name="switch-history",
    ),
    path("<int:client_id>/stats/charts", views.ChartsView.as_view(), name="charts"),
    path(
        "<int:client_id>/export/savings", views.SavingsExportView.as_view(),
        name="export-savings",
    ),
    path(
        "<int:client_id>/export/switch-history",
        views.SwitchHistoryExportView.as_view(), name="export-switch-history",
    ),
]
