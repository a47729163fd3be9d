from django.urls import path

from decisions.api import operator

app_name = "decisions-operator"

urlpatterns = [
    path("upload", operator.ModelUploadView.as_view(), name="model-upload"),
    path("activate", operator.ModelActivateView.as_view(), name="model-activate"),
    path("fallback", operator.ModelFallbackView.as_view(), name="model-fallback"),
    path("sessions", operator.ModelSessionsView.as_view(), name="model-sessions"),
]
