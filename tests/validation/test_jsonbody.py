"""json_loads_bounded: JSON with a bound on nesting, and json_depth, which measures it
without walking the parsed value."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from notify.validation.jsonbody import (
    JsonHasLoneSurrogate,
    JsonHasNul,
    JsonTooDeep,
    json_depth,
    json_loads_bounded,
)


def _depth(value: Any) -> int:
    if isinstance(value, dict):
        return 1 + max(map(_depth, value.values()), default=0)
    if isinstance(value, list):
        return 1 + max(map(_depth, value), default=0)
    return 0


# Strings full of the characters that could fool a scan for brackets.
_TRICKY = st.text(alphabet=st.sampled_from(list('"\\[]{}a\u2028é')), max_size=8)
_VALUES = st.recursive(
    st.none() | st.integers() | _TRICKY,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(_TRICKY, inner, max_size=4),
    max_leaves=40,
)


@given(_VALUES, st.booleans())
def test_json_depth_matches_the_parsed_values_depth(value: Any, ascii_only: bool) -> None:
    text = json.dumps(value, ensure_ascii=ascii_only)

    assert json_depth(text.encode()) == _depth(value)


def test_32_levels_load_and_33_do_not() -> None:
    assert json_loads_bounded("[" * 32 + "]" * 32) is not None
    with pytest.raises(JsonTooDeep, match="nested deeper than 32 levels"):
        json_loads_bounded('{"a":' * 33 + "1" + "}" * 33)


def test_nesting_past_the_decoders_recursion_limit_is_too_deep_not_a_recursion_error() -> None:
    with pytest.raises(JsonTooDeep):
        json_loads_bounded(b"[" * 200_000 + b"]" * 200_000)


def test_bytes_in_any_json_encoding_and_str_both_load() -> None:
    value = {"name": "Zoë [x]", "n": [1, {"k": "}"}]}

    for data in (json.dumps(value), json.dumps(value).encode("utf-16"), json.dumps(value).encode()):
        assert json_loads_bounded(data) == value


def test_invalid_json_is_a_value_error_and_nan_only_when_strict() -> None:
    with pytest.raises(ValueError, match="Expecting"):
        json_loads_bounded("[1,")
    assert json_loads_bounded("[NaN]")[0] != 0
    with pytest.raises(ValueError, match="NaN is not valid JSON"):
        json_loads_bounded("[NaN]", strict_constants=True)


@pytest.mark.parametrize("text", [r'["a\u0000"]', r'{"\u0000": 1}', r'["\\\u0000"]'])
def test_an_escaped_nul_anywhere_is_refused(text: str) -> None:
    with pytest.raises(JsonHasNul):
        json_loads_bounded(text)


def test_an_escaped_backslash_before_u0000_is_not_a_nul() -> None:
    assert json_loads_bounded(r'["\\u0000"]') == ["\\u0000"]


@pytest.mark.parametrize(
    "text", [r'["\ud800"]', r'{"\uDC00x": 1}', r'["a\ud83d b"]', r'["\udbff\udbff"]']
)
def test_a_lone_surrogate_anywhere_is_refused(text: str) -> None:
    # json.loads keeps it, and any later UTF-8 encode of the value (a size check, Postgres)
    # raises: a 500 before.
    with pytest.raises(JsonHasLoneSurrogate):
        json_loads_bounded(text)


def test_a_surrogate_pair_and_an_escaped_backslash_before_ud800_are_text() -> None:
    assert json_loads_bounded(r'["\ud83d\ude00"]') == ["\U0001f600"]
    assert json_loads_bounded(r'["\\ud800"]') == ["\\ud800"]
