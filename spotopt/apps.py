from django.apps import AppConfig
from django.conf import settings


class SpotoptConfig(AppConfig):
    name = "spotopt"
    verbose_name = "SpotOpt"

    def ready(self):
        from spotopt import checks  # noqa: F401  (registers the checks)
        from spotopt.receivers import receivers_connect

        receivers_connect()

        if settings.EMBEDDED_SCHEDULER_ENABLED:
            from spotopt.scheduler import scheduler_start

            scheduler_start()

