"""The Idempotency-Key header: one set of rules for every endpoint that reads it (single
creates and broadcasts), its schema parameter, and its refusal where a request-wide key would
mean nothing (batches, whose items carry their own keys)."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter
from rest_framework import serializers
from rest_framework.request import Request

HEADER = "Idempotency-Key"
MAX_LENGTH = 255
RULES = f"At most {MAX_LENGTH} printable characters, without a comma."


def idempotency_key_errors(key: str) -> list[str]:
    """What is wrong with a key (the header's, or a batch item's `idempotency_key`). A comma
    is refused because two Idempotency-Key headers reach the application joined by commas
    ("a, b"): a key that holds one could not be told from two keys."""
    if "," in key:
        return [f"Give one {HEADER}, without a comma: several headers arrive joined by commas."]
    if len(key) > MAX_LENGTH or not key.isprintable():
        return [RULES]
    return []


def idempotency_key_header(request: Request) -> str | None:
    """The request's Idempotency-Key, or None; a 400 on the header when it breaks the rules."""
    key = request.headers.get(HEADER) or None
    if key is not None and (errors := idempotency_key_errors(key)):
        raise serializers.ValidationError({HEADER: errors})
    return key


def idempotency_key_refuse(request: Request) -> None:
    """A 400 when the request has an Idempotency-Key: on a batch it would be silently
    ignored, and a retry the caller believes safe would send every item again."""
    if request.headers.get(HEADER):
        raise serializers.ValidationError(
            {
                HEADER: [
                    f"Not accepted on a batch: give each item its own idempotency_key "
                    f"(the {HEADER} rules, per item)."
                ]
            }
        )


def idempotency_key_parameter(description: str) -> OpenApiParameter:
    return OpenApiParameter(
        HEADER, location=OpenApiParameter.HEADER, required=False, description=description
    )


REPLAY_HELP = (
    f"{RULES} Same key + same body: the first answer again (header Idempotent-Replayed: "
    "true), nothing new is sent. Same key while the first request is in flight: 409. Same key "
    "+ different body: 422. Kept for 24 hours (NOTIFY_IDEMPOTENCY_TTL_HOURS). Scoped to the "
    "tenant, not to the API key: a retry through another key of the same tenant (e.g. a "
    "rotated key) replays the first answer; other tenants' keys never collide."
)
