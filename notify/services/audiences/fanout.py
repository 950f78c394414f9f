"""Accepting one message for many recipients at once (a broadcast chunk). Each recipient
gets exactly what a single request would have produced — same rendering, same policy, same
deliveries, its own idempotency key — but the chunk is read and written in bulk: a few
queries per chunk instead of a dozen per person."""

from __future__ import annotations

import logging
from contextlib import nullcontext
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from channels import names as channel_names
from notify.models.apikeys import ApiKey
from notify.models.notifications import Delivery, DeliveryStatus, Notification
from notify.services.accepting.facts import Facts
from notify.services.accepting.notifications import announce
from notify.services.accepting.planning import deliveries_plan
from notify.services.accepting.policy import cap_window_start
from notify.services.accepting.submission import (
    RENDER_LIMIT,
    Draft,
    InvalidRequest,
    notification_draft,
    priority_of,
    recipient_contact,
)
from notify.services.content.render_limits import RenderPool, render_pool
from notify.services.content.rendering import TemplateCache
from notify.services.digests.gathering import Join, digest_preview, digest_request, digests_join
from notify.services.outbox.doorbell import bells_ring_for
from notify.services.recipients.categories import GENERAL, category_find, is_critical
from notify.services.recipients.recipients import recipients_upsert_many
from notify.services.rows import row_build, rows_insert

logger = logging.getLogger(__name__)


@dataclass
class FanOut:
    accepted: int = 0  # notifications created
    replayed: int = 0  # already created by an earlier run of the same chunk
    refused: int = 0  # invalid for this recipient (e.g. a template variable it lacks)
    unreachable: int = 0  # no channel can reach them
    over_budget: int = 0  # content not renderable within budget: deliveries skipped
    # The position in `people` where the chunk stopped (that recipient and those after it
    # were not handled: the render pool ran out, or the chunk's share of it), or None.
    stopped_at: int | None = None


def notifications_fan_out(
    *,
    api_key: ApiKey,
    request: dict[str, Any],
    people: list[tuple[str, dict[str, Any]]],
    broadcast_id: Any,
    pool: RenderPool | None = None,
) -> FanOut:
    """`request` is a validated notification request without its recipient; `people` pairs
    each recipient with its idempotency key. Call inside a transaction. Every render is
    charged to `pool` (the broadcast's render budget). The chunk stops early (`stopped_at`:
    what was drafted before is created, nothing after) when the pool runs out, or when the
    chunk has rendered for NOTIFY_DRAIN_BUDGET_SECONDS: a chunk of slow renders must commit
    (and so charge its time to the broadcast) well within the task's time limit."""
    tenant, report = api_key.tenant, FanOut()
    seen = set(
        Notification.objects.filter(
            tenant=tenant, idempotency_key__in=[key for key, _ in people]
        ).values_list("idempotency_key", flat=True)
    )
    report.replayed = len(seen)
    # With each one's position in `people`, where a stopped chunk says it stopped.
    todo = [(i, key, person) for i, (key, person) in enumerate(people) if key not in seen]
    if not todo:
        return report
    rows = recipients_upsert_many(tenant=tenant, people=[person for _, _, person in todo])
    data = dict(request)
    if isinstance(data.get("send_at"), str):
        data["send_at"] = parse_datetime(data["send_at"])
    priority = priority_of(data)
    category = data.get("category", "")
    found = category_find(tenant=tenant, key=category or GENERAL)
    critical = is_critical(category=found, priority=priority)
    channels: list[str] | None = data.get("channels")
    facts = Facts(
        tenant=tenant,
        people=rows.values(),
        category_key=category or GENERAL,
        since=None if critical else cap_window_start(data.get("send_at") or timezone.now()),
        channels=channels or channel_names(),
        category=found,
    )
    drafts = _Drafts(tenant=tenant, data=digest_preview(data), critical=critical, pool=pool)
    notifications: list[Notification] = []
    deliveries: list[Delivery] = []
    joins: list[Join] = []
    for position, key, person in todo:
        row = rows[person["id"]]
        known = {
            **recipient_contact(row),
            **{k: v for k, v in person.items() if k != "push_tokens"},
        }
        try:
            draft, spent = drafts.draft(known)
        except ChunkStop:
            report.stopped_at = position
            break
        except InvalidRequest as exc:
            # One recipient the message cannot be rendered for does not stop the others.
            logger.info("broadcast %s: %s not sent: %s", broadcast_id, key, exc.fields)
            report.refused += 1
            continue
        notification = row_build(
            Notification,
            tenant=tenant,
            api_key=api_key if api_key.pk else None,
            recipient=row,
            category=category,
            priority=priority,
            template_key=draft.template_key,
            template_version=draft.template_version,
            content=draft.content,
            send_at=data.get("send_at"),
            strategy=data.get("strategy", "all"),
            broadcast_id=broadcast_id,
            channel_order=list(channels or []),
            idempotency_key=key,
        )
        planned = deliveries_plan(notification, row, draft.content, channels, facts=facts)
        if not planned:
            report.unreachable += 1
            continue
        if spent is not None:
            _skip_over_budget(planned, spent)
            report.over_budget += 1
        notifications.append(notification)
        deliveries += planned
        joins.append((notification, row, planned))
    digests_join(
        tenant=tenant,
        api_key=api_key,
        request=digest_request(data),
        joins=joins,
        category=found,
    )
    _store(notifications, deliveries)
    report.accepted = len(notifications)
    return report


def _store(notifications: list[Notification], deliveries: list[Delivery]) -> None:
    """Write the chunk's rows (COPY, as a batch's: rows.py says why); once committed, wake
    the dispatchers and announce them."""
    rows_insert(Notification, notifications)
    rows_insert(Delivery, deliveries)
    now = timezone.now()
    due = {
        (d.channel, d.priority)
        for d in deliveries
        if d.status == DeliveryStatus.PENDING and d.next_attempt_at <= now
    }
    transaction.on_commit(lambda: bells_ring_for(due))
    transaction.on_commit(lambda: _announce_all(notifications))


class _Drafts:
    """notification_draft for each recipient of a chunk, except that content (inline, or a
    template in one locale) that went over its render budget for one recipient is not
    rendered again for the others: their contexts differ only by contact fields, and every
    retry would spend the whole budget again while the chunk holds the broadcast's row lock,
    which cancel waits for."""

    def __init__(
        self, *, tenant: str, data: dict[str, Any], critical: bool, pool: RenderPool | None
    ) -> None:
        self.tenant, self.data, self.critical, self.pool = tenant, data, critical, pool
        self.hand_over = (pool.spent if pool else 0) + settings.NOTIFY_DRAIN_BUDGET_SECONDS
        self.drafted = 0
        self.resolve = TemplateCache()
        self.over_budget: dict[Any, InvalidRequest] = {}

    def draft(self, known: dict[str, Any]) -> tuple[Draft, InvalidRequest | None]:
        """The draft, and the budget error if the content could not be rendered (the draft
        then names its channels, with no content). Raises InvalidRequest otherwise, and
        ChunkStop (nothing drafted for this recipient) when the pool has run out, also when
        it cut this recipient's render short (no fault of the content), or when the chunk
        has had its share: after at least one draft, so every chunk makes progress."""
        pool = self.pool
        if pool is not None and (pool.left <= 0 or (self.drafted and pool.spent >= self.hand_over)):
            raise ChunkStop
        self.drafted += 1
        source, key, version = self._source(known)
        spent = self.over_budget.get(source)
        if spent is None:
            try:
                with render_pool(pool) if pool is not None else nullcontext():
                    draft = notification_draft(
                        tenant=self.tenant,
                        data=self.data,
                        known=known,
                        critical=self.critical,
                        resolve=self.resolve,
                    )
                return draft, None
            except InvalidRequest as exc:
                if exc.code != RENDER_LIMIT:
                    raise
                if pool is not None and pool.left <= 0:
                    raise ChunkStop from exc
                logger.info("render budget exceeded: %s", exc.fields)
                spent = self.over_budget[source] = exc
        return Draft({c: {} for c in spent.channels}, key, version), spent

    def _source(self, known: dict[str, Any]) -> tuple[Any, str, int | None]:
        """Which content this recipient gets: (identity, template key, template version)."""
        if not self.data.get("template"):
            return ("content", "", None)
        key = self.data["template"]
        template = self.resolve(tenant=self.tenant, key=key, locale=known.get("locale", ""))
        if template is None:
            return (None, key, None)
        return (template.pk, template.key, template.version)


class ChunkStop(Exception):
    """Stop the chunk before this recipient: the broadcast's render budget is spent (the
    broadcast halts), or this chunk's share of it (the next chunk goes on from here)."""


def _skip_over_budget(planned: list[Delivery], exc: InvalidRequest) -> None:
    """Deliveries that would have been sent are skipped with the limit as the reason; those
    already skipped (no contact, opted out, …) keep their own."""
    reason = "; ".join(m for messages in exc.fields.values() for m in messages)
    for delivery in planned:
        if delivery.status == DeliveryStatus.PENDING:
            delivery.status = DeliveryStatus.SKIPPED
            delivery.error_code = RENDER_LIMIT
            delivery.last_error = reason


def _announce_all(notifications: list[Notification]) -> None:
    for notification in notifications:
        announce(notification)
