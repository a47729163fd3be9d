"""Websocket routes of every app, gathered for the ASGI router."""

from django.urls import path

from spotopt.consumers import ClientEventsConsumer

websocket_urlpatterns = [
    path("ws/client/<int:client_id>/", ClientEventsConsumer.as_asgi()),
]
