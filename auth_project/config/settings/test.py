"""Test settings: a cheap password hasher and plain static storage; everything else as in base."""

from .base import *  # noqa: F403
from .base import ALLOWED_HOSTS

ALLOWED_HOSTS = [*ALLOWED_HOSTS, "testserver"]

# Hashing cost is checked by its own test against the base settings; the rest need speed.
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}

# Tests rotate keys in-process and expect the next token to see it.
JWT_KEYRING_CHECK_INTERVAL = 0.0

# Serve static files straight from the apps, as in development: tests never run collectstatic.
WHITENOISE_USE_FINDERS = True
