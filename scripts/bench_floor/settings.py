"""Settings of the floor: the fewest Django and DRF need to list rows as JSON, nothing the todo service adds.

No authentication, no middleware, no pagination: one query and the rendering, under `gunicorn -w 2`, on the same
PostgreSQL database as the benchmark's todo service (BENCH_FLOOR_DATABASE_URL), so every list ratio in
docs/benchmarks.md reads against what the framework alone costs.
"""

import os
from urllib.parse import unquote, urlsplit

SECRET_KEY = "bench-floor-not-a-secret"
DEBUG = False
ALLOWED_HOSTS = ["*"]
INSTALLED_APPS = ["django.contrib.contenttypes", "rest_framework", "bench_floor"]
MIDDLEWARE: list[str] = []
ROOT_URLCONF = "bench_floor.urls"
WSGI_APPLICATION = "bench_floor.wsgi.application"
# Persistent connections, as the todo service has: a connection per request would measure PostgreSQL's start-up.
# The URL parsed here, not by a library: the floor must not depend on how the services read theirs.
_url = urlsplit(os.environ["BENCH_FLOOR_DATABASE_URL"])
DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": _url.path.lstrip("/"),
        "USER": unquote(_url.username or ""),
        "PASSWORD": unquote(_url.password or ""),
        "HOST": _url.hostname or "",
        "PORT": str(_url.port or ""),
        "CONN_MAX_AGE": 60,
    }
}
USE_TZ = True
TIME_ZONE = "UTC"
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [],
    "DEFAULT_PERMISSION_CLASSES": [],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "UNAUTHENTICATED_USER": None,
}
# The rows of one owner, as many as the benchmark's list page shows.
FLOOR_OWNER_ID = os.environ.get("BENCH_FLOOR_OWNER_ID", "")
FLOOR_ROWS = int(os.environ.get("BENCH_FLOOR_ROWS", "20"))
