"""The authentication backend every login goes through (API, browsable API, admin), so all share one budget."""

from typing import Any

from django.contrib.auth.backends import ModelBackend
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest

from accounts.throttling import login_failure_record, login_retry_after
from config.middleware import ratelimit_client_ip


class ThrottledModelBackend(ModelBackend):
    """Django's ModelBackend behind the login budgets: a spent budget refuses even the right password.

    PermissionDenied makes django.contrib.auth.authenticate() stop and answer None, so the admin's login form shows
    its usual error; the API checks the budgets itself first to answer 429 with Retry-After.
    """

    def authenticate(
        self,
        request: HttpRequest | None,
        username: str | None = None,
        password: str | None = None,
        client_ip: str | None = None,
        **kwargs: Any,
    ) -> Any:
        # A service without a request (an API login) passes the client address as a plain value; a form its request.
        if client_ip is None and request is not None:
            client_ip = ratelimit_client_ip(request)
        if client_ip is None or username is None:
            return super().authenticate(request, username=username, password=password, **kwargs)
        if login_retry_after(username=username, client_ip=client_ip) is not None:
            raise PermissionDenied("Too many failed login attempts.")
        user = super().authenticate(request, username=username, password=password, **kwargs)
        if user is None:
            login_failure_record(username=username, client_ip=client_ip)
        return user
