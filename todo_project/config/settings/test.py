"""Test settings: fast password hashing, the browsable API off, keys supplied by the tests' fixtures."""

from .base import *  # noqa: F403

ALLOWED_HOSTS = ["testserver", "localhost", "127.0.0.1"]
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
# The manifest needs collectstatic; tests render the admin and docs pages without it.
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
JWT_JWKS_FILE = ""
JWT_PUBLIC_KEY_FILES: list[str] = []
JWT_JWKS_URL = ""
# Static files straight from the apps' folders, no collectstatic needed.
WHITENOISE_AUTOREFRESH = True
WHITENOISE_USE_FINDERS = True

if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":  # noqa: F405
    # Tests that race threads need a file: an in-memory database's shared cache fails with "table is locked" at
    # once, where a file waits for the lock as the real one does.
    DATABASES["default"]["TEST"] = {"NAME": str(VAR_DIR / "test-db.sqlite3")}  # noqa: F405
