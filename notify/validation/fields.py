"""Input fields shared by the API's serializers."""

from __future__ import annotations

import functools
import re
import unicodedata
import zoneinfo
from typing import Any

import phonenumbers
from rest_framework import serializers

from channels import names as channel_names

# C0 controls other than tab/newline/carriage return, and DEL: never meaningful in a message,
# and a classic way to smuggle headers or confuse logs.
CONTROL_CHARS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def reject_control_chars(value: str) -> None:
    if CONTROL_CHARS.search(value):
        raise serializers.ValidationError("Control characters are not allowed.")


class TextField(serializers.CharField):
    """A CharField that refuses control characters; `single_line` also refuses newlines."""

    def __init__(self, *, single_line: bool = False, **kwargs: Any) -> None:
        kwargs.setdefault("trim_whitespace", False)
        super().__init__(**kwargs)
        self.validators.append(reject_control_chars)
        if single_line:
            self.validators.append(_single_line)


# Every line break str.splitlines() honours that CONTROL_CHARS lets through: NEL and the
# Unicode line and paragraph separators end a line for many readers (mail clients, logs).
LINE_BREAKS = re.compile("[\n\r\x85\u2028\u2029]")


def _single_line(value: str) -> None:
    if LINE_BREAKS.search(value):
        raise serializers.ValidationError("Must be a single line.")


# Letters that draw nothing: the Hangul fillers and the braille blank.
_BLANK_LETTERS = frozenset("\u115f\u1160\u3164\uffa0\u2800")


def has_visible_char(value: str) -> bool:
    """Whether `value` shows anything: a character that is not whitespace, a control or
    format character (zero-width space, joiners, BOM, bidi marks), a separator, a combining
    mark on its own, nor a blank letter."""
    return any(
        not (c.isspace() or c in _BLANK_LETTERS or unicodedata.category(c)[0] in "CZM")
        for c in value
    )


def _visible(value: str) -> None:
    if not has_visible_char(value):
        raise serializers.ValidationError(
            "May not be blank: whitespace and invisible characters only."
        )


class PushTokenField(TextField):
    """A push device token: one line of at most 4096 characters, with something visible in
    it (a token of spaces or zero-width characters would be stored as an active device that
    no provider can reach)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(single_line=True, max_length=4096, **kwargs)
        self.validators.append(_visible)


class PhoneField(serializers.CharField):
    """A phone number in E.164 (+ and country code), normalised."""

    def to_internal_value(self, data: Any) -> str:
        value = super().to_internal_value(data)
        if not value.startswith("+"):
            raise serializers.ValidationError("Use E.164 format, e.g. +14155552671.")
        try:
            number = phonenumbers.parse(value, None)
        except phonenumbers.NumberParseException as exc:
            raise serializers.ValidationError("Not a phone number.") from exc
        if not phonenumbers.is_valid_number(number):
            raise serializers.ValidationError("Not a valid phone number.")
        return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


@functools.cache
def _time_zones() -> frozenset[str]:
    # available_timezones() walks the tz database on disk (~20 ms): once per process.
    return frozenset(zoneinfo.available_timezones())


class TimezoneField(serializers.CharField):
    def to_internal_value(self, data: Any) -> str:
        value = super().to_internal_value(data)
        if value not in _time_zones():
            raise serializers.ValidationError("Unknown IANA time zone, e.g. Europe/Paris.")
        return value


class LocaleField(serializers.RegexField):
    def __init__(self, **kwargs: Any) -> None:
        super().__init__(r"^[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})*$", max_length=35, **kwargs)


class ChannelField(serializers.ChoiceField):
    """One of the registered channels. The choices are read from the channel registry each
    time a serializer is built (DRF builds its fields anew per serializer instance), so a
    channel registered after import is accepted too."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(channel_names(), **kwargs)
