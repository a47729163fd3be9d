"""Production: base plus HTTPS-only cookies, HSTS and a content policy.

Run with DJANGO_SETTINGS_MODULE=spotopt.settings.production behind a TLS
proxy. SECRET_KEY and ALLOWED_HOSTS have no defaults here: a deploy without
them fails at start-up.
"""

from django.core.exceptions import ImproperlyConfigured

from spotopt.settings.base import *  # noqa: F403
from spotopt.settings.base import DEBUG, INSECURE_SECRET_KEY, SECRET_KEY
from spotopt.settings.env import env_bool, env_int, env_list, env_str

if DEBUG:
    raise ImproperlyConfigured("DEBUG must be off in production settings.")
if SECRET_KEY == INSECURE_SECRET_KEY:
    raise ImproperlyConfigured("SECRET_KEY must be set in production.")
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", [])
if not ALLOWED_HOSTS:
    raise ImproperlyConfigured("ALLOWED_HOSTS must be set in production.")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
# Load balancers probe over plain HTTP inside the network.
SECURE_REDIRECT_EXEMPT = [r"^health$", r"^metrics$"]
if env_bool("BEHIND_TLS_PROXY", True):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    # Rate limits then key on the address the proxy saw, not the proxy's.
    REST_FRAMEWORK = {
        **REST_FRAMEWORK,  # noqa: F405
        "NUM_PROXIES": env_int("NUM_PROXIES", 1),
    }
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 31_536_000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", True)
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", True)
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"

SESSION_COOKIE_SECURE = True
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SECURE = True
CSRF_COOKIE_HTTPONLY = True

# The admin and the dashboard serve their own scripts and styles; the
# admin's templates carry inline style attributes, hence 'unsafe-inline'
# for styles only. The API docs page loads Swagger UI from its CDN.
CONTENT_SECURITY_POLICY = env_str(
    "CONTENT_SECURITY_POLICY",
    "default-src 'self'; "
    "script-src 'self' https://cdn.jsdelivr.net; "
    "style-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net; "
    "img-src 'self' data: https://cdn.jsdelivr.net; "
    "connect-src 'self' wss: ws:; "
    "object-src 'none'; base-uri 'self'; form-action 'self'; "
    "frame-ancestors 'none'",
)

# drf-spectacular would run its schema lint inside `check --deploy`; the
# schema has its own tests, and the deploy check is about the deployment.
SPECTACULAR_SETTINGS = {
    **SPECTACULAR_SETTINGS,  # noqa: F405
    "ENABLE_DJANGO_DEPLOY_CHECK": False,
}
