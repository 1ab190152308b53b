"""Test settings: a cheap password hasher, plain static storage, keys supplied by the tests' fixtures."""

from .base import *  # noqa: F403
from .base import ALLOWED_HOSTS

ALLOWED_HOSTS = [*ALLOWED_HOSTS, "testserver"]

# Hashing cost is checked by its own test against the base settings; the rest need speed.
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

# The manifest needs collectstatic; tests render the admin and docs pages without it.
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}

# Static files straight from the apps' folders, as in development: tests never run collectstatic.
WHITENOISE_AUTOREFRESH = True
WHITENOISE_USE_FINDERS = True

# Keys come from the tests' fixtures, never from a file or the auth service.
JWT_JWKS_FILE = ""
JWT_PUBLIC_KEY_FILES: list[str] = []
JWT_JWKS_URL = ""

if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":  # noqa: F405
    # Tests that race threads need a file: an in-memory database's shared cache fails with "table is locked" at
    # once, where a file waits for the lock as the real one does.
    DATABASES["default"]["TEST"] = {"NAME": str(BASE_DIR / "var" / "test-db.sqlite3")}  # noqa: F405
