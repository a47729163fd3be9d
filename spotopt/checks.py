"""System checks that stop a bad deploy with a named error."""

from django.conf import settings
from django.core.checks import Error, Tags, register


@register(Tags.security, deploy=False)
def check_secret_key(app_configs, **kwargs):
    if settings.DEBUG or settings.SECRET_KEY != settings.INSECURE_SECRET_KEY:
        return []
    return [
        Error(
            "SECRET_KEY is not set.",
            hint="Production (DEBUG off) needs a long random SECRET_KEY "
            "in the environment.",
            id="spotopt.E001",
        )
    ]
