"""Settings shared by every deployment.

The embedded default (SQLite, in-memory channel layer, in-process periodic
jobs) needs no environment at all. Setting DATABASE_URL and REDIS_URL turns
the same code base into the scale-out deployment.
"""

from pathlib import Path

import dj_database_url

from spotopt.settings.env import env_bool, env_int, env_list, env_str

BASE_DIR = Path(__file__).resolve().parent.parent.parent

DEBUG = env_bool("DEBUG", False)

# Without SECRET_KEY the placeholder below keeps Django importable; the
# system check spotopt.E001 refuses to start production with it.
INSECURE_SECRET_KEY = "insecure-development-key-do-not-use-in-production"
SECRET_KEY = env_str("SECRET_KEY") or INSECURE_SECRET_KEY

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost", "[::1]"])

INSTALLED_APPS = [
    "daphne",
    "spotopt.admin_apps.OperatorAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "django_celery_beat",
    "channels",
    "spotopt",
    "agents",
    "pricing",
    "instances",
    "decisions",
    "notifications",
]

MIDDLEWARE = [
    "spotopt.middleware.RequestIdMiddleware",
    "spotopt.middleware.MetricsMiddleware",
    "spotopt.middleware.BodySizeLimitMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "agents.middleware.AgentHotPathMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "spotopt.middleware.ContentSecurityPolicyMiddleware",
    "spotopt.middleware.LoginThrottleMiddleware",
]

# When set, GET /metrics needs "Authorization: Bearer <METRICS_TOKEN>".
METRICS_TOKEN = env_str("METRICS_TOKEN")
# Empty sends no policy header; production sets one.
CONTENT_SECURITY_POLICY = env_str("CONTENT_SECURITY_POLICY")
# Admin and dashboard login POSTs allowed per address and window.
LOGIN_RATE = env_str("LOGIN_RATE", "10/min")

ROOT_URLCONF = "spotopt.urls"
WSGI_APPLICATION = "spotopt.wsgi.application"
ASGI_APPLICATION = "spotopt.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

DATABASES = {
    "default": dj_database_url.parse(
        env_str("DATABASE_URL") or f"sqlite:///{BASE_DIR / 'db.sqlite3'}",
        conn_max_age=env_int("DB_CONN_MAX_AGE", 60),
        conn_health_checks=True,
    )
}
if DATABASES["default"]["ENGINE"].endswith("sqlite3"):
    # WAL lets the dashboard read while an agent request writes, and the
    # busy timeout turns short lock waits into waits instead of errors.
    DATABASES["default"]["OPTIONS"] = {
        "timeout": 20,
        "transaction_mode": "IMMEDIATE",
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
    DATABASES["default"]["CONN_MAX_AGE"] = 0
# The agent hot paths' hand-written statements are prepared on PostgreSQL
# (spotopt.sql.prepared_cursor); turn it off behind a connection pooler in
# transaction mode that cannot keep prepared statements. Django's own
# cursors bind parameters in Python and are never prepared either way.
DB_PREPARED_STATEMENTS = env_bool("DB_PREPARED_STATEMENTS", True)
if DATABASES["default"]["ENGINE"].endswith("postgresql"):
    DATABASES["default"].setdefault("OPTIONS", {})["prepare_threshold"] = (
        0 if DB_PREPARED_STATEMENTS else None
    )

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATICFILES_FINDERS = [
    "django.contrib.staticfiles.finders.FileSystemFinder",
    "django.contrib.staticfiles.finders.AppDirectoriesFinder",
    "spotopt.staticfinders.ChartLibraryFinder",
]

LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "overview"
LOGOUT_REDIRECT_URL = "login"

# Invitations and password resets; development prints mails to the console.
EMAIL_BACKEND = env_str(
    "EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend"
)
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "spotopt@localhost")
# Messages can carry a client's new token: keep them server-side.
MESSAGE_STORAGE = "django.contrib.messages.storage.session.SessionStorage"

# Agent requests are small; anything near a megabyte is a broken agent.
REQUEST_BODY_MAX_BYTES = env_int("REQUEST_BODY_MAX_BYTES", 512 * 1024)
DATA_UPLOAD_MAX_MEMORY_SIZE = REQUEST_BODY_MAX_BYTES

REDIS_URL = env_str("REDIS_URL")

# --- Django REST framework and the OpenAPI schema -------------------------

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "agents.authentication.ClientTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["spotopt.parsers.SafeJSONParser"],
    "DEFAULT_FILTER_BACKENDS": [
        "django_filters.rest_framework.DjangoFilterBackend",
        "rest_framework.filters.OrderingFilter",
    ],
    "DEFAULT_PAGINATION_CLASS": "spotopt.pagination.BoundedLimitOffsetPagination",
    "PAGE_SIZE": 50,
    "EXCEPTION_HANDLER": "spotopt.errors.api_exception_handler",
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "UNAUTHENTICATED_USER": None,
    "DEFAULT_THROTTLE_CLASSES": ["spotopt.throttling.ApiRateThrottle"],
    # Proxies in front that append to X-Forwarded-For. With the default 0
    # the header is ignored: a caller could write any address into it.
    "NUM_PROXIES": env_int("NUM_PROXIES", 0),
    # An agent polls every 5 s and heartbeats every 30 s; during a failover
    # it resends notices every 10 s. 600 a minute per agent leaves room.
    "DEFAULT_THROTTLE_RATES": {
        "agent": env_str("THROTTLE_AGENT_RATE", "600/min"),
        "client": env_str("THROTTLE_CLIENT_RATE", "600/min"),
        "user": env_str("THROTTLE_USER_RATE", "600/min"),
        "anon": env_str("THROTTLE_ANON_RATE", "60/min"),
    },
}

SPECTACULAR_SETTINGS = {
    "TITLE": "SpotOpt API",
    "DESCRIPTION": "Agent, client and operator API of the SpotOpt server.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
}

# --- Cache: shared through Redis when scaled out ----------------------------

if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "spotopt.cache.ReusedClientRedisCache",
            "LOCATION": REDIS_URL,
            "TIMEOUT": 300,
        }
    }
else:
    CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}
    }

# --- Channels ---------------------------------------------------------------

if REDIS_URL:
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {"hosts": [REDIS_URL]},
        }
    }
else:
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}

# --- Celery -----------------------------------------------------------------

CELERY_BROKER_URL = REDIS_URL or "memory://"
CELERY_RESULT_BACKEND = None
CELERY_TASK_IGNORE_RESULT = True
CELERY_TIMEZONE = "UTC"
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
# Embedded mode has no worker: tasks run where they are called, and the
# in-process scheduler (spotopt.scheduler) runs the periodic ones.
CELERY_TASK_ALWAYS_EAGER = not REDIS_URL
CELERY_TASK_EAGER_PROPAGATES = False
EMBEDDED_SCHEDULER_ENABLED = env_bool("EMBEDDED_SCHEDULER", False)

# --- Orchestration timings --------------------------------------------------

HEARTBEAT_GRACE_SECONDS = env_int("HEARTBEAT_GRACE_SECONDS", 120)
COMMAND_TTL_SECONDS = env_int("COMMAND_TTL_SECONDS", 900)
COMMAND_LEASE_SECONDS = env_int("COMMAND_LEASE_SECONDS", 360)
REBALANCE_REPLICA_TTL_SECONDS = env_int("REBALANCE_REPLICA_TTL_SECONDS", 1800)
TERMINATION_NOTICE_SECONDS = 120
IDEMPOTENCY_KEY_TTL_HOURS = env_int("IDEMPOTENCY_KEY_TTL_HOURS", 48)
PRICE_FRESHNESS_HOURS = env_int("PRICE_FRESHNESS_HOURS", 6)

# --- Price tiers and the savings ledger (pricing app) -------------------------

PRICE_BUCKET_SECONDS = env_int("PRICE_BUCKET_SECONDS", 300)
# A gap between known prices longer than this stays empty, not interpolated.
PRICE_GAP_LIMIT_SECONDS = env_int("PRICE_GAP_LIMIT_SECONDS", 3600)
# Each run re-reads this much before the last watermark, so a report whose
# transaction committed after a run began is still consolidated.
PRICE_CONSOLIDATION_OVERLAP_SECONDS = env_int(
    "PRICE_CONSOLIDATION_OVERLAP_SECONDS", 120
)
RAW_PRICE_RETENTION_DAYS = env_int("RAW_PRICE_RETENTION_DAYS", 30)

# --- Logging ----------------------------------------------------------------

LOG_LEVEL = env_str("LOG_LEVEL", "INFO")
LOG_FORMAT = env_str("LOG_FORMAT", "text" if DEBUG else "json")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {
        "request_id": {"()": "spotopt.logging.RequestIdFilter"},
        "redact_secrets": {"()": "spotopt.logging.SecretRedactingFilter"},
    },
    "formatters": {
        "text": {
            "format": "%(asctime)s %(levelname)-7s %(name)s "
            "[%(request_id)s] %(message)s",
        },
        "json": {
            "()": "pythonjsonlogger.json.JsonFormatter",
            "format": "%(asctime)s %(levelname)s %(name)s %(request_id)s "
            "%(message)s",
        },
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": LOG_FORMAT,
            "filters": ["request_id", "redact_secrets"],
        }
    },
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        "django.request": {"level": "ERROR"},
    },
}

from spotopt.schedule import celery_beat_schedule  # noqa: E402

CELERY_BEAT_SCHEDULE = celery_beat_schedule()
