"""Every error is JSON: DRF's exception handler and Django's own error views (400, 403, 404, 500, CSRF)."""

import logging
from http import HTTPStatus

from django.core.exceptions import RequestDataTooBig, SuspiciousOperation
from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, JsonResponse
from django.views.csrf import csrf_failure as html_csrf_failure
from django.views.decorators.csrf import csrf_exempt
from rest_framework import exceptions
from rest_framework.response import Response
from rest_framework.views import exception_handler, set_rollback

from todos.exceptions import (
    IdempotencyKeyInUse,
    IdempotencyKeyInvalid,
    IdempotencyKeyMismatch,
    TodoError,
    TodoNotFound,
    TodoVersionMismatch,
)

logger = logging.getLogger(__name__)

# How long a client should wait before retrying while the database is unreachable: PostgreSQL restarts in a
# few seconds, and Django opens a new connection on the next request once it is back.
DATABASE_RETRY_AFTER_SECONDS = 5
# One message for a body over DATA_UPLOAD_MAX_MEMORY_SIZE, whether a view or Django's own handler refuses it.
REQUEST_TOO_LARGE = "Request body is too large."
INVALID_TOKEN_CHALLENGE = 'Bearer realm="todos", error="invalid_token"'  # noqa: S105 - a header, not a secret


def api_exception_handler(exc: Exception, context: dict) -> Response | None:
    """DRF's handler, plus JSON for the services' domain errors, Django's mid-view refusals and an unreachable
    database, and the RFC 6750 `error="invalid_token"` challenge on a refused token."""
    response = domain_error_response(exc)
    if response is not None:
        return response
    if isinstance(exc, RequestDataTooBig):
        return Response({"detail": REQUEST_TOO_LARGE}, status=HTTPStatus.REQUEST_ENTITY_TOO_LARGE)
    if isinstance(exc, (OperationalError, InterfaceError)):
        return database_unavailable(exc)
    response = exception_handler(exc, context)
    if response is not None:
        if isinstance(exc, exceptions.AuthenticationFailed):
            response["WWW-Authenticate"] = INVALID_TOKEN_CHALLENGE
        return response
    if isinstance(exc, SuspiciousOperation):
        return Response({"detail": "Bad request."}, status=HTTPStatus.BAD_REQUEST)
    return None


def database_unavailable(exc: Exception) -> Response:
    """503 with Retry-After while the database cannot be reached (restarting, failing over), never a 500."""
    logger.warning("database unavailable", extra={"error": str(exc).strip()})
    return Response(
        {"detail": "The database is unavailable; try again shortly."},
        status=HTTPStatus.SERVICE_UNAVAILABLE,
        headers={"Retry-After": str(DATABASE_RETRY_AFTER_SECONDS)},
    )


# The answer to each domain error of the services (todos.exceptions): its status, and the detail for an error that
# carries no message of its own. The views hold no try/except: whatever a service raises ends here.
DOMAIN_ERRORS: dict[type[TodoError], tuple[HTTPStatus, str]] = {
    TodoNotFound: (HTTPStatus.NOT_FOUND, "Not found."),
    TodoVersionMismatch: (
        HTTPStatus.PRECONDITION_FAILED,
        "The todo has changed since you read it: If-Match does not match its ETag. Nothing was changed.",
    ),
    IdempotencyKeyInvalid: (HTTPStatus.BAD_REQUEST, "Idempotency-Key must be 1 to 255 printable ASCII characters."),
    IdempotencyKeyInUse: (
        HTTPStatus.CONFLICT,
        "A request with this Idempotency-Key is still being processed; retry later.",
    ),
    IdempotencyKeyMismatch: (
        HTTPStatus.UNPROCESSABLE_ENTITY,
        "This Idempotency-Key was already used with a different request.",
    ),
}


def domain_error_response(exc: Exception) -> Response | None:
    """The answer to a domain error, `{"detail": ...}` as DRF gives; None for any other error."""
    answer = next((answer for kind, answer in DOMAIN_ERRORS.items() if isinstance(exc, kind)), None)
    if answer is None:
        return None
    status, default_detail = answer
    set_rollback()
    return Response({"detail": str(exc) or default_detail}, status=status)


def _error(status: HTTPStatus, detail: str) -> JsonResponse:
    return JsonResponse({"detail": detail}, status=status)


def bad_request(request: HttpRequest, exception: Exception | None = None) -> JsonResponse:
    """JSON for Django's own refusals: 413 for a body over the upload limit, else 400 (a Host not allowed...)."""
    if isinstance(exception, RequestDataTooBig):
        return _error(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, REQUEST_TOO_LARGE)
    return _error(HTTPStatus.BAD_REQUEST, "Bad request.")


def permission_denied(request: HttpRequest, exception: Exception | None = None) -> JsonResponse:
    """JSON 403."""
    return _error(HTTPStatus.FORBIDDEN, "You do not have permission to perform this action.")


@csrf_exempt  # an unknown path is a 404 whatever the method, never a CSRF 403
def page_not_found(request: HttpRequest, exception: Exception | None = None) -> JsonResponse:
    """JSON 404 for every unknown path."""
    return _error(HTTPStatus.NOT_FOUND, "Not found.")


def server_error(request: HttpRequest) -> JsonResponse:
    """JSON 500; the traceback goes to the log, never to the caller."""
    return _error(HTTPStatus.INTERNAL_SERVER_ERROR, "Internal server error.")


def csrf_failure(request: HttpRequest, reason: str = "") -> JsonResponse:
    """JSON 403 on API paths; the operators' admin keeps Django's page, which explains what to do."""
    if request.path.startswith("/todos/admin/"):
        return html_csrf_failure(request, reason)
    return _error(HTTPStatus.FORBIDDEN, f"CSRF verification failed: {reason}")
