"""Every error answers JSON: DRF's exception handler plus Django's own error views."""

import logging
from http import HTTPStatus

from django.core.exceptions import RequestDataTooBig, SuspiciousOperation
from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, JsonResponse
from django.views.csrf import csrf_failure as html_csrf_failure
from django.views.decorators.csrf import csrf_exempt
from rest_framework import status
from rest_framework.response import Response
from rest_framework.views import exception_handler, set_rollback

from accounts.exceptions import (
    AccountError,
    InvalidCredentials,
    InvalidFields,
    LoginThrottled,
    SessionNotFound,
    TokenOfAnotherUser,
    TokenRejected,
)
from accounts.keyring import KeyringError

logger = logging.getLogger(__name__)

# How long a client should wait before retrying while the database is unreachable: PostgreSQL restarts in a
# few seconds, and Django opens a new connection on the next request once it is back.
DATABASE_RETRY_AFTER_SECONDS = 5


def api_exception_handler(exc: Exception, context: dict) -> Response | None:
    """DRF's handler, plus JSON for the services' domain errors, Django's mid-view refusals and a missing keyring."""
    response = domain_error_response(exc)
    if response is not None:
        return response
    response = exception_handler(exc, context)
    if response is not None:
        return response
    if isinstance(exc, RequestDataTooBig):
        return Response({"detail": "Request body is too large."}, status=status.HTTP_413_REQUEST_ENTITY_TOO_LARGE)
    if isinstance(exc, (OperationalError, InterfaceError)):
        return database_unavailable(exc)
    if isinstance(exc, KeyringError):
        logger.error("signing keys unavailable", extra={"error": str(exc)})
        return Response({"detail": "Signing keys are unavailable."}, status=status.HTTP_503_SERVICE_UNAVAILABLE)
    if isinstance(exc, SuspiciousOperation):
        return Response({"detail": "Bad request."}, status=status.HTTP_400_BAD_REQUEST)
    return None


def database_unavailable(exc: Exception) -> Response:
    """503 with Retry-After while the database cannot be reached (restarting, failing over), never a 500."""
    logger.warning("database unavailable", extra={"error": str(exc).strip()})
    return Response(
        {"detail": "The database is unavailable; try again shortly."},
        status=status.HTTP_503_SERVICE_UNAVAILABLE,
        headers={"Retry-After": str(DATABASE_RETRY_AFTER_SECONDS)},
    )


# The answer to each domain error of the services (accounts.exceptions): its status, and the detail for an error that
# carries no message of its own. The views hold no try/except: whatever a service raises ends here.
DOMAIN_ERRORS: dict[type[AccountError], tuple[HTTPStatus, str]] = {
    InvalidCredentials: (HTTPStatus.UNAUTHORIZED, "Invalid username or password."),
    TokenRejected: (HTTPStatus.UNAUTHORIZED, "Token is invalid or expired."),
    TokenOfAnotherUser: (HTTPStatus.FORBIDDEN, "This refresh token was issued to another user."),
    SessionNotFound: (HTTPStatus.NOT_FOUND, "No such session."),
    LoginThrottled: (HTTPStatus.TOO_MANY_REQUESTS, "Too many failed login attempts."),
    InvalidFields: (HTTPStatus.BAD_REQUEST, "Invalid input."),
}


def domain_error_response(exc: Exception) -> Response | None:
    """The answer to a domain error, `{"detail": ...}` (field errors: by field) as DRF gives; None for other errors."""
    answer = next((answer for kind, answer in DOMAIN_ERRORS.items() if isinstance(exc, kind)), None)
    if answer is None:
        return None
    status, default_detail = answer
    set_rollback()
    if isinstance(exc, InvalidFields):
        return Response(exc.errors, status=status)
    detail = str(exc) or default_detail
    if isinstance(exc, LoginThrottled):
        unit = "second" if exc.retry_after == 1 else "seconds"
        detail = f"{detail} Try again in {exc.retry_after} {unit}."
        return Response({"detail": detail}, status=status, headers={"Retry-After": str(exc.retry_after)})
    return Response({"detail": detail}, status=status)


def bad_request(request: HttpRequest, exception: Exception | None = None) -> JsonResponse:
    if isinstance(exception, RequestDataTooBig):
        return JsonResponse({"detail": "Request body is too large."}, status=413)
    return JsonResponse({"detail": "Bad request."}, status=400)


def permission_denied(request: HttpRequest, exception: Exception | None = None) -> JsonResponse:
    return JsonResponse({"detail": "You do not have permission to perform this action."}, status=403)


@csrf_exempt  # an unknown path is a 404 whatever the method, never a CSRF 403
def page_not_found(request: HttpRequest, exception: Exception | None = None) -> JsonResponse:
    return JsonResponse({"detail": "Not found."}, status=404)


def server_error(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"detail": "Internal server error."}, status=500)


def csrf_failure(request: HttpRequest, reason: str = "") -> JsonResponse:
    """JSON on API paths; the admin's HTML forms keep Django's own page."""
    if request.path.startswith("/auth/admin/"):
        return html_csrf_failure(request, reason)
    return JsonResponse({"detail": f"CSRF verification failed: {reason}"}, status=403)
