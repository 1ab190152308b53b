"""Development settings: DEBUG and the browsable API."""

import os

from .base import *  # noqa: F403
from .base import BASE_DIR, REST_FRAMEWORK

DEBUG = True

REST_FRAMEWORK = {
    **REST_FRAMEWORK,
    "DEFAULT_RENDERER_CLASSES": [
        "rest_framework.renderers.JSONRenderer",
        "rest_framework.renderers.BrowsableAPIRenderer",
    ],
}

# The local stack's keyring (scripts/stack.py writes it under the repository's var/keys/).
JWT_JWKS_FILE = os.environ.get("JWT_JWKS_FILE", str(BASE_DIR.parent / "var" / "keys" / "jwks.json"))

# Static files straight from the apps' folders, no collectstatic needed.
WHITENOISE_AUTOREFRESH = True
WHITENOISE_USE_FINDERS = True
