"""WSGI entry point, for HTTP-only workers behind the load balancer."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "spotopt.settings.base")
application = get_wsgi_application()

from spotopt.runtime import startup_objects_freeze  # noqa: E402

startup_objects_freeze()
