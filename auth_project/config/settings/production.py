"""Production settings: required values come from the environment, and the service refuses to start without them."""

import os

from django.core.exceptions import ImproperlyConfigured

from .base import *  # noqa: F403
from .base import SIMPLE_JWT, env_bool, env_int, env_list

_REQUIRED = ("DJANGO_SECRET_KEY", "DJANGO_ALLOWED_HOSTS", "JWT_ISSUER", "JWT_AUDIENCE")
_missing = [name for name in _REQUIRED if not os.environ.get(name, "").strip()]
if _missing:
    raise ImproperlyConfigured(
        f"Production settings need these environment variables: {', '.join(_missing)} (see docs/configuration.md)."
    )

DEBUG = False
SECRET_KEY = os.environ["DJANGO_SECRET_KEY"]
ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS")
JWT_ISSUER = os.environ["JWT_ISSUER"]
JWT_AUDIENCE = os.environ["JWT_AUDIENCE"]
SIMPLE_JWT = {**SIMPLE_JWT, "ISSUER": JWT_ISSUER, "AUDIENCE": JWT_AUDIENCE}

# ------------------------------------------------------------------------------ behind a TLS-terminating proxy
# https://docs.djangoproject.com/en/5.2/ref/settings/#secure-proxy-ssl-header
# The proxy terminates TLS and says so in X-Forwarded-Proto. The service never redirects to HTTPS itself
# (check --deploy W008): an API client does not follow a redirect with its credentials, and plain HTTP
# must never reach the service from outside in the first place.
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = False
# HSTS is sent only on requests that arrived over HTTPS. Preload (check --deploy W021) is left to the
# owner of the domain: it is a commitment for every subdomain that cannot be taken back quickly.
SECURE_HSTS_SECONDS = env_int("DJANGO_SECURE_HSTS_SECONDS", 31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("DJANGO_SECURE_HSTS_INCLUDE_SUBDOMAINS", True)
SECURE_HSTS_PRELOAD = env_bool("DJANGO_SECURE_HSTS_PRELOAD", False)
# Only the admin uses cookies; they travel over HTTPS unless a plain-HTTP deploy turns this off.
SESSION_COOKIE_SECURE = env_bool("DJANGO_SECURE_COOKIES", True)
CSRF_COOKIE_SECURE = env_bool("DJANGO_SECURE_COOKIES", True)

# Both are deliberate and explained above and in docs/configuration.md, so `check --deploy` stays clean.
SILENCED_SYSTEM_CHECKS = ["security.W008", "security.W021"]
