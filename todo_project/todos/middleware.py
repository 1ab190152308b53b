"""The conditional list's 304, answered before URL routing and DRF run (docs/benchmarks.md, round five).

A client polling its list sends `GET /todos/` with the page's ETag in If-None-Match, and most of the time nothing
changed: the answer is a 304 without a body. Through the whole stack that 304 spent a third of the worker's
instructions in what only a page needs (the rest of Django's middleware, URL routing, DRF's request, negotiation
and dispatch).
This middleware answers it first, with the very checks the view runs, called from the same functions:

- the token check is `KeyringJWTAuthentication.authenticate` (signature, algorithm, expiry, issuer, audience, type,
  subject, and the account-state query that also reads the list stamp);
- the query parameters go through the guard's `query_parameters_refusal`, `todo_filters_from_query` and the
  pagination's `window_of`;
- the ETag is `conditional.list_etag` with the arguments the view gives it.

It only ever answers a 304. Any request it is not sure of (another path or method, an Accept or query parameter
the view would treat differently, a missing, refused or unreadable token, a stale ETag) goes on to the view as if
the middleware were not there; the token check's outcome goes with it (`authentication.settle_token_check`), so a
token is checked, queried and counted in the refusals metric once. The middleware sits after the host guard and
the security headers, so a 304 from here carries every header one from the view does; the tests in
tests/test_conditional_list_shortcut.py answer the same requests with and without it and compare them.
"""

import functools
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse, HttpResponseNotModified
from django.http.response import HttpResponseBase
from django.urls import get_resolver
from django.urls.resolvers import ResolverMatch, URLResolver
from django.utils.cache import patch_vary_headers
from rest_framework.exceptions import APIException
from rest_framework.permissions import IsAuthenticated
from rest_framework.renderers import JSONRenderer

from config.guards import query_parameters_refusal
from todos import conditional
from todos.apis import TodoListApi, etag_matches
from todos.authentication import KeyringJWTAuthentication, settle_token_check
from todos.filters import todo_filters_from_query
from todos.links import absolute_url
from todos.pagination import TodoPagination

LIST_PATH = "/todos/"
# The Accept headers for which DRF's negotiation picks the JSON renderer with its own media type (the first
# renderer, as in every setting); any other goes to the view, which negotiates.
PLAIN_ACCEPTS = frozenset({"", "*/*", "application/json"})


@functools.lru_cache(maxsize=8)
def _list_route(resolver: URLResolver) -> ResolverMatch:
    """The URL match of the list, for the metrics and traces that label a request by route; one per URLconf."""
    return resolver.resolve(LIST_PATH)


def _view_is_plain(view: type[TodoListApi]) -> bool:
    """Whether the view, as configured, would answer a plain request the way the shortcut does: JSON first, the
    bearer token first (another authenticator, as development's browser cookie, may follow: a request without a
    bearer token goes to the view), IsAuthenticated alone, and no throttles."""
    return (
        bool(view.renderer_classes)
        and view.renderer_classes[0] is JSONRenderer
        and bool(view.authentication_classes)
        and view.authentication_classes[0] is KeyringJWTAuthentication
        and list(view.permission_classes) == [IsAuthenticated]
        and not view.throttle_classes
    )


def not_modified_list(request: HttpRequest) -> HttpResponseBase | None:
    """The 304 the list view would give this request, or None when the view must answer it."""
    view = TodoListApi
    if (
        not _view_is_plain(view)
        or request.META.get("HTTP_ACCEPT", "") not in PLAIN_ACCEPTS
        or query_parameters_refusal(request, view.query_parameters) is not None
        or "format" in request.GET
    ):
        return None
    try:
        filters = todo_filters_from_query(request.GET)
        limit, offset = TodoPagination().window_of(request.GET)
    except APIException:
        return None
    authentication = KeyringJWTAuthentication()
    try:
        outcome = authentication.authenticate(request)
    except Exception as exc:  # the view raises it again, where DRF and the error handlers answer it
        settle_token_check(request, exc)
        return None
    settle_token_check(request, outcome)
    if outcome is None:
        return None
    user, _ = outcome
    etag = conditional.list_etag(
        owner_id=user.id,
        stamp=user.list_stamp,
        filters=filters,
        limit=limit,
        offset=offset,
        base_url=absolute_url(request, LIST_PATH),
        media_type=JSONRenderer.media_type,
    )
    if not etag_matches(request.META.get("HTTP_IF_NONE_MATCH"), etag, weak=True):
        return None
    response = HttpResponseNotModified(headers={"ETag": etag})
    # What CommonMiddleware, below this one, adds to every answer.
    response["Content-Length"] = str(len(response.content))
    # What DRF's finalize_response adds to every answer of the view (its methods as dispatch sets them up: HEAD too).
    instance = view()
    instance.setup(request)
    headers = instance.default_response_headers
    vary = headers.pop("Vary", None)
    if vary is not None:
        patch_vary_headers(response, [vary])
    for name, value in headers.items():
        response[name] = value
    request.resolver_match = _list_route(get_resolver())
    return response


class ConditionalListMiddleware:
    """Answer `GET /todos/` with a current If-None-Match by a 304 before routing; see the module's docstring."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        if request.method == "GET" and request.path_info == LIST_PATH and "HTTP_IF_NONE_MATCH" in request.META:
            response = not_modified_list(request)
            if response is not None:
                return response
        return self.get_response(request)
