"""POST /api/v1/notifications/batch/: many different notifications in one request, each
answered on its own (accepted, replayed, or refused with the single create's error)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.conf import settings
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from notify.api.auth import HasScope, caller_key
from notify.api.batch_check import item_check
from notify.api.errors import error_body
from notify.api.idempotency import (
    idempotency_key_errors,
    idempotency_key_parameter,
    idempotency_key_refuse,
)
from notify.api.notification_output import NotificationOutput, in_utc, notification_body
from notify.api.notifications import NotificationInput, refusal_error
from notify.services.accepting.batch import BatchItem, notifications_submit_many
from notify.services.accepting.notifications import Accepted, request_fingerprint

IDEMPOTENCY_HELP = (
    "The single create's Idempotency-Key header, per item (at most 255 printable characters, "
    "without a comma): same key and same item, the first answer again (status 200, "
    "replayed); same key and a different item, 422; a key another request is processing, "
    "409. Scoped to the tenant, shared with single creates."
)


class BatchItemInput(NotificationInput):
    idempotency_key = serializers.CharField(
        max_length=255, required=False, trim_whitespace=False, help_text=IDEMPOTENCY_HELP
    )

    def validate_idempotency_key(self, value: str) -> str:
        if errors := idempotency_key_errors(value):
            raise serializers.ValidationError(errors)
        return value


class BatchInput(serializers.Serializer):
    notifications = serializers.ListField(
        child=BatchItemInput(),
        min_length=1,
        help_text="1 to NOTIFY_BATCH_MAX_ITEMS (default 1,000) notifications, each the body "
        "of a single create plus an optional idempotency_key.",
    )


class BatchResult(serializers.Serializer):
    index = serializers.IntegerField(help_text="The item's position in the request")
    status = serializers.IntegerField(
        help_text="202 accepted; 200 replayed (idempotency_key seen before); 400, 409 or 422 "
        "refused, as a single create would be"
    )
    replayed = serializers.BooleanField(required=False)
    notification = NotificationOutput(required=False, help_text="When 202 or 200")
    error = serializers.DictField(
        required=False, help_text="When refused: the API's error shape (error, detail, fields)"
    )


class BatchOutput(serializers.Serializer):
    results = BatchResult(many=True, help_text="One per item, in order")


def _items(body: Any) -> list[Any] | None:
    items = body.get("notifications") if isinstance(body, Mapping) else None
    return items if isinstance(items, list) else None


class NotificationBatchApi(APIView):
    permission_classes = [HasScope]
    required_scopes = {"POST": "send"}

    def rate_cost(self, request: Request) -> int:
        """The rate limit counts the notifications a batch carries, not the request."""
        items = _items(request.data)
        return len(items) if items else 1

    @extend_schema(
        tags=["notifications"],
        request=BatchInput,
        responses={200: BatchOutput},
        summary="Create many notifications",
        description="Each item is created exactly as POST /notifications/ would create it, "
        "and answered on its own: a bad item does not stop the others. Accepted items are "
        "committed together, after every item was checked. The rate limit counts items.",
        parameters=[
            idempotency_key_parameter(
                "Not accepted here (400, nothing stored): give each item its own "
                "idempotency_key, which replays that item as the header replays a single create."
            )
        ],
    )
    def post(self, request: Request) -> Response:
        idempotency_key_refuse(request)
        items = self._shape(request.data)
        results: list[dict[str, Any] | None] = [None] * len(items)
        valid: list[tuple[int, BatchItem]] = []
        # One serializer for every item: building one per item (DRF deep-copies its fields)
        # cost more than validating.
        check = BatchItemInput()
        for index, raw in enumerate(items):
            # The common shape in plain code; anything else, and every error, by the serializer.
            fields = item_check(raw)
            if fields is None:
                try:
                    fields = dict(check.run_validation(raw))
                except serializers.ValidationError as exc:
                    results[index] = _refused(index, serializers.ValidationError(exc.detail))
                    continue
            key = fields.pop("idempotency_key", None) or None
            # The body a single create would have had: the same key replays across both.
            body = {k: v for k, v in raw.items() if k != "idempotency_key"}
            valid.append((index, BatchItem(fields, key, request_fingerprint(body))))
        answers = notifications_submit_many(
            api_key=caller_key(request), items=[item for _, item in valid]
        )
        utc = in_utc()  # asked once for the whole answer, not per item
        for (index, _), answer in zip(valid, answers, strict=True):
            if isinstance(answer, Accepted):
                results[index] = _accepted(index, answer, utc)
            else:
                results[index] = _refused(index, refusal_error(answer))
        return Response({"results": results}, status=status.HTTP_200_OK)

    def _shape(self, body: Any) -> list[dict[str, Any]]:
        """The list of items, or a 400 for the whole request (nothing is stored)."""
        items = _items(body)
        if not items or not all(isinstance(i, Mapping) for i in items):
            raise serializers.ValidationError(
                {"notifications": ["A non-empty list of notification objects is required."]}
            )
        limit = settings.NOTIFY_BATCH_MAX_ITEMS
        if len(items) > limit:
            raise serializers.ValidationError(
                {"notifications": [f"At most {limit} notifications per batch."]}
            )
        return items


def _accepted(index: int, accepted: Accepted, utc: bool) -> dict[str, Any]:
    answer: dict[str, Any] = {"index": index, "status": 200 if accepted.replayed else 202}
    if accepted.replayed:
        answer["replayed"] = True
    answer["notification"] = notification_body(accepted.notification, accepted.deliveries, utc=utc)
    return answer


def _refused(index: int, exc: Any) -> dict[str, Any]:
    return {"index": index, "status": exc.status_code, "error": error_body(exc)}
