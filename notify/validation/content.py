"""Serializers for message content, inline or as a template's parts. Each channel declares
its parts and their limits (channels/<name>.py); the serializers are built from those
declarations, one per registered channel, when a ContentSerializer is built."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from channels import CHANNELS, Channel, Part, channel_class
from notify.validation.fields import CONTROL_CHARS, LINE_BREAKS, TextField


def _field(part: Part) -> TextField:
    if part.required:
        return TextField(single_line=part.single_line, max_length=part.max_length)
    return TextField(
        single_line=part.single_line, max_length=part.max_length, required=False, allow_blank=True
    )


def rendered_errors(content: dict[str, dict[str, Any]]) -> list[tuple[str, str]]:
    """The serializers' checks, as plain code: run on every rendered message, so that data
    cannot smuggle a newline into a subject or blow the push size limit, at a fraction of a
    serializer's cost."""
    errors: list[tuple[str, str]] = []
    for channel, parts in content.items():
        spec = channel_class(channel)
        for name, part in spec.parts.items():
            if name in parts:
                errors += [(f"{channel}.{name}", m) for m in _text_errors(parts[name], part)]
            elif part.required:
                errors.append((f"{channel}.{name}", "This field is required."))
        if spec.data_part is not None:
            for key, value in (parts.get("data") or {}).items():
                errors += [
                    (f"{channel}.data.{key}", m) for m in _text_errors(value, spec.data_part)
                ]
        errors += [(f"{channel}.{name}", m) for name, m in spec.content_errors(parts)]
    return errors


def _text_errors(value: str, part: Part) -> list[str]:
    found = []
    if part.required and not value:
        found.append("This field may not be blank.")
    if len(value) > part.max_length:
        found.append(f"Ensure this field has no more than {part.max_length} characters.")
    if CONTROL_CHARS.search(value):
        found.append("Control characters are not allowed.")
    if part.single_line and LINE_BREAKS.search(value):
        found.append("Must be a single line.")
    return found


# One channel's content; subclasses are built by `content_serializer`. (No docstrings on
# these classes: the schema would show them as descriptions.)
class ChannelContentSerializer(serializers.Serializer):
    channel: type[Channel]

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        errors = self.channel.content_errors(attrs)
        if errors:
            # The first rule broken, as the field it is about.
            name, message = errors[0]
            raise serializers.ValidationError({name: [message]})
        return attrs


_built: dict[str, type[ChannelContentSerializer]] = {}


def content_serializer(channel: type[Channel]) -> type[ChannelContentSerializer]:
    """The serializer of `channel`'s content, e.g. EmailContentSerializer (the schema
    names its component after the class: EmailContent). Built once per channel class."""
    built = _built.get(channel.name)
    if built is None or built.channel is not channel:
        built = _built[channel.name] = _build(channel)
    return built


def _build(channel: type[Channel]) -> type[ChannelContentSerializer]:
    fields: dict[str, Any] = {name: _field(part) for name, part in channel.parts.items()}
    if channel.data_part is not None:
        fields["data"] = serializers.DictField(
            child=TextField(max_length=channel.data_part.max_length), required=False
        )
    name = f"{channel.name.title().replace('_', '')}ContentSerializer"
    return type(name, (ChannelContentSerializer,), {"channel": channel, **fields})


# {channel: that channel's content}, for every registered channel.
class ContentSerializer(serializers.Serializer):
    def get_fields(self) -> dict[str, serializers.Field]:
        return {
            name: content_serializer(channel)(required=False) for name, channel in CHANNELS.items()
        }

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if not attrs:
            raise serializers.ValidationError("Give content for at least one channel.")
        return attrs
