"""The worker side of the delivery path: a channel's lane as a stream of the outbox engine.
Claim due deliveries with a lease and a fencing token, send each through the channel, record
every outcome under the claim's token (outcomes.py)."""

from __future__ import annotations

import json
import logging
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

from django.conf import settings
from django.db import connection, models
from django.db.models import DEFERRED
from django.utils import timezone

from channels import DeliveryError, Message, get_channel
from notify.models.notifications import Delivery, Notification, Priority
from notify.observability.traceparent import span_continuing
from notify.services.delivering.gate import claim_gate
from notify.services.delivering.outcomes import SendResult, deliveries_record
from notify.services.delivering.prechecks import address_fold_case, deliveries_known
from notify.services.delivering.protection import rate_give_back, tenants_paused
from notify.services.outbox.doorbell import URGENT, stream_name
from notify.services.outbox.engine import Claimed

logger = logging.getLogger(__name__)
M = TypeVar("M", bound=models.Model)

# One statement claims and loads: the UPDATE takes the rows (lease, fencing token, attempt
# counted) and the SELECT around it returns what a send needs, with the notification's fields
# and the suppression that may have arrived since the notification was accepted (a bounce or
# a STOP), so a claim is one round trip to Postgres instead of three (claim, ORM load,
# suppression query). Plain addresses are normalised here as address_normal() does (case
# folded if the channel says so: fold_case); others are checked in Python (prechecks.py).
# The row names the provider this attempt goes to, so a sweeper that finds the worker gone
# pins the retry to the provider that may have the message, not to an earlier attempt's.
_CLAIM_SQL = """
WITH claimed AS (
    UPDATE notify_delivery SET status = 'sending', lease_token = %(token)s,
           lease_until = now() + make_interval(secs => %(lease)s),
           attempts = attempts + 1, updated_at = now(),
           provider = COALESCE(NULLIF(pinned_provider, ''), NULLIF(%(provider)s, ''), provider)
    WHERE id IN (
        SELECT d.id FROM notify_delivery d
        WHERE d.status = 'pending' AND d.channel = %(channel)s
          AND d.priority <= %(max_priority)s AND d.next_attempt_at <= now()
          AND (d.error_code = 'worker_lost') = %(quarantined)s
          {tenant_filter}
        ORDER BY d.priority, d.next_attempt_at
        LIMIT %(limit)s
        FOR UPDATE SKIP LOCKED)
    RETURNING id, channel, "to", priority, attempts, max_attempts, device_id, pinned_provider,
              notification_id
)
SELECT c.id, c.channel, c."to", c.priority, c.attempts, c.max_attempts, c.device_id,
       c.pinned_provider, n.id, n.content, n.category, n.tenant, n.created_at, n.trace_parent,
       (SELECT s.reason FROM notify_suppression s
        WHERE s.tenant = n.tenant AND s.channel = c.channel
          AND s.address = CASE WHEN %(fold_case)s THEN lower(c."to") ELSE c."to" END)
FROM claimed c JOIN notify_notification n ON n.id = c.notification_id
"""
_DELIVERY_FIELDS = (
    "id",
    "channel",
    "to",
    "priority",
    "attempts",
    "max_attempts",
    "device_id",
    "pinned_provider",
    "notification_id",
)
_NOTIFICATION_FIELDS = ("id", "content", "category", "tenant", "created_at", "trace_parent")
# Tenants that paused this channel for themselves: their deliveries stay pending, unclaimed.
_TENANT_FILTER = """AND NOT EXISTS (
            SELECT 1 FROM notify_notification n
            WHERE n.id = d.notification_id AND n.tenant = ANY(%(paused)s))"""


@dataclass(frozen=True)
class Send:
    """One claimed delivery and what to do with it: a message for the provider, or an
    outcome already known before sending (prechecks.py: a suppressed address, no content)."""

    delivery: Delivery
    message: Message
    known: SendResult | None = None


class DeliveryStream:
    """A channel's lane as an outbox stream (notify/services/outbox/engine.py): claims
    are sized by the provider's global rate limit and skipped while its circuit is open or it asked
    us to pause (the work stays pending, no attempt is spent); outcomes go through outcomes.py."""

    def __init__(self, *, channel: str, lane: str, limit: int) -> None:
        self.channel, self.lane, self.limit = channel, lane, limit
        self.name = stream_name(channel, lane)
        self.urgent = lane == URGENT
        self._handler = get_channel(channel)

    def claim(self, room: int) -> Claimed:
        gate = claim_gate(channel=self.channel, want=room)
        if not gate.provider or not gate.granted:
            return Claimed(wait=gate.wait)
        provider, granted, paused = gate.provider, gate.granted, gate.tenants_paused
        token, deliveries, known = _claim(
            channel=self.channel, lane=self.lane, limit=granted, paused=paused, provider=provider
        )
        more = len(deliveries) >= granted
        if not deliveries:
            # Deliveries whose worker died go one at a time: if one of them is what kills
            # workers, it takes down no one else, and runs out of attempts alone.
            token, deliveries, known = _claim(
                channel=self.channel,
                lane=self.lane,
                limit=1,
                paused=paused,
                quarantined=True,
                provider=provider,
            )
            more = bool(deliveries)
        rate_give_back(provider=provider, count=granted - len(deliveries))
        items = [Send(d, _message(d, provider), known.get(d.id)) for d in deliveries]
        # The provider's rate cut this claim short: come back when it allows more.
        return Claimed(items=items, token=token, more=more, wait=gate.wait if granted < room else 0)

    def send(self, item: Send) -> SendResult:
        if item.known:
            return item.known
        with span_continuing(item.delivery.notification.trace_parent, f"send/{self.channel}"):
            return _send_one(self._handler, item.message)

    def record(self, done: list[tuple[uuid.UUID, Send, SendResult]]) -> None:
        by_token: dict[uuid.UUID, list[tuple[Send, SendResult]]] = {}
        for token, item, result in done:
            by_token.setdefault(token, []).append((item, result))
        for token, pairs in by_token.items():
            deliveries_record(
                channel=self.channel,
                token=token,
                deliveries=[item.delivery for item, _ in pairs],
                results=[result for _, result in pairs],
            )


def _choose_provider(channel: str) -> tuple[str, float]:
    """The first provider for the channel that may be sent to now, else how long to wait
    (PAUSED_UNTIL_RESUMED while an operator has paused the channel or all its providers)."""
    gate = claim_gate(channel=channel, want=0)
    return (gate.provider, 0.0) if gate.provider else ("", gate.wait)


def deliveries_claim(
    *, channel: str, lane: str, limit: int, quarantined: bool = False
) -> tuple[uuid.UUID, list[Delivery]]:
    """Take exclusive, leased ownership of up to `limit` due deliveries. The claim commits
    before any provider call, so a task run twice (or a message delivered twice) sends once.
    `quarantined` claims among deliveries whose previous worker died mid-send instead."""
    token, deliveries, _ = _claim(
        channel=channel,
        lane=lane,
        limit=limit,
        paused=tenants_paused(channel=channel),
        quarantined=quarantined,
    )
    return token, deliveries


def _claim(
    *,
    channel: str,
    lane: str,
    limit: int,
    paused: list[str],
    quarantined: bool = False,
    provider: str = "",
) -> tuple[uuid.UUID, list[Delivery], dict[Any, SendResult]]:
    """deliveries_claim, plus the outcomes known before sending (prechecks.py).
    `provider`: where the sends will go, recorded on the rows (a pin wins)."""
    token = uuid.uuid4()
    max_priority = Priority.HIGH if lane == URGENT else Priority.LOW
    sql = _CLAIM_SQL.format(tenant_filter=_TENANT_FILTER if paused else "")
    with connection.cursor() as cursor:
        cursor.execute(
            sql,
            {
                "paused": paused,
                "token": token,
                "lease": settings.NOTIFY_LEASE_SECONDS,
                "channel": channel,
                "max_priority": int(max_priority),
                "limit": limit,
                "quarantined": quarantined,
                "fold_case": address_fold_case(channel),
                "provider": provider,
            },
        )
        rows = cursor.fetchall()
    deliveries, stored = [], {}
    for row in rows:
        notification = _loaded(Notification, _NOTIFICATION_FIELDS, row[8:14])
        delivery = _loaded(Delivery, _DELIVERY_FIELDS, (*row[:8], row[8]))
        delivery.notification = notification
        deliveries.append(delivery)
        stored[delivery.id] = row[14]
    known = deliveries_known(channel=channel, deliveries=deliveries, stored=stored)
    return token, deliveries, known


def _loaded(model: type[M], names: tuple[str, ...], values: Sequence[Any]) -> M:
    """An instance as the ORM would load it with .only(names): from_db wants the values in
    the model's field order, the rest deferred; jsonb arrives undecoded from Django's
    psycopg2 backend (JSONField decodes it), so content is decoded here."""
    given = dict(zip(names, values, strict=True))
    if isinstance(given.get("content"), str | bytes):
        given["content"] = json.loads(given["content"])
    fields = model._meta.concrete_fields
    ordered = [given.get(f.attname, DEFERRED) for f in fields]
    return model.from_db("default", names, ordered)


def deliveries_send(
    *, channel: str, token: uuid.UUID, deliveries: list[Delivery], provider: str = ""
) -> None:
    """Send claimed deliveries one after another on this thread and record the outcomes: the
    one-task-per-delivery baseline of the benchmark (bench/naive.py); workers use the outbox."""
    handler = get_channel(channel)
    known = deliveries_known(channel=channel, deliveries=deliveries)
    results = [known.get(d.id) or _send_one(handler, _message(d, provider)) for d in deliveries]
    deliveries_record(channel=channel, token=token, deliveries=deliveries, results=results)


def _message(delivery: Delivery, provider: str) -> Message:
    notification = delivery.notification
    return Message(
        delivery_id=str(delivery.id),
        notification_id=str(notification.id),
        to=delivery.to,
        content=notification.content.get(delivery.channel, {}),
        priority=Priority(delivery.priority).label,
        category=notification.category,
        provider=delivery.pinned_provider or provider,
    )


def _send_one(handler: object, message: Message) -> SendResult:
    started: datetime = timezone.now()
    clock = time.perf_counter()
    provider = ""
    try:
        provider = message.provider or handler.provider  # type: ignore[attr-defined]
        provider_id = handler.send(message)  # type: ignore[attr-defined]
        error = None
    except DeliveryError as exc:
        provider_id, error = "", exc
    except Exception as exc:
        # A bug or an SDK surprise: retry it like a transient error, but say so loudly.
        logger.exception(
            "%s: unexpected error sending delivery %s", provider or "?", message.delivery_id
        )
        provider_id = ""
        error = DeliveryError(f"unexpected {type(exc).__name__}: {exc}", code="internal")
    return SendResult(
        delivery_id=message.delivery_id,
        provider=provider,
        provider_message_id=provider_id,
        error=error,
        started_at=started,
        duration_ms=int((time.perf_counter() - clock) * 1000),
    )
