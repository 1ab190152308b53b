"""The one trailing-slash rule: every route answers with and without its trailing slash, POST included, no redirect."""

from collections.abc import Callable
from typing import Any

from django.urls import URLPattern, converters, path, register_converter


class AnyCaseUUIDConverter(converters.UUIDConverter):
    """A UUID in either case (RFC 9562 says input may be upper case); Django's `uuid` takes lower case only."""

    regex = "[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"


register_converter(AnyCaseUUIDConverter, "anycase_uuid")


def with_and_without_slash(route: str, view: Callable[..., Any], name: str | None = None) -> list[URLPattern]:
    """The route as written (named) and its twin with the trailing slash added or removed (`APPEND_SLASH = False`:
    a redirect would drop a POST's body, and a client should not pay a round trip for a slash)."""
    twin = route[:-1] if route.endswith("/") else f"{route}/"
    return [path(route, view, name=name), path(twin, view)]
