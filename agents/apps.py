from django.apps import AppConfig


class AgentsConfig(AppConfig):
    name = "agents"

    def ready(self):
        from agents.api import schema  # noqa: F401  (registers the extension)
