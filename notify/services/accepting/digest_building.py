"""Building the notifications of many due digests at once: the broadcast fan-out's bulk
pieces (notify/services/audiences/fanout.py) — templates resolved once per locale, planning
facts fetched once per group of digests rather than once per person — with each digest
rendered over its own items. Nothing is written here; the flush writes it all in a few
statements (flush.py)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from channels import names as channel_names
from notify.models.digests import Digest
from notify.models.notifications import Delivery, Notification
from notify.services.accepting.facts import Facts
from notify.services.accepting.planning import deliveries_plan
from notify.services.accepting.policy import cap_window_start
from notify.services.accepting.submission import (
    InvalidRequest,
    notification_draft,
    recipient_contact,
)
from notify.services.content.rendering import TemplateCache
from notify.services.recipients.categories import GENERAL

# (notification id as text, created_at, digest_data) of one joined message still held.
Item = tuple[str, datetime, Any]


@dataclass
class Built:
    """Per digest: its notification and deliveries, or why it cannot be sent."""

    notifications: dict[Any, Notification] = field(default_factory=dict)
    deliveries: list[Delivery] = field(default_factory=list)
    failed: dict[Any, str] = field(default_factory=dict)


def digests_build(
    *, digests: Sequence[Digest], items: dict[Any, list[Item]], now: datetime
) -> Built:
    """The notification each digest sends (its idempotency key `digest:<id>`), planned
    through the normal rules: preferences, quiet hours, caps, suppressions, channels as
    they stand now. `digests` have their recipient and api_key loaded; `items` holds each
    one's messages, oldest first, and is not empty."""
    built = Built()
    resolve = TemplateCache()
    facts = _facts_by_group(digests, now)
    for digest in digests:
        person = digest.recipient
        data = _request(digest, items[digest.pk])
        known = {**recipient_contact(person), "id": person.external_id}
        try:
            draft = notification_draft(
                tenant=digest.tenant, data=data, known=known, critical=False, resolve=resolve
            )
        except InvalidRequest as exc:
            reason = "; ".join(f"{k}: {' '.join(v)}" for k, v in exc.fields.items())
            built.failed[digest.pk] = f"not rendered: {reason}"
            continue
        channels = digest.channels or None
        notification = Notification(
            tenant=digest.tenant,
            api_key_id=digest.api_key_id,
            recipient=person,
            category=digest.category,
            priority=digest.priority,
            template_key=draft.template_key,
            template_version=draft.template_version,
            content=draft.content,
            strategy=digest.strategy,
            channel_order=list(channels or []),
            idempotency_key=f"digest:{digest.pk}",
        )
        planned = deliveries_plan(
            notification, person, draft.content, channels, facts=facts[_group(digest)]
        )
        if not planned:
            built.failed[digest.pk] = "no channel can reach the recipient"
            continue
        built.notifications[digest.pk] = notification
        built.deliveries += planned
    return built


def _request(digest: Digest, items: list[Item]) -> dict[str, Any]:
    """The request the digest sends: its template over the usual context (the newest
    message's data) plus `digest`, all of its messages."""
    context = {
        "count": len(items),
        "items": [
            {"notification_id": str(pk), "created_at": at.isoformat(), "data": data or {}}
            for pk, at, data in items
        ],
    }
    return {
        "template": digest.template_key,
        "data": {**(items[-1][2] or {}), "digest": context},
        "channels": digest.channels or None,
        "category": digest.category,
    }


def _group(digest: Digest) -> tuple[str, str]:
    return (digest.tenant, digest.category or GENERAL)


def _facts_by_group(digests: Sequence[Digest], now: datetime) -> dict[tuple[str, str], Facts]:
    """One Facts per tenant and category (a digest is never critical, so the cap counts):
    a chunk of a daily digest is one group, a handful of queries for hundreds of people."""
    people: dict[tuple[str, str], list[Any]] = defaultdict(list)
    channels: dict[tuple[str, str], set[str]] = defaultdict(set)
    for digest in digests:
        people[_group(digest)].append(digest.recipient)
        channels[_group(digest)] |= set(digest.channels or channel_names())
    return {
        (tenant, category): Facts(
            tenant=tenant,
            people=found,
            category_key=category,
            since=cap_window_start(now),
            channels=channels[(tenant, category)],
        )
        for (tenant, category), found in people.items()
    }
