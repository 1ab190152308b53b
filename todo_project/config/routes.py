"""The one trailing-slash rule: every route answers with and without its trailing slash, POST included, no redirect."""

import functools
from collections.abc import Callable
from http import HTTPStatus
from typing import Any

from django.http import HttpRequest, HttpResponse, JsonResponse
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


PAGE_METHODS = "GET, HEAD, OPTIONS"


def read_only_page(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """A page that only GET and HEAD read (the schema, the docs): OPTIONS is a 204 and any other method a JSON 405,
    both naming the methods in Allow. The pages' own renderers are YAML and HTML, so DRF's 405 came as YAML or an HTML
    page, and an OPTIONS could not be rendered at all (a 500)."""

    @functools.wraps(view)
    def page(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if request.method in ("GET", "HEAD"):
            return view(request, *args, **kwargs)
        if request.method == "OPTIONS":
            response = HttpResponse(status=HTTPStatus.NO_CONTENT)
            del response["Content-Type"]  # no body, so no type (HttpResponse starts with text/html)
        else:
            detail = f'Method "{request.method}" not allowed.'
            response = JsonResponse({"detail": detail}, status=HTTPStatus.METHOD_NOT_ALLOWED)
        response["Allow"] = PAGE_METHODS
        return response

    return page
