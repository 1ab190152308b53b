"""The only request body parser: DRF's JSON parser, strict about what a document may hold (twins in both services).

Refused with a 400 before any view sees the data: nesting deep enough to exhaust the stack, a key given twice in one
object, and a key holding a NUL character or a lone surrogate.
"""

import codecs
import re
from typing import Any

from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser, get_encoding
from rest_framework.utils import json

# What no key may hold: NUL, and the UTF-16 surrogates JSON's \u escapes can give one at a time. A key is echoed in
# errors ("Unknown field."), and a lone surrogate cannot be written as UTF-8: the answer itself would fail, a 500.
FORBIDDEN_IN_KEYS = re.compile("[\x00\ud800-\udfff]")


def _object_from_pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """An object's members; json would keep the last of two values for one key, silently, and drop the other."""
    members = dict(pairs)
    if len(members) != len(pairs):
        raise ParseError("JSON parse error - a key appears more than once in an object.")
    if any(FORBIDDEN_IN_KEYS.search(key) for key in members):
        raise ParseError("JSON parse error - a key holds a NUL character or a lone surrogate.")
    return members


class StrictJSONParser(JSONParser):
    """DRF's JSON parser (which already refuses NaN and Infinity) with the refusals above."""

    def parse(self, stream: Any, media_type: str | None = None, parser_context: dict | None = None) -> Any:
        # DRF's JSONParser.parse, with the object hook: it has no way to pass one.
        decoded_stream = codecs.getreader(get_encoding(parser_context or {}))(stream)
        try:
            parse_constant = json.strict_constant if self.strict else None
            return json.load(decoded_stream, parse_constant=parse_constant, object_pairs_hook=_object_from_pairs)
        except RecursionError as exc:
            # The json module recurses once per nesting level: a small body of brackets exhausts the stack.
            raise ParseError("JSON parse error - nested too deeply.") from exc
        except ValueError as exc:
            raise ParseError(f"JSON parse error - {exc}") from exc
