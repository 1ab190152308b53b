"""Settings shared by every environment; deploy-time values come from the environment (docs/configuration.md)."""

import ipaddress
from datetime import timedelta
from pathlib import Path

import environ

BASE_DIR = Path(__file__).resolve().parent.parent.parent

# https://django-environ.readthedocs.io/en/latest/
env = environ.Env()


def env_list(name: str, default: str = "") -> list[str]:
    """A comma-separated variable as a list, each item stripped and empty items dropped ("a, b," is ["a", "b"])."""
    return [item.strip() for item in env.list(name, default=default.split(",")) if item.strip()]


# GENERAL
# ------------------------------------------------------------------------------
SECRET_KEY = env.str("DJANGO_SECRET_KEY", default="insecure-development-key-never-use-in-production")
DEBUG = env.bool("DJANGO_DEBUG", default=False)
ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS", "localhost,127.0.0.1,[::1]")
CSRF_TRUSTED_ORIGINS = env_list("DJANGO_CSRF_TRUSTED_ORIGINS")

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"
# The service owns /auth/ and answers with and without a trailing slash itself, so no redirects.
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
    "rest_framework_simplejwt.token_blacklist",
    "drf_spectacular",
    "drf_spectacular_sidecar",
]
LOCAL_APPS = ["accounts"]
INSTALLED_APPS = DJANGO_APPS + THIRD_PARTY_APPS + LOCAL_APPS

AUTH_USER_MODEL = "accounts.User"

# MIDDLEWARE
# ------------------------------------------------------------------------------
MIDDLEWARE = [
    # Outermost, so it counts and times every answer, the guards' refusals included.
    "config.metrics.MetricsMiddleware",
    "config.middleware.RequestIdMiddleware",
    # Before anything reads the Host (CommonMiddleware does): a foreign Host is a JSON 400 even with DEBUG on.
    "config.guards.AllowedHostMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "corsheaders.middleware.CorsMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # Django's, with the message storage made only when used (only the admin uses it).
    "config.middleware.LazyMessageMiddleware",
    "config.guards.QueryParameterMiddleware",
]

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

# CACHE
# ------------------------------------------------------------------------------
# Login throttle counters must be shared by every worker: Redis when configured, else a database table
# (created by accounts migration 0002) with an atomic increment.
REDIS_URL = env.str("REDIS_URL", default="")
if REDIS_URL:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}}
else:
    CACHES = {"default": {"BACKEND": "accounts.cache.LockingDatabaseCache", "LOCATION": "auth_cache"}}

# PASSWORDS
# ------------------------------------------------------------------------------
# Argon2id at OWASP's minimum cost first; PBKDF2 stays so older hashes still verify and get upgraded.
PASSWORD_HASHERS = [
    "accounts.hashers.Argon2idPasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2SHA1PasswordHasher",
]
# Also the new-password fields' minLength in the OpenAPI schema (accounts.serializers).
PASSWORD_MIN_LENGTH = 12
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": PASSWORD_MIN_LENGTH},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
    {"NAME": "accounts.password_validation.DistinctCharactersValidator"},
]

# LOGIN THROTTLING
# ------------------------------------------------------------------------------
# django-ratelimit rates ("count/period"); failed logins (API, admin, a wrong old password) spend every budget,
# an empty value turns a limit off. Why three budgets: accounts.throttling and docs/api.md.
AUTHENTICATION_BACKENDS = ["accounts.backends.ThrottledModelBackend"]
LOGIN_RATE_PER_USERNAME_AND_IP = env.str("LOGIN_RATE_PER_USERNAME_AND_IP", default="5/m")
LOGIN_RATE_PER_USERNAME = env.str("LOGIN_RATE_PER_USERNAME", default="100/h")
LOGIN_RATE_PER_IP = env.str("LOGIN_RATE_PER_IP", default="30/m")
RATELIMIT_USE_CACHE = "default"
RATELIMIT_IP_META_KEY = "config.middleware.ratelimit_client_ip"
# Only the gateway may name the client (X-Real-IP); anybody else is taken at REMOTE_ADDR. Addresses or networks
# (a Kubernetes pod network, where the gateway's address changes), as gunicorn's forwarded_allow_ips takes them.
# The word "unix" among them trusts a peer on a Unix socket as well (it has no address): the local stack's gateway
# reaches gunicorn through one (docs/gateway.md), which anyone who may open the socket could do too.
_TRUSTED_PROXIES = env_list("TRUSTED_PROXY_IPS", "127.0.0.1,::1")
TRUSTED_PROXY_UNIX_SOCKET = any(item.lower() == "unix" for item in _TRUSTED_PROXIES)
TRUSTED_PROXY_IPS = tuple(
    ipaddress.ip_network(item, strict=False) for item in _TRUSTED_PROXIES if item.lower() != "unix"
)

# Where a login goes when it names no safe page to return to (an admin login whose ?next= Django refused): the admin's
# index, not Django's default profile page, which no route serves.
LOGIN_REDIRECT_URL = "admin:index"

# STATIC FILES
# ------------------------------------------------------------------------------
STATIC_URL = "/auth/static/"
STATIC_ROOT = Path(env.str("DJANGO_STATIC_ROOT", default=str(BASE_DIR / "var" / "static")))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}

# REQUEST LIMITS
# ------------------------------------------------------------------------------
# Auth requests are a few hundred bytes; anything far larger is refused with a JSON 413.
DATA_UPLOAD_MAX_MEMORY_SIZE = env.int("DJANGO_DATA_UPLOAD_MAX_MEMORY_SIZE", default=64 * 1024)
CSRF_FAILURE_VIEW = "config.errors.csrf_failure"

# CORS
# ------------------------------------------------------------------------------
# The gateway owns CORS; this is only for running the service alone.
CORS_ALLOWED_ORIGINS = env_list("CORS_ALLOWED_ORIGINS")
CORS_URLS_REGEX = r"^/auth/.*$"

# DJANGO REST FRAMEWORK
# ------------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["rest_framework_simplejwt.authentication.JWTAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PARSER_CLASSES": ["config.parsers.StrictJSONParser"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_THROTTLE_CLASSES": [],
    "DEFAULT_SCHEMA_CLASS": "config.schema.AutoSchema",
    "EXCEPTION_HANDLER": "config.errors.api_exception_handler",
    "UNAUTHENTICATED_USER": None,
}

# The browsable API and its browser sign-in by cookie (accounts.browser): development settings only.
BROWSABLE_API = False

# API SCHEMA
# ------------------------------------------------------------------------------
SPECTACULAR_SETTINGS = {
    "TITLE": "Auth service",
    "DESCRIPTION": "Registration, login, RS256 JWTs and the JWKS of the todo-microservices stack.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_AUTHENTICATION": [],
    "SERVE_PERMISSIONS": ["rest_framework.permissions.AllowAny"],
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
    "PARSER_WHITELIST": ["config.parsers.StrictJSONParser"],
    "AUTHENTICATION_WHITELIST": ["rest_framework_simplejwt.authentication.JWTAuthentication"],
    "POSTPROCESSING_HOOKS": ["drf_spectacular.hooks.postprocess_schema_enums", "config.schema.document_every_error"],
    "PREPROCESSING_HOOKS": ["config.schema.drop_slashless_duplicates"],
}

# TOKENS
# ------------------------------------------------------------------------------
# The keyring folder (docs/architecture.md, "The keyring"); re-read when keyring.json changes.
JWT_KEYS_DIR = Path(env.str("JWT_KEYS_DIR", default=str(BASE_DIR / "var" / "keys")))
JWT_KEYRING_CHECK_INTERVAL = env.float("JWT_KEYRING_CHECK_INTERVAL", default=1.0)
JWT_KEY_SIZE = env.int("JWT_KEY_SIZE", default=2048)
JWT_JWKS_MAX_AGE = env.int("JWT_JWKS_MAX_AGE", default=300)
JWT_ISSUER = env.str("JWT_ISSUER", default="todo-microservices-auth")
JWT_AUDIENCE = env.str("JWT_AUDIENCE", default="todo-microservices")
JWT_ACCESS_TOKEN_LIFETIME = env.int("JWT_ACCESS_TOKEN_LIFETIME", default=5 * 60)
JWT_REFRESH_TOKEN_LIFETIME = env.int("JWT_REFRESH_TOKEN_LIFETIME", default=24 * 60 * 60)
JWT_LEEWAY = env.int("JWT_LEEWAY", default=0)

# https://django-rest-framework-simplejwt.readthedocs.io/en/latest/settings.html
SIMPLE_JWT = {
    "ALGORITHM": "RS256",
    # Tokens are signed by accounts.tokens with the keyring's active key; never fall back to SECRET_KEY.
    "SIGNING_KEY": None,
    "VERIFYING_KEY": None,
    "ISSUER": JWT_ISSUER,
    "AUDIENCE": JWT_AUDIENCE,
    "LEEWAY": JWT_LEEWAY,
    "ACCESS_TOKEN_LIFETIME": timedelta(seconds=JWT_ACCESS_TOKEN_LIFETIME),
    "REFRESH_TOKEN_LIFETIME": timedelta(seconds=JWT_REFRESH_TOKEN_LIFETIME),
    "ROTATE_REFRESH_TOKENS": True,
    "BLACKLIST_AFTER_ROTATION": True,
    # PyJWT >= 2.10 requires a string "sub"; SimpleJWT writes str(user.id) there.
    "USER_ID_FIELD": "id",
    "USER_ID_CLAIM": "sub",
    "AUTH_TOKEN_CLASSES": ("accounts.tokens.AccessToken",),
    "AUTH_HEADER_TYPES": ("Bearer",),
}

# EVENTS (docs/events.md)
# ------------------------------------------------------------------------------
# The relay (manage.py outbox_relay) publishes the outbox's rows to this durable topic exchange.
AMQP_URL = env.str("AMQP_URL", default="amqp://guest:guest@127.0.0.1:5672/%2F")
EVENTS_EXCHANGE = "auth.events"
OUTBOX_BATCH_SIZE = env.int("OUTBOX_BATCH_SIZE", default=100)
OUTBOX_POLL_INTERVAL = env.float("OUTBOX_POLL_INTERVAL", default=0.5)
OUTBOX_RETRY_MAX_DELAY = env.float("OUTBOX_RETRY_MAX_DELAY", default=30.0)
OUTBOX_RETENTION = env.int("OUTBOX_RETENTION", default=7 * 24 * 60 * 60)

# METRICS (docs/observability.md)
# ------------------------------------------------------------------------------
# host:port where the relay serves Prometheus metrics (gunicorn.conf.py reads the same variable for the web
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
