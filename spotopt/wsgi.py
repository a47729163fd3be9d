"""WSGI entry point, for HTTP-only workers behind the load balancer.

The agents' idle polls and plain heartbeats are answered in front of
Django's handler (agents.front); everything else is Django's.
"""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "spotopt.settings.base")
django_application = get_wsgi_application()

from agents.front import AgentHotPath  # noqa: E402
from spotopt.runtime import startup_objects_freeze  # noqa: E402

application = AgentHotPath(django_application)
startup_objects_freeze()
