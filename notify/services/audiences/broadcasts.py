"""Topics and broadcasts. A broadcast is accepted at once (one row); a background task
expands it chunk by chunk (notify/services/audiences/fanout.py: the same rendering and policy as a
single notification, in bulk), each recipient under its own idempotency key, so a chunk
re-run after a crash creates nothing twice."""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from celery_app import app
from notify.models.apikeys import ApiKey
from notify.models.audiences import Broadcast, Subscription, Topic
from notify.models.notifications import Delivery, DeliveryStatus
from notify.models.recipients import Recipient
from notify.services.accepting.batch_keys import batch_keys_lock
from notify.services.accepting.notifications import (
    IdempotencyInFlight,
    IdempotencyMismatch,
    idempotency_scope,
)
from notify.services.accepting.submission import (
    RENDER_LIMIT,
    InvalidRequest,
    notification_draft,
    recipient_contact,
)
from notify.services.audiences.fanout import notifications_fan_out
from notify.services.audiences.progress import broadcast_progress_forget
from notify.services.content.render_limits import RenderPool
from notify.services.digests.gathering import digest_preview

logger = logging.getLogger(__name__)


def topic_subscribe(*, topic: Topic, recipient: Recipient) -> None:
    Subscription.objects.get_or_create(topic=topic, recipient=recipient)


def topic_unsubscribe(*, topic: Topic, recipient: Recipient) -> int:
    return Subscription.objects.filter(topic=topic, recipient=recipient).delete()[0]


@dataclass(frozen=True)
class BroadcastAccepted:
    broadcast: Broadcast
    replayed: bool  # an earlier request with the same Idempotency-Key created it


def broadcast_submit(
    *,
    api_key: ApiKey,
    message: dict[str, Any],
    recipients: list[dict[str, Any]] | None,
    topic: Topic | None,
    idempotency_key: str | None,
    fingerprint: str,
) -> BroadcastAccepted:
    """POST /broadcasts/: broadcast_create, under the caller's Idempotency-Key as a single
    create is: the same key and body answer the broadcast created first; a key another
    request holds raises IdempotencyInFlight, one used with another body
    IdempotencyMismatch. Keys of broadcasts are a set of their own, scoped to the tenant."""
    if not idempotency_key:
        broadcast = broadcast_create(
            api_key=api_key, message=message, recipients=recipients, topic=topic
        )
        return BroadcastAccepted(broadcast, replayed=False)
    scope = idempotency_scope(api_key)
    with transaction.atomic():
        if batch_keys_lock(f"broadcast:{scope}", {idempotency_key}):
            raise IdempotencyInFlight(idempotency_key)
        existing = (
            Broadcast.objects.filter(tenant=scope, idempotency_key=idempotency_key)
            .defer("recipients")
            .select_related("topic")
            .first()
        )
        if existing is not None:
            if existing.request_fingerprint != fingerprint:
                raise IdempotencyMismatch(idempotency_key)
            return BroadcastAccepted(existing, replayed=True)
        broadcast = broadcast_create(
            api_key=api_key,
            message=message,
            recipients=recipients,
            topic=topic,
            idempotency_key=idempotency_key,
            fingerprint=fingerprint,
        )
        return BroadcastAccepted(broadcast, replayed=False)


def broadcast_create(
    *,
    api_key: ApiKey,
    message: dict[str, Any],
    recipients: list[dict[str, Any]] | None,
    topic: Topic | None,
    idempotency_key: str | None = None,
    fingerprint: str = "",
) -> Broadcast:
    """`message` is a validated notification request without its recipient."""
    total = (
        len(recipients) if recipients is not None else topic.subscriptions.count() if topic else 0
    )
    with transaction.atomic():
        broadcast = Broadcast.objects.create(
            tenant=api_key.tenant,
            api_key=api_key,
            topic=topic,
            request=_jsonable(message),
            recipients=recipients or [],
            total=total,
            idempotency_key=idempotency_key or None,
            request_fingerprint=fingerprint,
        )
        transaction.on_commit(lambda: _expand_later(broadcast.pk))
    return broadcast


def broadcast_check(
    *, api_key: ApiKey, message: dict[str, Any], sample: dict[str, Any] | None
) -> None:
    """Render the message for one recipient (`sample`, the first of the list or topic)
    before anything is stored. Content over one message's render budget (a loop past the
    cap, a padding too wide, a render too slow) is over it for nearly every recipient, so
    the broadcast is refused: raises InvalidRequest (code RENDER_LIMIT) naming the limit.
    Other errors (a variable this recipient lacks) may be this recipient's alone: expansion
    leaves out the recipients they apply to."""
    if sample is None:
        return
    known = {k: v for k, v in sample.items() if k != "push_tokens"}
    try:
        notification_draft(
            tenant=api_key.tenant, data=digest_preview(message), known=known, critical=False
        )
    except InvalidRequest as exc:
        if exc.code == RENDER_LIMIT:
            raise


def broadcast_sample(*, topic: Topic) -> dict[str, Any] | None:
    """The topic's first subscriber as a template sees them, or None."""
    first = (
        Subscription.objects.filter(topic=topic).order_by("id").select_related("recipient").first()
    )
    if first is None:
        return None
    return {**recipient_contact(first.recipient), "id": first.recipient.external_id}


def broadcast_expand(*, broadcast_id: Any) -> bool:
    """Expand the next chunk; returns whether more remain (the task re-queues itself). The
    chunk and the progress counter commit together: a crash re-runs the whole chunk. Its
    render time is added to the broadcast's in the same update (a chunk that renders for
    NOTIFY_DRAIN_BUDGET_SECONDS ends there, so it always commits); once the broadcast's
    reaches NOTIFY_RENDER_MAX_BROADCAST_SECONDS, it is halted where it stands."""
    with transaction.atomic():
        broadcast = (
            Broadcast.objects.select_for_update(skip_locked=True)
            .filter(pk=broadcast_id, status__in=["accepted", "expanding"])
            .defer("recipients")  # up to 100,000 entries: each chunk reads only its slice
            .first()
        )
        if broadcast is None:
            return False  # done, cancelled, halted, or another worker holds it
        pool = RenderPool(
            limit=settings.NOTIFY_RENDER_MAX_BROADCAST_SECONDS, spent=broadcast.render_seconds
        )
        start, chunk = broadcast.expanded, settings.NOTIFY_BROADCAST_CHUNK
        people, cursors = _chunk(broadcast, start, chunk) if pool.left > 0 else ([], [])
        end = start + len(people)
        if people:
            report = notifications_fan_out(
                api_key=broadcast.api_key or ApiKey(tenant=broadcast.tenant),
                request=broadcast.request,
                # Each recipient's own idempotency key: re-running a chunk adds nothing.
                people=[(f"broadcast:{broadcast.pk}:{start + i}", p) for i, p in enumerate(people)],
                broadcast_id=broadcast.pk,
                pool=pool,
            )
            logger.info("broadcast %s: chunk at %d: %s", broadcast.pk, start, report)
            if report.stopped_at is not None:
                end = start + report.stopped_at
        broadcast.render_seconds = pool.spent
        if cursors and end > start:
            broadcast.topic_cursor = cursors[end - start - 1]
        if pool.left <= 0 and end < broadcast.total:
            _halt(broadcast, end, pool)
        else:
            broadcast.expanded = min(broadcast.total, end) if people else broadcast.total
            broadcast.status = "expanded" if broadcast.expanded >= broadcast.total else "expanding"
        broadcast.save(
            update_fields=[
                "expanded",
                "status",
                "reason",
                "render_seconds",
                "topic_cursor",
                "updated_at",
            ]
        )
    return broadcast.status == "expanding"


def _halt(broadcast: Broadcast, expanded: int, pool: RenderPool) -> None:
    """The render budget ran out: the recipients from `expanded` on get nothing."""
    broadcast.expanded, broadcast.status = expanded, Broadcast.Status.HALTED
    broadcast.reason = (
        f"Halted after {expanded} of {broadcast.total} recipients: "
        f"{pool.exhausted_message()} The others were not sent the message."
    )
    logger.warning("broadcast %s: %s", broadcast.pk, broadcast.reason)


# Positions start..end-1 of the stored list, sliced inside Postgres (~10 ms at 100,000).
_SLICE_SQL = """
SELECT jsonb_path_query_array(
    recipients, '$[$start to $last]', jsonb_build_object('start', %s, 'last', %s))
FROM notify_broadcast WHERE id = %s
"""


def _chunk(broadcast: Broadcast, start: int, size: int) -> tuple[list[dict[str, Any]], list[int]]:
    """The next `size` recipients, and for a topic broadcast each one's subscription id
    (the cursor to store after them)."""
    if broadcast.topic_id is None:
        with connection.cursor() as cursor:
            cursor.execute(_SLICE_SQL, [start, start + size - 1, broadcast.pk])
            (people,) = cursor.fetchone()
        return list(json.loads(people) if isinstance(people, str) else people), []
    # After the cursor, by the (topic, id) index: each chunk costs its own size, however far
    # the expansion has got (an OFFSET made Postgres read every earlier subscriber again:
    # 225 ms a chunk at 90,000 of 100,000).
    subscriptions = Subscription.objects.filter(topic_id=broadcast.topic_id)
    if broadcast.topic_cursor is not None:
        subscriptions = subscriptions.filter(id__gt=broadcast.topic_cursor)
    rows = list(subscriptions.order_by("id").values_list("id", "recipient__external_id")[:size])
    return [{"id": external_id} for _, external_id in rows], [pk for pk, _ in rows]


def broadcast_cancel(*, broadcast: Broadcast) -> int:
    """Stop expanding and cancel what has not been sent; returns deliveries cancelled."""
    Broadcast.objects.filter(
        pk=broadcast.pk, status__in=["accepted", "expanding", "expanded", "halted"]
    ).update(status="cancelled", updated_at=timezone.now())
    cancelled = Delivery.objects.filter(
        notification__broadcast=broadcast, status=DeliveryStatus.PENDING
    ).update(
        status=DeliveryStatus.CANCELLED, last_error="broadcast cancelled", updated_at=timezone.now()
    )
    # Once the cancel is committed: a count taken before then would otherwise be kept.
    transaction.on_commit(lambda: broadcast_progress_forget(broadcast_id=broadcast.pk))
    return cancelled


def broadcasts_resume() -> int:
    """Sweeper: re-queue expansions whose task was lost (nothing moved for a minute)."""
    stale = Broadcast.objects.filter(
        status__in=["accepted", "expanding"], updated_at__lt=timezone.now() - timedelta(minutes=1)
    )
    ids = list(stale.values_list("pk", flat=True)[:100])
    for broadcast_id in ids:
        _expand_later(broadcast_id)
    return len(ids)


def _expand_later(broadcast_id: Any) -> None:
    try:  # by name, like every task a service publishes (doorbell.py says why)
        app.send_task("notify.expand_broadcast", args=[str(broadcast_id)], queue="maintenance")
    except Exception:
        logger.warning("broadcast %s: expansion not queued; the sweeper will", broadcast_id)


def _jsonable(message: dict[str, Any]) -> dict[str, Any]:
    out = dict(message)
    if out.get("send_at") is not None:
        out["send_at"] = out["send_at"].isoformat()
    return out
