"""The browsable API's browser sign-in (development only): the access token from an HttpOnly cookie, CSRF-checked.

The auth service sets the cookie when its browsable login form is submitted (docs/architecture.md, "The browsable
API"). A cookie is a credential only with BROWSABLE_API on and only for requests the browsable API answers (HTML);
JSON clients must always send a Bearer header, so a cookie can never authorise a cross-site JSON request.
"""

from typing import Any

from django.conf import settings
from django.template import loader
from rest_framework import exceptions
from rest_framework.authentication import CSRFCheck
from rest_framework.request import Request
from rest_framework_simplejwt.models import TokenUser
from rest_framework_simplejwt.tokens import Token

from todos.authentication import KeyringJWTAuthentication

ACCESS_COOKIE = "browser_access"


def is_browser_request(request: Request) -> bool:
    """True when the browsable API is on and answers this request (the client asked for HTML)."""
    renderer = getattr(request, "accepted_renderer", None)
    return settings.BROWSABLE_API and getattr(renderer, "format", None) == "api"


def enforce_csrf(request: Request) -> None:
    """Django's CSRF check (origin and token) for an unsafe method, as DRF's SessionAuthentication does it."""
    check = CSRFCheck(lambda _request: None)
    check.process_request(request)
    reason = check.process_view(request, None, (), {})
    if reason:
        raise exceptions.PermissionDenied(f"CSRF Failed: {reason}")


class BrowserCookieAuthentication(KeyringJWTAuthentication):
    """The access token from the browser's HttpOnly cookie, for the browsable API only; unsafe methods need CSRF."""

    def authenticate(self, request: Request) -> tuple[TokenUser, Token] | None:
        raw_token = request.COOKIES.get(ACCESS_COOKIE) if is_browser_request(request) else None
        if not raw_token:
            return None
        validated_token = self.get_validated_token(raw_token.encode())
        enforce_csrf(request)
        return self.get_user(validated_token), validated_token


class ListFilterForm:
    """The list's filters as a form in the browsable API (the list filters itself in SQL: todos.filters)."""

    template = "todos/list_filters.html"

    def get_schema_operation_parameters(self, view: Any) -> list:
        """None here: the list's parameters are documented with the view (todos.apis.LIST_PARAMETERS)."""
        return []

    def to_html(self, request: Request, queryset: Any, view: Any) -> str:
        context = {"request": request, "ordering_fields": view.ordering_fields, "query": request.query_params}
        return loader.get_template(self.template).render(context, request)
