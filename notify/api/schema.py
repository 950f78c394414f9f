"""OpenAPI post-processing: every operation documents the one error shape and the error
statuses it can answer, so clients (and schemathesis) know every response."""

from __future__ import annotations

from typing import Any

ERROR = {
    "type": "object",
    "required": ["error", "detail"],
    "properties": {
        "error": {"type": "string", "description": "Machine-readable code"},
        "detail": {"type": "string"},
        "fields": {
            "type": "object",
            "description": "Validation errors by field (dotted for nested fields)",
            "additionalProperties": {"type": "array", "items": {"type": "string"}},
        },
    },
}
_ALWAYS = {
    "400": "Invalid input; `fields` says which",
    "401": "Missing, invalid, expired or revoked API key",
    "403": "The API key lacks the scope this operation needs",
    "429": "Over the API key's rate limit (a request costs one per notification it creates, "
    "else one); see Retry-After",
    "503": "The database is unavailable; nothing was stored; see Retry-After",
}
_BY_OPERATION = {
    ("get", "/api/v1/notifications/"): {"404": "Invalid pagination cursor"},
    ("get", "/api/v1/deliveries/"): {"404": "Invalid pagination cursor"},
    ("post", "/api/v1/notifications/"): {
        "409": "The same Idempotency-Key is being processed; retry after Retry-After",
        "422": "The Idempotency-Key was used with a different body",
    },
}


def add_error_responses(
    result: dict[str, Any], generator: Any, request: Any, public: bool
) -> dict[str, Any]:
    components = result.setdefault("components", {}).setdefault("schemas", {})
    components["Error"] = ERROR
    ref = {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
    for path, operations in result.get("paths", {}).items():
        for method, operation in operations.items():
            if not path.startswith("/api/v1/"):
                continue
            wanted = dict(_ALWAYS)
            if "{" in path:
                wanted["404"] = "No such object (or it belongs to another tenant)"
            if method in ("post", "put", "patch"):
                # Every body is size-checked before it is read (notify/middleware.py).
                wanted["413"] = "Request body too large"
            wanted.update(_BY_OPERATION.get((method, path), {}))
            responses = operation.setdefault("responses", {})
            for status, description in wanted.items():
                responses.setdefault(status, {"description": description, "content": ref})
    return result
