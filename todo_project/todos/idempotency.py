"""The Idempotency-Key header (draft-ietf-httpapi-idempotency-key-header): a retried write runs at most once.

The HTTP side of services.idempotency_key_*: a decorator of write views, the one function here that sees a request.
Refusals are domain errors (todos.exceptions), answered by config.errors.
"""

import functools
import hashlib
import re
from collections.abc import Callable
from typing import Any

from django.db import transaction
from django.http import HttpResponse
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, inline_serializer
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response

from todos import services
from todos.exceptions import IdempotencyKeyInvalid

HEADER = "Idempotency-Key"
REPLAYED_HEADER = "Idempotent-Replayed"
# The headers a replay must repeat for a client to act on it; the rest (request id, Vary, ...) are made afresh.
STORED_HEADERS = ("Content-Type", "Location", "ETag")
_VALID_KEY = re.compile(r"[\x20-\x7e]{1,255}")

PARAMETER = OpenApiParameter(
    HEADER,
    {"type": "string", "minLength": 1, "maxLength": 255, "pattern": "^[\\x20-\\x7e]+$"},
    OpenApiParameter.HEADER,
    description="Makes a retry safe: the first request with a key runs; a retry with the same key and the same "
    "request gets the stored response again with `Idempotent-Replayed: true`. Scoped to the caller, kept 24 hours.",
)
_ERROR = inline_serializer("IdempotencyError", {"detail": serializers.CharField()})
RESPONSES = {
    409: OpenApiResponse(_ERROR, description="A request with this Idempotency-Key is still running; retry later."),
    422: OpenApiResponse(_ERROR, description="This Idempotency-Key was used with another request."),
}


def _key(header: str | None) -> str | None:
    if header is not None and not _VALID_KEY.fullmatch(header):
        raise IdempotencyKeyInvalid()
    return header


def _fingerprint(*, method: str, full_path: str, body: bytes) -> str:
    # One request however its path is spelled: every route answers with or without its trailing slash, and a todo's
    # id in either case (the routes' other segments are lower-case, or the request never reached a view).
    path, question_mark, query = full_path.partition("?")
    full_path = f"{path.rstrip('/').lower()}/{question_mark}{query}"
    digest = hashlib.sha256()
    for part in (method.encode(), full_path.encode(), body):
        digest.update(len(part).to_bytes(8, "big"))
        digest.update(part)
    return digest.hexdigest()


def _replay(stored: services.StoredResponse) -> HttpResponse:
    response = HttpResponse(stored.body, status=stored.status_code)
    # HttpResponse starts with Django's default Content-Type (text/html): a replayed 204 must carry none, as the first.
    del response["Content-Type"]
    for name, value in stored.headers.items():
        response[name] = value
    response[REPLAYED_HEADER] = "true"
    return response


def idempotent(handler: Callable[..., Any]) -> Callable[..., Any]:
    """Run a write view's handler at most once per (caller, Idempotency-Key); without the header, as usual.

    The handler's write and the stored response commit in one transaction: either both or neither. A 4xx or an
    exception stores nothing and frees the key, so the client can fix the request and retry with the same key.
    """

    @functools.wraps(handler)
    def wrapper(view: Any, request: Request, *args: Any, **kwargs: Any) -> HttpResponse:
        key = _key(request.headers.get(HEADER))
        if key is None:
            return handler(view, request, *args, **kwargs)
        owner_id = request.user.id
        fingerprint = _fingerprint(method=request.method, full_path=request.get_full_path(), body=request._request.body)
        stored = services.idempotency_key_claim(owner_id=owner_id, key=key, fingerprint=fingerprint)
        if stored is not None:
            return _replay(stored)
        try:
            with transaction.atomic():
                response = handler(view, request, *args, **kwargs)
                if response.status_code >= status.HTTP_400_BAD_REQUEST:
                    raise _NotStored(response)
                response = view.finalize_response(request, response, *args, **kwargs)
                if isinstance(response, Response):
                    response.render()
                headers = {name: response[name] for name in STORED_HEADERS if response.has_header(name)}
                services.idempotency_key_complete(
                    owner_id=owner_id,
                    key=key,
                    response=services.StoredResponse(response.status_code, headers, bytes(response.content)),
                )
        except _NotStored as refused:
            services.idempotency_key_release(owner_id=owner_id, key=key)
            return refused.response
        except BaseException:
            services.idempotency_key_release(owner_id=owner_id, key=key)
            raise
        return response

    return wrapper


class _NotStored(Exception):
    """Carries a 4xx response out of the transaction, which rolls back whatever the handler wrote."""

    def __init__(self, response: HttpResponse) -> None:
        super().__init__()
        self.response = response
