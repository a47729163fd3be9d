from django.urls import path

from pricing import views

app_name = "pricing"

urlpatterns = [
    path("", views.savings, name="savings"),
    path("export/savings.csv", views.savings_export, name="savings-export"),
    path(
        "export/switch-history.csv", views.switch_history_export,
        name="switch-history-export",
    ),
]
