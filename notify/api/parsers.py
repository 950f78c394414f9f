"""The API's JSON parser: DRF's, with a bound on nesting depth."""

from __future__ import annotations

from typing import Any

from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser, get_encoding  # type: ignore[attr-defined]

from notify.validation.jsonbody import json_loads_bounded


class BoundedJSONParser(JSONParser):
    """Deep nesting is a 400 like any other malformed body, not a RecursionError (a 500)
    or a value every later step has to recurse through."""

    def parse(self, stream: Any, media_type: Any = None, parser_context: Any = None) -> Any:
        # DRF's check: only text charsets (a bytes-to-bytes codec could inflate the body).
        encoding = get_encoding(parser_context or {})
        raw = stream.read() if stream is not None else b""
        try:
            text = raw if encoding.lower().replace("-", "") == "utf8" else raw.decode(encoding)
            return json_loads_bounded(text, strict_constants=self.strict)
        except ValueError as exc:  # JsonTooDeep included
            raise ParseError(f"JSON parse error - {exc}") from exc
