"""Settings shared by every environment; deploy-time values come from the environment (docs/configuration.md)."""

import ipaddress
from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent.parent

# https://django-environ.readthedocs.io/en/latest/
env = environ.Env()


def env_list(name: str, default: str = "") -> list[str]:
    """A comma-separated variable as a list, each item stripped and empty items dropped ("a, b," is ["a", "b"])."""
    return [item.strip() for item in env.list(name, default=default.split(",")) if item.strip()]


# GENERAL
# ------------------------------------------------------------------------------
SECRET_KEY = env.str("DJANGO_SECRET_KEY", default="django-insecure-todo-development-key-not-for-production")
DEBUG = env.bool("DJANGO_DEBUG", default=False)
ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS", "localhost,127.0.0.1,[::1]")
CSRF_TRUSTED_ORIGINS = env_list("DJANGO_CSRF_TRUSTED_ORIGINS")

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"
# The service owns /todos/ and answers with and without a trailing slash itself, so no redirects.
APPEND_SLASH = False

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = False
USE_TZ = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# APPS
# ------------------------------------------------------------------------------
DJANGO_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
]
THIRD_PARTY_APPS = [
    "corsheaders",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
]
LOCAL_APPS = ["todos"]
INSTALLED_APPS = DJANGO_APPS + THIRD_PARTY_APPS + LOCAL_APPS

# MIDDLEWARE
# ------------------------------------------------------------------------------
# Kept short: this stack runs on every request of the list benchmark. Sessions, CSRF, auth and messages serve
# the operators' admin only; each is lazy and costs next to nothing on API requests.
MIDDLEWARE = [
    # Outermost, so it counts and times every answer, the guards' refusals included.
    "config.metrics.MetricsMiddleware",
    "config.middleware.RequestIdMiddleware",
    # Before anything reads the Host (CommonMiddleware does): a foreign Host is a JSON 400 even with DEBUG on.
    "config.guards.AllowedHostMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # A polling client's 304 for its list, answered here with the view's own checks: everything above it (counted,
    # logged, host checked, every security header) applies to it; nothing below does (todos.middleware).
    "todos.middleware.ConditionalListMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # Django's, with the message storage made only when used (only the admin uses it).
    "config.middleware.LazyMessageMiddleware",
    "config.guards.QueryParameterMiddleware",
]

# CORS lives in the gateway; the service adds it only when run alone with CORS_ALLOWED_ORIGINS set.
CORS_ALLOWED_ORIGINS = env_list("CORS_ALLOWED_ORIGINS")
if CORS_ALLOWED_ORIGINS:
    MIDDLEWARE.insert(
        MIDDLEWARE.index("django.middleware.common.CommonMiddleware"), "corsheaders.middleware.CorsMiddleware"
    )

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
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

# DATABASE
# ------------------------------------------------------------------------------
# https://docs.djangoproject.com/en/5.2/ref/databases/#persistent-connections
DB_CONN_MAX_AGE = env.int("DB_CONN_MAX_AGE", default=60)
DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'var' / 'db.sqlite3'}")}
DATABASES["default"].update(CONN_MAX_AGE=DB_CONN_MAX_AGE, CONN_HEALTH_CHECKS=True)
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    Path(DATABASES["default"]["NAME"]).parent.mkdir(parents=True, exist_ok=True)
    # Concurrent gunicorn writers need WAL, a busy timeout and write locks taken at BEGIN.
    DATABASES["default"]["OPTIONS"] = {
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
else:
    # A health check must answer 503 quickly when the database is unreachable, not hang.
    DATABASES["default"].setdefault("OPTIONS", {})["connect_timeout"] = env.int("DB_CONNECT_TIMEOUT", default=5)
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # The same backend with a health check that skips the ping for a connection that just worked.
    DATABASES["default"]["ENGINE"] = "config.postgresql"
    # Server-side binding with a prepare threshold: psycopg prepares a query it has run five times on a
    # connection, so PostgreSQL stops planning the list's query afresh on every request (planning is a large share
    # of that query's time: docs/benchmarks.md).
    # https://docs.djangoproject.com/en/5.2/ref/databases/#server-side-parameters-binding
    DATABASES["default"]["OPTIONS"].update(server_side_binding=True, prepare_threshold=5)

# SECURITY
# ------------------------------------------------------------------------------
# Failed admin logins spend the budgets the auth service's logins have (todos.throttling, docs/api.md), counted in a
# database table every worker and instance shares (created by todos migration 0004).
AUTHENTICATION_BACKENDS = ["todos.backends.ThrottledModelBackend"]
CACHES = {"default": {"BACKEND": "todos.cache.LockingDatabaseCache", "LOCATION": "todo_cache"}}
RATELIMIT_USE_CACHE = "default"
LOGIN_RATE_PER_USERNAME_AND_IP = env.str("LOGIN_RATE_PER_USERNAME_AND_IP", default="5/m")
LOGIN_RATE_PER_USERNAME = env.str("LOGIN_RATE_PER_USERNAME", default="100/h")
LOGIN_RATE_PER_IP = env.str("LOGIN_RATE_PER_IP", default="30/m")
# Addresses or networks of the gateway (a Kubernetes pod network, where its address changes): only their X-Real-IP
# is believed (request logs) and only they may set X-Forwarded-*, as gunicorn's forwarded_allow_ips takes them.
# The word "unix" among them trusts a peer on a Unix socket as well (it has no address): the local stack's gateway
# reaches gunicorn through one (docs/gateway.md), which anyone who may open the socket could do too.
_TRUSTED_PROXIES = env_list("TRUSTED_PROXY_IPS", "127.0.0.1,::1")
TRUSTED_PROXY_UNIX_SOCKET = any(item.lower() == "unix" for item in _TRUSTED_PROXIES)
TRUSTED_PROXY_IPS = tuple(
    ipaddress.ip_network(item, strict=False) for item in _TRUSTED_PROXIES if item.lower() != "unix"
)
# TLS ends at the proxy in front of the gateway, which says so with X-Forwarded-Proto.
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
    {"NAME": "todos.password_validation.DistinctCharactersValidator"},
]

# Where a login goes when it names no safe page to return to (an admin login whose ?next= Django refused): the admin's
# index, not Django's default profile page, which no route serves.
LOGIN_REDIRECT_URL = "admin:index"

# STATIC FILES
# ------------------------------------------------------------------------------
STATIC_URL = "/todos/static/"
STATIC_ROOT = Path(env.str("DJANGO_STATIC_ROOT", default=str(BASE_DIR / "var" / "static")))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}

# REQUEST LIMITS
# ------------------------------------------------------------------------------
# A todo is at most ~11,000 characters; even fully \u-escaped JSON stays well under this. Larger bodies get a JSON 413.
DATA_UPLOAD_MAX_MEMORY_SIZE = env.int("DJANGO_DATA_UPLOAD_MAX_MEMORY_SIZE", default=256 * 1024)
CSRF_FAILURE_VIEW = "config.errors.csrf_failure"

# DJANGO REST FRAMEWORK
# ------------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["todos.authentication.KeyringJWTAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PARSER_CLASSES": ["todos.parsers.StrictJSONParser"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PAGINATION_CLASS": "todos.pagination.TodoPagination",
    "PAGE_SIZE": 20,
    # Timestamps always in UTC with microseconds, so every todo's times have one shape (and the list's SQL can
    # produce the same text: todos.selectors).
    "DATETIME_FORMAT": "%Y-%m-%dT%H:%M:%S.%fZ",
    "EXCEPTION_HANDLER": "config.errors.api_exception_handler",
    "DEFAULT_SCHEMA_CLASS": "config.schema.AutoSchema",
}

# Scheme, host and port of the absolute URLs in bodies and headers (the gateway's public address, e.g.
# https://todo.example.com); empty: taken from the request's Host, which a client chooses.
PUBLIC_BASE_URL = env.str("PUBLIC_BASE_URL", default="")

# Bytes of rendered list pages each worker keeps (todos.conditional), so a page asked for again before any of its
# owner's todos changes is sent without its query and rendering; 0 keeps none: every list request renders its page.
TODO_LIST_PAGE_CACHE_BYTES = env.int("TODO_LIST_PAGE_CACHE_BYTES", default=4 * 1024 * 1024)
if TODO_LIST_PAGE_CACHE_BYTES < 0:
    raise ImproperlyConfigured("TODO_LIST_PAGE_CACHE_BYTES must be 0 (no cache) or a number of bytes.")

# The browsable API and its browser sign-in by cookie (todos.browser): development settings only.
BROWSABLE_API = False

# API SCHEMA
# ------------------------------------------------------------------------------
SPECTACULAR_SETTINGS = {
    "TITLE": "Todo service API",
    "DESCRIPTION": "The caller's todos. Send `Authorization: Bearer <access token>` from the auth service.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    # Swagger UI assets come from drf-spectacular-sidecar through whitenoise: no CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # Request and response bodies are separate components, so a generated client never sends read-only fields.
    "COMPONENT_SPLIT_REQUEST": True,
    # config.routes' case-insensitive UUID converter is still a UUID in the schema.
    "PATH_CONVERTER_OVERRIDES": {"anycase_uuid": {"type": "string", "format": "uuid"}},
    # The schema is the same in every setting: the browsable API's cookie and form bodies (development only) are
    # not part of the API.
    "PARSER_WHITELIST": ["todos.parsers.StrictJSONParser"],
    "AUTHENTICATION_WHITELIST": ["todos.authentication.KeyringJWTAuthentication"],
    "POSTPROCESSING_HOOKS": ["drf_spectacular.hooks.postprocess_schema_enums", "config.schema.document_every_error"],
    "PREPROCESSING_HOOKS": ["config.schema.drop_slashless_duplicates"],
}

# TOKENS (verified only: this service never signs)
# ------------------------------------------------------------------------------
JWT_ISSUER = env.str("JWT_ISSUER", default="todo-microservices-auth")
JWT_AUDIENCE = env.str("JWT_AUDIENCE", default="todo-microservices")
JWT_JWKS_FILE = env.str("JWT_JWKS_FILE", default="")
JWT_PUBLIC_KEY_FILES = env_list("JWT_PUBLIC_KEY_FILES")
JWT_JWKS_URL = env.str("JWT_JWKS_URL", default="")
JWT_JWKS_TIMEOUT = env.float("JWT_JWKS_TIMEOUT", default=2.0)
JWT_JWKS_REFRESH_INTERVAL = env.float("JWT_JWKS_REFRESH_INTERVAL", default=300.0)
JWT_JWKS_MIN_REFETCH_INTERVAL = env.float("JWT_JWKS_MIN_REFETCH_INTERVAL", default=10.0)
# Seconds of clock skew allowed on exp, nbf and iat: the verifier is where clock skew matters.
JWT_LEEWAY = env.int("JWT_LEEWAY", default=0)

# https://django-rest-framework-simplejwt.readthedocs.io/en/latest/settings.html
# The verifying key is picked per token by kid from the keyring (todos.authentication), not from VERIFYING_KEY.
SIMPLE_JWT = {
    "ALGORITHM": "RS256",
    "SIGNING_KEY": None,
    "VERIFYING_KEY": None,
    "ISSUER": JWT_ISSUER,
    "AUDIENCE": JWT_AUDIENCE,
    "LEEWAY": JWT_LEEWAY,
    "AUTH_HEADER_TYPES": ("Bearer",),
    "USER_ID_CLAIM": "sub",
    "TOKEN_TYPE_CLAIM": "token_type",
    "AUTH_TOKEN_CLASSES": ("todos.authentication.KeyringAccessToken",),
}

# EVENTS (docs/events.md)
# ------------------------------------------------------------------------------
# manage.py consume_events applies the auth service's account events from this queue, bound to its exchange.
AMQP_URL = env.str("AMQP_URL", default="amqp://guest:guest@127.0.0.1:5672/%2F")
EVENTS_EXCHANGE = "auth.events"
EVENTS_QUEUE = "todo.account-events"
EVENTS_DEAD_LETTER_QUEUE = f"{EVENTS_QUEUE}.dead-letter"
# Attempts of an event whose handler fails for another reason than an unavailable database, before it is dead-lettered.
EVENTS_MAX_ATTEMPTS = env.int("EVENTS_MAX_ATTEMPTS", default=5)
EVENTS_RETRY_MAX_DELAY = env.float("EVENTS_RETRY_MAX_DELAY", default=30.0)

# IDEMPOTENCY-KEY (docs/api.md, "Retrying writes safely")
# ------------------------------------------------------------------------------
# Seconds a key and its stored response are kept (at least a day, as clients retrying after an outage expect);
# expired keys are pruned on write and by manage.py prune_idempotency_keys.
IDEMPOTENCY_KEY_RETENTION = env.int("IDEMPOTENCY_KEY_RETENTION", default=24 * 60 * 60)
# Seconds after which a key whose first request never finished (its process died) may be claimed again.
IDEMPOTENCY_IN_PROGRESS_TIMEOUT = env.int("IDEMPOTENCY_IN_PROGRESS_TIMEOUT", default=60)

# METRICS (docs/observability.md)
# ------------------------------------------------------------------------------
# host:port where the consumer serves Prometheus metrics (gunicorn.conf.py reads the same variable for the web
# process); empty: none. Never an address the gateway routes to.
METRICS_BIND = env.str("METRICS_BIND", default="")

# LOGGING
# ------------------------------------------------------------------------------
# One JSON object per line on stderr; every record written while serving a request carries its request_id.
LOG_LEVEL = env.str("DJANGO_LOG_LEVEL", default="INFO")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"request_id": {"()": "config.logs.RequestIdFilter"}},
    "formatters": {"json": {"()": "config.logs.JsonFormatter"}},
    "handlers": {
        "stderr": {
            "class": "logging.StreamHandler",
            "stream": "ext://sys.stderr",
            "filters": ["request_id"],
            "formatter": "json",
        },
        "discard": {"class": "logging.NullHandler"},
    },
    "root": {"handlers": ["stderr"], "level": LOG_LEVEL},
    "loggers": {
        # The access line already records every 4xx; keep django.request for server errors.
        "django.request": {"level": "ERROR"},
        # pika logs every step of every connection at INFO; the relay and the consumer log what matters themselves.
        "pika": {"level": "WARNING"},
        "django.server": {"level": "WARNING"},
        # A bad Host header already shows as a 400 access line; its traceback is noise anybody can trigger.
        # (A NullHandler: with no handler at all, Python's last-resort handler would print it to stderr.)
        "django.security.DisallowedHost": {"handlers": ["discard"], "propagate": False},
    },
}
