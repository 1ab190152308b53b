"""Refusals made before any view runs, as JSON 400s: a Host not allowed, and query parameters a view does not take."""

from collections.abc import Callable
from http import HTTPStatus
from typing import Any

from django.conf import settings
from django.core.exceptions import DisallowedHost
from django.http import HttpRequest, HttpResponse, JsonResponse
from rest_framework.settings import api_settings


class AllowedHostMiddleware:
    """A Host outside ALLOWED_HOSTS is a JSON 400 in every setting (with DEBUG on, Django would answer HTML)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        try:
            request.get_host()
        except DisallowedHost:
            return JsonResponse({"detail": "Bad request."}, status=HTTPStatus.BAD_REQUEST)
        return self.get_response(request)


class QueryParameterMiddleware:
    """A query parameter the API view does not take is a 400 naming it: a typo must never widen what a request does.
    So is one given more than once: Django reads the last of them, which would narrow a filter the client widened
    (`DELETE /todos/?completed=true&completed=` deleted every todo).

    A view lists what it takes per method in `query_parameters` (DRF's `format` is always taken, and with the
    browsable API on, the `next` page of its log-in and log-out links); views without that attribute (the schema
    and docs pages, the admin) are left alone.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_view(
        self, request: HttpRequest, view_func: Callable, view_args: Any, view_kwargs: Any
    ) -> HttpResponse | None:
        taken = getattr(getattr(view_func, "cls", None), "query_parameters", None)
        if taken is None or not request.GET:
            return None
        detail = query_parameters_refusal(request, taken)
        return None if detail is None else JsonResponse({"detail": detail}, status=HTTPStatus.BAD_REQUEST)


def query_parameters_refusal(request: HttpRequest, taken: dict[str, tuple[str, ...]]) -> str | None:
    """Why a view taking `taken` (its query_parameters) refuses the request's query parameters; None when it does not:
    a parameter it does not take, or one given more than once."""
    known = {*taken.get(request.method, ()), api_settings.URL_FORMAT_OVERRIDE}
    if settings.BROWSABLE_API:
        known.add("next")
    unknown = sorted(name for name in request.GET if name not in known)
    if unknown:
        accepted = ", ".join(sorted(taken.get(request.method, ()))) or "none"
        return f"Unknown query parameter: {', '.join(unknown)}. {request.method} {request.path} takes {accepted}."
    repeated = sorted(name for name, values in request.GET.lists() if len(values) > 1)
    if repeated:
        return f"Query parameter given more than once: {', '.join(repeated)}. Give each one once."
    return None
