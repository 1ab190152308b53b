"""Development settings: debug pages, and the browsable API with its browser sign-in by cookie (todos.browser)."""

from .base import *  # noqa: F403
from .base import BASE_DIR, REST_FRAMEWORK, env

DEBUG = env.bool("DJANGO_DEBUG", default=True)

BROWSABLE_API = True
REST_FRAMEWORK = {
    **REST_FRAMEWORK,
    # Bearer first: its challenge is the one a 401 carries.
    "DEFAULT_AUTHENTICATION_CLASSES": [
        *REST_FRAMEWORK["DEFAULT_AUTHENTICATION_CLASSES"],
        "todos.browser.BrowserCookieAuthentication",
    ],
    "DEFAULT_RENDERER_CLASSES": [
        "rest_framework.renderers.JSONRenderer",
        "rest_framework.renderers.BrowsableAPIRenderer",
    ],
    # The browsable API's HTML forms post form data.
    "DEFAULT_PARSER_CLASSES": [
        *REST_FRAMEWORK["DEFAULT_PARSER_CLASSES"],
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
}

# The local stack's keyring (scripts/stack.py writes it under the repository's var/keys/).
JWT_JWKS_FILE = env.str("JWT_JWKS_FILE", default=str(BASE_DIR.parent / "var" / "keys" / "jwks.json"))

# Static files straight from the apps' folders, no collectstatic needed.
WHITENOISE_AUTOREFRESH = True
WHITENOISE_USE_FINDERS = True
