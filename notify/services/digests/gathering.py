"""Digests: messages for one recipient under one key are gathered and sent as one.

Joining happens in the accept path (a single notification, a batch item, a broadcast
chunk): the message is planned and stored as usual, but its deliveries wait, held, and the
digest (tenant, recipient, key) is opened or counted in the same transaction with one
`INSERT … ON CONFLICT` per accept or chunk. While the accept commits it holds the digest's
row lock, and the flush locks that row before it reads the items, so a message arriving
during a flush is in that digest or opens the next one, never neither. Flushing is an outbox
stream (digest_flush.py)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from django.db import transaction
from django.db.models.expressions import RawSQL
from django.utils import timezone

from notify.models.digests import Digest, DigestChoice
from notify.models.notifications import Delivery, DeliveryStatus, Notification
from notify.models.preferences import Category
from notify.models.recipients import Recipient
from notify.services.digests.opening import digests_upsert
from notify.services.outbox.doorbell import stream_ring
from notify.services.recipients.categories import GENERAL, category_find, is_critical
from notify.services.rows import LOOK_UP

STREAM = "digests"
# A joined message's deliveries: pending, never due, until the flush settles them.
HELD_UNTIL = datetime(9999, 1, 1, tzinfo=UTC)
HELD = "digest"  # error_code while held
DIGESTED = "digested"  # error_code once sent inside the digest notification
# A digest flushes when this many messages have joined, whatever it asked for: one render
# over its items stays bounded.
MAX_ITEMS = 1000


@dataclass(frozen=True)
class DigestRequest:
    """What a request brings to a digest: its template and data, and the digest it asked
    for (`rule` empty: only a recipient's per-category choice can make it one)."""

    template: str
    data: dict[str, Any] = field(default_factory=dict)
    key: str = ""
    rule: str = ""
    max_items: int | None = None


def digest_request(data: dict[str, Any]) -> DigestRequest | None:
    """From a validated notification request. Only templated messages can be digested: the
    digest is that template rendered over all of them."""
    if not data.get("template"):
        return None
    spec = data.get("digest") or {}
    return DigestRequest(
        template=data["template"],
        data=data.get("data") or {},
        key=spec.get("key", ""),
        rule=spec.get("window") or spec.get("schedule") or "",
        max_items=spec.get("max_items"),
    )


def digest_preview(data: dict[str, Any]) -> dict[str, Any]:
    """The request as rendered at accept: a message that asks for a digest is rendered as a
    digest of itself alone, so a template that needs `digest` renders, and one that cannot
    render is the caller's 400 now, not a failed flush later."""
    if not data.get("digest") or not data.get("template"):
        return data
    own: dict[str, Any] = data.get("data") or {}
    item = {"notification_id": "", "created_at": "", "data": own}
    return {**data, "data": {**own, "digest": {"count": 1, "items": [item]}}}


Join = tuple[Notification, Recipient, list[Delivery]]


def digests_join(
    *,
    tenant: str,
    api_key: Any,
    request: DigestRequest | None,
    joins: Sequence[Join],
    category: Category | None = LOOK_UP,
) -> int:
    """Put each planned notification into its recipient's open digest (opening it) if the
    request or the recipient's choice for the category asks for one: it gets the digest's
    id and its deliveries are held. Critical messages never wait, and a message none of
    whose deliveries would be sent is left alone. Returns how many joined."""
    if request is None or not joins:
        return 0
    first = joins[0][0]
    if category is LOOK_UP:
        category = category_find(tenant=tenant, key=first.category or GENERAL)
    if is_critical(category=category, priority=first.priority):
        return 0
    rules = _rules(request, category, [person for _, person, _ in joins])
    wanted = [
        (n, person, planned, *rules[person.pk])
        for n, person, planned in joins
        if person.pk in rules and any(d.status == DeliveryStatus.PENDING for d in planned)
    ]
    if not wanted:
        return 0
    now = timezone.now()
    for n, *_ in wanted:
        n.digest_data = request.data
    digests, opened = digests_upsert(
        tenant=tenant,
        api_key=api_key,
        first=first,
        template=request.template,
        wanted=wanted,
        now=now,
    )
    for n, person, planned, key, _, _ in wanted:
        digest = digests[(person.pk, key)]
        n.digest = digest
        for d in planned:
            if d.status == DeliveryStatus.PENDING:
                d.next_attempt_at, d.error_code = HELD_UNTIL, HELD
                d.last_error = f"waiting in digest '{key}' until {digest.flush_at.isoformat()}"
    if opened or any(d.flush_at <= now for d in digests.values()):
        # A new digest (the dispatcher learns its flush time) or one that filled up.
        transaction.on_commit(lambda: stream_ring(STREAM))
    return len(wanted)


def digests_join_items(
    *, api_key: Any, items: Sequence[tuple[dict[str, Any], Notification, list[Delivery], Any]]
) -> None:
    """digests_join for notifications that each came with their own request (a batch):
    (validated request, notification, planned deliveries, category row). Items asking for
    the same digest the same way are joined together, one statement per group rather than
    per item; each keeps its own data."""
    groups: dict[tuple[Any, ...], list[tuple[DigestRequest, Join, Any]]] = {}
    for data, notification, planned, category in items:
        request = digest_request(data)
        if request is None:
            continue
        group = (
            notification.tenant,
            request.template,
            request.key,
            request.rule,
            request.max_items,
            getattr(category, "pk", None),
            notification.category,
            notification.priority,
            tuple(notification.channel_order or ()),
            notification.strategy,
        )
        join = (notification, notification.recipient, planned)
        groups.setdefault(group, []).append((request, join, category))
    for members in groups.values():
        request, (first, *_), category = members[0]
        digests_join(
            tenant=first.tenant,
            api_key=api_key,
            request=request,
            joins=[join for _, join, _ in members],
            category=category,
        )
        for own, (notification, *_), _ in members:
            if notification.digest_id is not None:
                notification.digest_data = own.data


def _rules(
    request: DigestRequest, category: Category | None, people: list[Recipient]
) -> dict[Any, tuple[str, str, int]]:
    """Per recipient: (key, rule, max_items) of the digest to join, if any."""
    if request.rule:
        limit = min(request.max_items or MAX_ITEMS, MAX_ITEMS)
        return {p.pk: (request.key, request.rule, limit) for p in people}
    if category is None or category.pk is None:
        return {}
    chosen = DigestChoice.objects.filter(
        recipient_id__in=[p.pk for p in people], category=category
    ).values_list("recipient_id", "rule")
    return {pk: (f"category-{category.key}", rule, MAX_ITEMS) for pk, rule in chosen}


def digest_summary(notification: Notification) -> dict[str, Any] | None:
    """The `digest` of a notification's API body: the digest it joined, or for a digest's
    own notification the ids it carried. Reads only what the caller already fetched
    (select_related "digest" and "digest_sent"), so a list costs no query per row."""
    digest: Digest | None = None
    if notification.digest_id is not None:
        digest = notification.digest
    elif Notification.digest_sent.is_cached(notification):
        digest = getattr(notification, "digest_sent", None)
    if digest is None:
        return None
    body: dict[str, Any] = {
        "id": str(digest.id),
        "key": digest.key,
        "status": digest.status,
        "flush_at": digest.flush_at,
    }
    if notification.digest_id is None:
        body["notification_ids"] = list(digest.item_ids)
    return body


def digests_flush_now(*, digest_ids: Sequence[Any]) -> int:
    """An operator's "flush now": due at once; the stream sends them."""
    count = Digest.objects.filter(id__in=list(digest_ids), status=Digest.Status.OPEN).update(
        # now(): the transaction's clock, which the claim compares with (Now() is the
        # statement's, a moment later inside one transaction).
        flush_at=RawSQL("now()", [])
    )
    if count:
        transaction.on_commit(lambda: stream_ring(STREAM))
    return count


def digests_cancel(*, digest_ids: Sequence[Any], reason: str) -> int:
    """Close open digests without sending; their held messages are cancelled. Waits for a
    flush in progress (row lock): a digest it sent stays sent."""
    with transaction.atomic():
        ids = list(
            Digest.objects.select_for_update()
            .filter(id__in=list(digest_ids), status=Digest.Status.OPEN)
            .values_list("id", flat=True)
        )
        now = timezone.now()
        Delivery.objects.filter(
            notification__digest_id__in=ids, status=DeliveryStatus.PENDING, error_code=HELD
        ).update(status=DeliveryStatus.CANCELLED, last_error=reason, updated_at=now)
        Digest.objects.filter(id__in=ids).update(
            status=Digest.Status.CANCELLED,
            last_error=reason,
            closed_at=now,
            lease_token=None,
            lease_until=None,
        )
    return len(ids)
