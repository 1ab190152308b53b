"""Production settings: every secret and per-deploy value must come from the environment."""

import os

from django.core.exceptions import ImproperlyConfigured

from .base import *  # noqa: F403
from .base import SIMPLE_JWT, env_list


def required_env(name: str) -> str:
    """Return an environment variable, or stop the start with a message naming it."""
    value = os.environ.get(name, "").strip()
    if not value:
        raise ImproperlyConfigured(f"{name} must be set in production (see docs/configuration.md).")
    return value


DEBUG = False
SECRET_KEY = required_env("DJANGO_SECRET_KEY")
required_env("DJANGO_ALLOWED_HOSTS")
ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS")
JWT_ISSUER = required_env("JWT_ISSUER")
JWT_AUDIENCE = required_env("JWT_AUDIENCE")
SIMPLE_JWT = {**SIMPLE_JWT, "ISSUER": JWT_ISSUER, "AUDIENCE": JWT_AUDIENCE}

# The gateway is reached over HTTPS through a TLS-terminating proxy; cookies (admin only) stay on HTTPS.
# DJANGO_SECURE_COOKIES=false is for the local stack's production mode, which speaks plain HTTP.
SECURE_COOKIES = os.environ.get("DJANGO_SECURE_COOKIES", "true").strip().lower() not in {"0", "false", "no", "off"}
SESSION_COOKIE_SECURE = SECURE_COOKIES
CSRF_COOKIE_SECURE = SECURE_COOKIES
SECURE_HSTS_SECONDS = int(os.environ.get("DJANGO_SECURE_HSTS_SECONDS", "31536000"))
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_HSTS_PRELOAD = False
# security.W008: no HTTPS redirect here. TLS ends in front of the gateway, the gateway talks plain HTTP to this
# service, and an API client should get an error rather than a redirect that would replay its request.
# security.W021: HSTS preload commits the whole domain; its owner decides that, not this service.
SECURE_SSL_REDIRECT = False
SILENCED_SYSTEM_CHECKS = ["security.W008", "security.W021"]
