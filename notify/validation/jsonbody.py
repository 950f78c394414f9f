"""JSON from untrusted callers, with a bound on nesting depth.

The standard decoder recurses once per level and raises RecursionError (not ValueError) past
about a thousand levels, which nothing upstream catches; and a few hundred levels still parse,
only to cost a recursion in every serializer, fingerprint and log line that walks the value.
No request Notify accepts needs more than a handful of levels. Nor a NUL in a string: Postgres
stores it in no text or jsonb column, so it used to fail as a database error (a 500) wherever
no field validator had refused it first (template data, stored as jsonb)."""

from __future__ import annotations

import json
import math
import re
from array import array
from itertools import accumulate
from typing import Any

MAX_DEPTH = 32

_STRUCTURE = b'"[]{}'
_NOT_STRUCTURE = bytes(b for b in range(256) if b not in _STRUCTURE)
_STRING = re.compile(rb'"[^"]*"')
# Opening brackets count +1, closing ones -1 (255 is -1 as a signed byte).
_STEPS = bytes(1 if chr(b) in "[{" else 255 if chr(b) in "]}" else 0 for b in range(256))


# \u0000 preceded by an even number of backslashes: an escaped NUL, not an escaped backslash
# followed by "u0000".
_ESCAPED_NUL = re.compile(rb"(?<!\\)(?:\\\\)*\\u0000")


# The start of an escaped UTF-16 surrogate (\uD800-\uDFFF). json.loads pairs a high and a low
# one into one code point but keeps a lone one as is, which no UTF-8 text (and no Postgres
# column) can hold: every later encode of the value would raise.
_ESCAPED_SURROGATE = re.compile(rb"\\u[dD][89a-fA-F]")


class JsonHasLoneSurrogate(ValueError):
    """A string holds half of a UTF-16 surrogate pair, which is not a character."""

    def __init__(self) -> None:
        super().__init__("JSON strings may not contain a lone surrogate (\\uD800-\\uDFFF)")


class JsonHasNul(ValueError):
    """A string holds NUL, which Postgres stores in no text or jsonb column: refused here
    rather than as a database error after validation."""

    def __init__(self) -> None:
        super().__init__("JSON strings may not contain NUL (\\u0000)")


class JsonTooDeep(ValueError):
    """Nested deeper than the bound; a ValueError, so it reads as invalid JSON."""

    def __init__(self, limit: int) -> None:
        super().__init__(f"JSON nested deeper than {limit} levels")
        self.limit = limit


def json_loads_bounded(
    data: str | bytes, *, max_depth: int = MAX_DEPTH, strict_constants: bool = False
) -> Any:
    """json.loads, refusing nesting deeper than `max_depth` (JsonTooDeep) and NUL in a string
    (JsonHasNul). Any other invalid input raises ValueError, as json.loads does.
    `strict_constants` also refuses NaN and Infinity, which are not JSON, and a number too
    large for a float (1e400 would be infinity, which Postgres cannot store in jsonb)."""
    if isinstance(data, bytes) and json.detect_encoding(data) == "utf-8":
        text: str | bytes = data
        raw = data
    else:
        text = data.decode(json.detect_encoding(data)) if isinstance(data, bytes) else data
        raw = text.encode("utf-8", "surrogatepass")
    try:
        value = json.loads(
            text,
            parse_constant=_refuse_constant if strict_constants else None,
            parse_float=_finite_float if strict_constants else None,
        )
    except RecursionError as exc:
        raise JsonTooDeep(max_depth) from exc
    if json_depth(raw) > max_depth:
        raise JsonTooDeep(max_depth)
    if b"\\u0000" in raw and _ESCAPED_NUL.search(raw):
        raise JsonHasNul()
    if _ESCAPED_SURROGATE.search(raw) and _has_lone_surrogate(value):
        raise JsonHasLoneSurrogate()
    return value


def _has_lone_surrogate(value: Any) -> bool:
    try:
        json.dumps(value, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def json_depth(raw: bytes) -> int:
    """How deeply valid JSON text nests (0 for a scalar). Only bytes-level operations run in
    C, so a 30 MB broadcast body costs a fraction of parsing it, where a Python loop per
    character (or a walk of the parsed value) would cost more than the parse."""
    # Escaped backslashes first, so that in \\" the quote still ends its string.
    raw = raw.replace(b"\\\\", b"").replace(b'\\"', b"")
    # Only quotes and brackets matter. Removing "" (an empty string, or the empty gap between
    # two strings) keeps every other quote paired as before and leaves few strings to strip.
    structure = raw.translate(None, _NOT_STRUCTURE).replace(b'""', b"")
    brackets = _STRING.sub(b"", structure).translate(_STEPS)
    return max(accumulate(array("b", brackets)), default=0)


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def _finite_float(text: str) -> float:
    value = float(text)
    if math.isinf(value):
        raise ValueError(f"number {text[:40]} is too large")
    return value
