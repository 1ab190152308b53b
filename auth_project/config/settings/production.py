"""Production settings: required values come from the environment, and the service refuses to start without them."""

from django.core.exceptions import ImproperlyConfigured

from .base import *  # noqa: F403
from .base import SIMPLE_JWT, env, env_list

# Fail fast, naming every missing variable at once, rather than start with a development default.
REQUIRED = ("DJANGO_SECRET_KEY", "DJANGO_ALLOWED_HOSTS", "JWT_ISSUER", "JWT_AUDIENCE")
missing = [name for name in REQUIRED if not env.str(name, default="").strip()]
if missing:
    raise ImproperlyConfigured(
        f"Production settings need these environment variables: {', '.join(missing)} (see docs/configuration.md)."
    )

# GENERAL
# ------------------------------------------------------------------------------
DEBUG = False
SECRET_KEY = env.str("DJANGO_SECRET_KEY")
ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS")

# TOKENS
# ------------------------------------------------------------------------------
JWT_ISSUER = env.str("JWT_ISSUER")
JWT_AUDIENCE = env.str("JWT_AUDIENCE")
SIMPLE_JWT = {**SIMPLE_JWT, "ISSUER": JWT_ISSUER, "AUDIENCE": JWT_AUDIENCE}

# SECURITY (behind a TLS-terminating proxy)
# ------------------------------------------------------------------------------
# https://docs.djangoproject.com/en/5.2/ref/settings/#secure-proxy-ssl-header
# The proxy terminates TLS and says so in X-Forwarded-Proto. The service never redirects to HTTPS itself
# (check --deploy W008): an API client does not follow a redirect with its credentials, and plain HTTP
# must never reach the service from outside in the first place.
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = False
# HSTS is sent only on requests that arrived over HTTPS. Preload (check --deploy W021) is left to the
# owner of the domain: it is a commitment for every subdomain that cannot be taken back quickly.
SECURE_HSTS_SECONDS = env.int("DJANGO_SECURE_HSTS_SECONDS", default=31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("DJANGO_SECURE_HSTS_INCLUDE_SUBDOMAINS", default=True)
SECURE_HSTS_PRELOAD = env.bool("DJANGO_SECURE_HSTS_PRELOAD", default=False)
# Only the admin uses cookies; they travel over HTTPS unless a plain-HTTP deploy (the local stack's production
# mode) turns this off.
SESSION_COOKIE_SECURE = env.bool("DJANGO_SECURE_COOKIES", default=True)
CSRF_COOKIE_SECURE = env.bool("DJANGO_SECURE_COOKIES", default=True)

# Both are deliberate and explained above and in docs/configuration.md, so `check --deploy` stays clean.
SILENCED_SYSTEM_CHECKS = ["security.W008", "security.W021"]
