"""Outbound status webhooks: callers register endpoints per API key, and every status change
of a delivery of a notification sent with that key becomes an event in the outbox
(WebhookDelivery), sent by notify.services.webhooks.delivery.

Events are status changes a caller can see: a replay (`pending`, by an operator), `sent`,
`delivered`, `failed` and `skipped`. A worker's retry (pending again after a transient
error) is not a change of status, and `sending` is internal."""

from __future__ import annotations

import logging
import secrets
import uuid
from collections import defaultdict
from datetime import datetime
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from notify.models.apikeys import ApiKey
from notify.models.notifications import Delivery
from notify.models.webhooks import WebhookDelivery, WebhookEndpoint
from notify.services.delivering.events import DeliveryChange
from notify.services.webhooks.delivery import webhooks_ring
from notify.services.webhooks.targets import (
    TargetRefused,
    TargetUnresolved,
    target_address,
    target_parse,
)

logger = logging.getLogger(__name__)

_ANY_ACTIVE_SQL = f"SELECT 1 FROM {WebhookEndpoint._meta.db_table} WHERE active LIMIT 1"  # noqa: S608
WEBHOOK_EVENTS = ["pending", "sent", "delivered", "failed", "skipped"]
_DELIVERY_FIELDS = [
    "id",
    "notification_id",
    "notification__api_key_id",
    "channel",
    "to",
    "attempts",
    "provider",
    "provider_message_id",
    "last_error",
    "created_at",
    "updated_at",
    "sent_at",
    "delivered_at",
]


class InvalidWebhook(Exception):
    """The endpoint cannot be registered; the message says why (for the `url` field)."""

    def __init__(self, message: str, field: str = "url") -> None:
        super().__init__(message)
        self.field = field


# --- Endpoints ----------------------------------------------------------------------------


def webhook_endpoint_create(
    *, api_key: ApiKey, url: str, events: list[str] | None = None
) -> WebhookEndpoint:
    """Register `url` for the key's notifications. The secret is on the returned endpoint;
    show it to the caller now (the API shows it only here and on rotation)."""
    webhook_url_check(url=url)
    if WebhookEndpoint.objects.filter(api_key=api_key).count() >= (
        settings.NOTIFY_WEBHOOK_MAX_ENDPOINTS
    ):
        raise InvalidWebhook(
            f"At most {settings.NOTIFY_WEBHOOK_MAX_ENDPOINTS} endpoints per API key.",
            field="non_field_errors",
        )
    return WebhookEndpoint.objects.create(
        api_key=api_key,
        url=url,
        events=[e for e in WEBHOOK_EVENTS if e in set(events or [])],
        secret=_new_secret(),
    )


def webhook_url_check(*, url: str) -> None:
    """Refuse a URL Notify must not call (see target_address). When private targets are
    allowed, the host is not looked up here: it is resolved before each send anyway."""
    try:
        target = target_parse(url=url)
        if not settings.NOTIFY_WEBHOOKS_ALLOW_PRIVATE:
            target_address(target=target, allow_private=False)
    except (TargetRefused, TargetUnresolved) as exc:
        raise InvalidWebhook(str(exc)) from exc


def webhook_endpoint_rotate_secret(*, endpoint: WebhookEndpoint) -> WebhookEndpoint:
    """A new secret, in force for the next send; the old one stops working at once."""
    endpoint.secret = _new_secret()
    endpoint.save(update_fields=["secret"])
    return endpoint


def webhook_endpoint_delete(*, endpoint: WebhookEndpoint) -> None:
    """Remove the endpoint and its event log; events not yet sent are dropped."""
    endpoint.delete()


def _new_secret() -> str:
    return "whsec_" + secrets.token_hex(24)


# --- Events -------------------------------------------------------------------------------


def on_deliveries_changed(sender: Any, *, changes: list[DeliveryChange], **kwargs: Any) -> None:
    """Receiver of notify.signals.deliveries_changed (connected in apps.py)."""
    webhook_events_record(changes=changes)


def _any_active_endpoint() -> bool:
    """Asked after every recorded outcome, usually with no endpoint at all: plain SQL, as the
    ORM's .exists() cost more CPU to build than the query takes (docs/benchmark.md)."""
    with connection.cursor() as cursor:
        cursor.execute(_ANY_ACTIVE_SQL)
        return cursor.fetchone() is not None


def webhook_events_record(*, changes: list[DeliveryChange]) -> int:
    """Put an event in the outbox for each change and each matching endpoint of the key that
    sent the notification, then wake the sender; returns how many events."""
    wanted = [c for c in changes if _is_status_change(c)]
    if not wanted or not _any_active_endpoint():
        return 0
    active = WebhookEndpoint.objects.filter(active=True)
    rows_by_id = {
        str(d["id"]): d
        for d in Delivery.objects.filter(
            id__in=[c.delivery_id for c in wanted],
            notification__api_key_id__in=active.values("api_key_id"),
        ).values(*_DELIVERY_FIELDS)
    }
    if not rows_by_id:
        return 0
    endpoints: dict[Any, list[WebhookEndpoint]] = defaultdict(list)
    keys = {d["notification__api_key_id"] for d in rows_by_id.values()}
    for endpoint in active.filter(api_key_id__in=keys):
        endpoints[endpoint.api_key_id].append(endpoint)
    now = timezone.now()
    events = []
    for change in wanted:
        delivery = rows_by_id.get(change.delivery_id)
        if delivery is None:
            continue
        for endpoint in endpoints[delivery["notification__api_key_id"]]:
            if endpoint.events and change.status not in endpoint.events:
                continue
            event_id = uuid.uuid4()
            events.append(
                WebhookDelivery(
                    endpoint=endpoint,
                    event_id=event_id,
                    event_type=f"delivery.{change.status}",
                    payload=_payload(event_id, change, delivery, now),
                    next_attempt_at=now,
                )
            )
    WebhookDelivery.objects.bulk_create(events)
    if events:
        transaction.on_commit(webhooks_ring)
    return len(events)


def _is_status_change(change: DeliveryChange) -> bool:
    if change.status not in WEBHOOK_EVENTS:
        return False
    return not (change.status == "pending" and change.source == "worker")


def _payload(
    event_id: uuid.UUID, change: DeliveryChange, delivery: dict[str, Any], now: datetime
) -> dict[str, Any]:
    """The event as POSTed. The status is the one the change made (the row may have moved
    on since); the other fields are the delivery as it is now."""
    return {
        "id": str(event_id),
        "type": f"delivery.{change.status}",
        "created_at": _iso(now),
        "data": {
            "id": str(delivery["id"]),
            "notification_id": str(delivery["notification_id"]),
            "channel": delivery["channel"],
            "to": delivery["to"],
            "status": change.status,
            "attempts": delivery["attempts"],
            "provider": change.provider or delivery["provider"],
            "provider_message_id": delivery["provider_message_id"],
            "error_code": change.error_code,
            "error_class": change.outcome if change.status == "failed" else "",
            "last_error": delivery["last_error"],
            "created_at": _iso(delivery["created_at"]),
            "updated_at": _iso(delivery["updated_at"]),
            "sent_at": _iso(delivery["sent_at"]),
            "delivered_at": _iso(delivery["delivered_at"]),
        },
    }


def _iso(value: datetime | None) -> str | None:
    if value is None:
        return None
    return value.isoformat().replace("+00:00", "Z")
