"""A JSON parser that refuses NUL characters anywhere in the document, and documents nested too deeply."""

from typing import Any

from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser


def _contains_nul(document: Any) -> bool:
    """Walk the parsed document without recursion, so its depth cannot exhaust the stack."""
    pending = [document]
    while pending:
        value = pending.pop()
        if isinstance(value, str):
            if "\x00" in value:
                return True
        elif isinstance(value, dict):
            pending.extend(value.keys())
            pending.extend(value.values())
        elif isinstance(value, list):
            pending.extend(value)
    return False


class StrictJSONParser(JSONParser):
    """DRF's JSON parser (which already refuses NaN and Infinity) plus a refusal of NUL characters."""

    def parse(self, stream, media_type=None, parser_context=None):
        try:
            data = super().parse(stream, media_type, parser_context)
        except RecursionError as exc:
            # The json module recurses once per nesting level: a small body of brackets exhausts the stack.
            raise ParseError("JSON parse error - nested too deeply.") from exc
        if _contains_nul(data):
            raise ParseError("JSON strings must not contain NUL characters.")
        return data
