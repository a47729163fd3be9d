"""Settings for the test suite: fast hashing, quiet logs, no scheduler."""

from spotopt.settings.base import *  # noqa: F403
from spotopt.settings.base import LOGGING

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMBEDDED_SCHEDULER_ENABLED = False
LOGGING["root"]["level"] = "WARNING"
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}

# Tests share one Redis in CI; a flush from one worker must not hit another,
# so the cache stays in-process here. Tests about Redis configure it.
CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
WHITENOISE_AUTOREFRESH = True

# Tasks run where they are called; tests about the broker start a worker.
CELERY_TASK_ALWAYS_EAGER = True

# Suites and benchmarks hammer one agent far faster than a real one polls;
# the throttle tests set their own small rates.
REST_FRAMEWORK = {
    **REST_FRAMEWORK,  # noqa: F405
    "DEFAULT_THROTTLE_RATES": dict.fromkeys(
        ("agent", "client", "user", "anon"), "100000/min"
    ),
}
LOGIN_RATE = "100000/min"

if DATABASES["default"]["ENGINE"].endswith("sqlite3"):  # noqa: F405
    # A file, as in the embedded deployment, not shared-cache memory: there a
    # live-server test's concurrent writers fail at once with "table is
    # locked" instead of waiting out the busy timeout. pytest-xdist gives
    # each worker its own file by suffix.
    DATABASES["default"]["TEST"] = {  # noqa: F405
        "NAME": str(BASE_DIR / ".test-db.sqlite3")  # noqa: F405
    }
