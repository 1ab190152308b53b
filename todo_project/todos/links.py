"""Absolute URLs in bodies and headers (`url`, `next`, `previous`, `Location`), from the public base URL when set."""

from django.conf import settings
from django.http import HttpRequest


def absolute_url(request: HttpRequest, location: str | None = None) -> str:
    """The absolute URL of `location` (default: the request's own path and query).

    With PUBLIC_BASE_URL set, the scheme, host and port come from it, never from the Host a client sent.
    """
    if not settings.PUBLIC_BASE_URL:
        return request.build_absolute_uri(location)
    return settings.PUBLIC_BASE_URL.rstrip("/") + (location if location is not None else request.get_full_path())
