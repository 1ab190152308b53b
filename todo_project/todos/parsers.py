"""The only request body parser: JSON, with a size limit and no 500 on pathological nesting."""

from typing import Any

from django.conf import settings
from rest_framework import status
from rest_framework.exceptions import APIException, ParseError
from rest_framework.parsers import JSONParser


class RequestBodyTooLarge(APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_detail = "Request body too large."
    default_code = "request_too_large"


class StrictJSONParser(JSONParser):
    """DRF's JSON parser (NaN and Infinity refused), plus a body-size limit and deep nesting as a 400."""

    def parse(self, stream: Any, media_type: str | None = None, parser_context: dict | None = None) -> Any:
        request = (parser_context or {}).get("request")
        # DRF reads the body itself, bypassing Django's DATA_UPLOAD_MAX_MEMORY_SIZE check. DRF only calls a parser
        # when Content-Length is a positive integer.
        if request is not None and int(request.META.get("CONTENT_LENGTH") or 0) > settings.DATA_UPLOAD_MAX_MEMORY_SIZE:
            raise RequestBodyTooLarge
        try:
            return super().parse(stream, media_type, parser_context)
        except RecursionError as exc:
            raise ParseError("JSON parse error - nested too deeply.") from exc
