"""The browsable API's browser sign-in (development only): tokens in HttpOnly cookies, CSRF-checked.

Submitting the browsable login form sets two cookies on the gateway's origin: the access token (path /, read by
both services) and the refresh token (path /auth/, read only by refresh and logout). A cookie is a credential only
with BROWSABLE_API on and only for requests the browsable API answers (HTML); JSON clients must always send a
Bearer header, so a cookie can never authorise a cross-site JSON request (docs/architecture.md, "The browsable API").
"""

from typing import Any

from django.conf import settings
from django.http import HttpResponse, HttpResponseRedirect
from django.utils.http import url_has_allowed_host_and_scheme
from rest_framework import exceptions
from rest_framework.authentication import CSRFCheck
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework_simplejwt.authentication import JWTAuthentication
from rest_framework_simplejwt.tokens import Token

from accounts.models import User

ACCESS_COOKIE = "browser_access"
REFRESH_COOKIE = "browser_refresh"
REFRESH_COOKIE_PATH = "/auth/"
AFTER_LOGIN = "/auth/me/"


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


class BrowserCookieAuthentication(JWTAuthentication):
    """The access token from the browser's HttpOnly cookie, for the browsable API only; unsafe methods need CSRF."""

    def authenticate(self, request: Request) -> tuple[User, Token] | None:
        raw_token = request.COOKIES.get(ACCESS_COOKIE) if is_browser_request(request) else None
        if not raw_token:
            return None
        validated_token = self.get_validated_token(raw_token.encode())
        enforce_csrf(request)
        return self.get_user(validated_token), validated_token


def refresh_input(request: Request) -> Any:
    """The request's body; in a browser, a form left without `refresh` sends the refresh cookie instead."""
    if is_browser_request(request) and not request.data.get("refresh") and REFRESH_COOKIE in request.COOKIES:
        return {"refresh": request.COOKIES[REFRESH_COOKIE]}
    return request.data


def _next_page(request: Request, default: str) -> str:
    target = request.query_params.get("next", "")
    if url_has_allowed_host_and_scheme(target, allowed_hosts=None) and target.startswith("/"):
        return target
    return default


def token_pair_response(request: Request, pair: dict[str, str]) -> HttpResponse:
    """The pair as JSON; to a browser, a redirect that keeps the pair in HttpOnly, SameSite=Strict cookies."""
    if not is_browser_request(request):
        return Response(pair)
    response = HttpResponseRedirect(_next_page(request, AFTER_LOGIN))
    response.status_code = 303
    lifetimes = settings.SIMPLE_JWT
    cookie = {"httponly": True, "samesite": "Strict", "secure": settings.SESSION_COOKIE_SECURE}
    response.set_cookie(ACCESS_COOKIE, pair["access"], max_age=lifetimes["ACCESS_TOKEN_LIFETIME"], path="/", **cookie)
    response.set_cookie(
        REFRESH_COOKIE,
        pair["refresh"],
        max_age=lifetimes["REFRESH_TOKEN_LIFETIME"],
        path=REFRESH_COOKIE_PATH,
        **cookie,
    )
    return response


def logged_out_response(request: Request) -> HttpResponse:
    """204; to a browser, a redirect that deletes both cookies."""
    if not is_browser_request(request):
        return Response(status=204)
    response = HttpResponseRedirect(_next_page(request, "/auth/login/"))
    response.status_code = 303
    response.delete_cookie(ACCESS_COOKIE, path="/", samesite="Strict")
    response.delete_cookie(REFRESH_COOKIE, path=REFRESH_COOKIE_PATH, samesite="Strict")
    return response
