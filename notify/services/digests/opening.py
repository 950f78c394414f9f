"""Opening or counting into digests: one `INSERT … ON CONFLICT` for every (recipient, key) an
accept (a batch, a single create as a batch of one) or a broadcast chunk joins, rows in a
fixed order so two chunks lock shared digests in the same order."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from django.db import connection

from notify.ids import uuid7
from notify.models.digests import Digest
from notify.models.notifications import Delivery, Notification
from notify.models.recipients import Recipient
from notify.services.digests.rules import flush_time

# (notification, recipient, planned deliveries, key, rule, max_items)
Wanted = tuple[Notification, Recipient, list[Delivery], str, str, int]

_UPSERT = """
INSERT INTO notify_digest (id, tenant, recipient_id, key, rule, api_key_id, template_key,
    category, priority, channels, strategy, status, flush_at, max_items, count, item_ids,
    last_error, created_at)
VALUES {values}
ON CONFLICT (tenant, recipient_id, key) WHERE status = 'open' DO UPDATE SET
    count = notify_digest.count + EXCLUDED.count,
    flush_at = CASE WHEN notify_digest.count + EXCLUDED.count >= notify_digest.max_items
        THEN LEAST(notify_digest.flush_at, now()) ELSE notify_digest.flush_at END
RETURNING id, recipient_id, key, flush_at, (xmax = 0) AS opened
"""
_ROW = (
    "(%s, %s, %s, %s, %s, %s, %s, %s, %s, %s::jsonb, %s, 'open', COALESCE(%s, now()), %s, %s, "
    "'[]', '', now())"
)


def digests_upsert(
    *,
    tenant: str,
    api_key: Any,
    first: Notification,
    template: str,
    wanted: list[Wanted],
    now: datetime,
) -> tuple[dict[tuple[Any, str], Digest], int]:
    """Open or count into each (recipient, key) digest. Returns the digests and how many
    were opened."""
    groups: dict[tuple[Any, str], tuple[Recipient, str, int, int]] = {}
    for _, person, _, key, rule, max_items in wanted:
        seen = groups.get((person.pk, key))
        groups[(person.pk, key)] = (person, rule, max_items, (seen[3] if seen else 0) + 1)
    params: list[Any] = []
    for (pk, key), (person, rule, max_items, count) in sorted(groups.items(), key=str):
        due: datetime | None = flush_time(rule=rule, opened=now, timezone=person.timezone)
        if count >= max_items:
            due = None  # now(), the database's clock
        params += [
            uuid7(),
            tenant,
            pk,
            key,
            rule,
            getattr(api_key, "pk", None),
            template,
            first.category,
            first.priority,
            json.dumps(first.channel_order or []),
            first.strategy,
            due,
            max_items,
            count,
        ]
    sql = _UPSERT.format(values=", ".join([_ROW] * len(groups)))
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    digests = {
        (recipient_id, key): Digest(id=digest_id, key=key, flush_at=flush_at)
        for digest_id, recipient_id, key, flush_at, _ in rows
    }
    return digests, sum(1 for *_, opened in rows if opened)
