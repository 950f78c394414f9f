"""What a chunk of digests carries: reading their held messages, and settling those messages'
deliveries once the digests are sent (digest_flush.py).

Both are a statement or two over the chunk, written as SQL rather than through the ORM: at a
daily digest's hour they touch every joined message (millions), and the ORM's per-row work
(a UUID object per id, JSON decoded through the field, the held deliveries' own ids
fetched only to be sent back) was about a fifth of the flush's CPU."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from django.db import connection

from notify.models.notifications import DeliveryStatus
from notify.services.accepting.digest_building import Item
from notify.services.digests.gathering import DIGESTED, HELD

# The digests' messages, oldest first (the digest_id index), then which of them still have a
# held delivery (not cancelled) by the notification_id index: never a scan of all held
# deliveries, which number in the millions before a daily digest's hour. Two statements
# rather than one with EXISTS: given statistics taken before the held rows arrived, the
# planner estimates almost no held deliveries and answers the EXISTS by scanning every
# pending delivery (measured: Postgres CPU per digest up by half in the digests phase).
# Ids come back as text: they are only printed (the items' notification_id) or sent back.
#
# "Held" is written so that no index on `status` can answer it (`status || ''`): with
# the same stale statistics the planner otherwise reads every pending delivery once per
# message of the chunk (a nested loop over the status index: one UPDATE of 5,000 messages
# ran for over two minutes, and was stopped, in `python -m bench.digest_cpu 20000 10
# --stale`). Only the notification_id index is left, whatever the statistics say.
_IS_HELD = f"d.error_code = '{HELD}' AND d.status || '' = '{DeliveryStatus.PENDING}'"
_JOINED_SQL = """
SELECT digest_id::text, id::text, created_at, digest_data FROM notify_notification
WHERE digest_id = ANY(%s::uuid[])
ORDER BY created_at, id
"""
_HELD_SQL = f"""
SELECT DISTINCT d.notification_id::text FROM notify_delivery AS d
WHERE d.notification_id = ANY(%s::uuid[]) AND {_IS_HELD}
"""  # noqa: S608 - constants, no input

# The held deliveries of the sent digests' messages, in one statement, by the notification_id
# index (_IS_HELD: a plan that cannot turn into a scan of every pending delivery); each
# reason names the digest and the notification that carried the message. A delivery
# cancelled since the read no longer matches and is left as it is.
_DIGESTED_SQL = f"""
UPDATE notify_delivery AS d SET status = %s, error_code = %s, last_error = v.note,
    next_attempt_at = now(), updated_at = now()
FROM unnest(%s::uuid[], %s::text[]) AS v(notification_id, note)
WHERE d.notification_id = v.notification_id AND {_IS_HELD}
"""  # noqa: S608 - constants, no input


def digests_items(digest_ids: Sequence[Any]) -> dict[Any, list[Item]]:
    """Each digest's joined messages still held, oldest first, keyed by the ids given;
    digests with none are absent."""
    by_text = {str(pk): pk for pk in digest_ids}
    items: dict[Any, list[Item]] = {}
    with connection.cursor() as cursor:
        cursor.execute(_JOINED_SQL, [list(by_text)])
        joined = cursor.fetchall()
        if not joined:
            return items
        cursor.execute(_HELD_SQL, [[pk for _, pk, _, _ in joined]])
        held = {pk for (pk,) in cursor.fetchall()}
    for digest_id, pk, at, data in joined:
        if pk in held:
            # Django reads jsonb as text (JSONField decodes it): decode it here, as it would.
            items.setdefault(by_text[digest_id], []).append(
                (pk, at, json.loads(data) if data is not None else None)
            )
    return items


def digests_settle_held(sent: dict[Any, Any], items: dict[Any, list[Item]]) -> None:
    """Mark `skipped`/`digested` the held deliveries of every message the digests in `sent`
    (digest id → its new notification's id) carried."""
    carried = [(pk, digest_id) for digest_id in sent for pk, _, _ in items[digest_id]]
    with connection.cursor() as cursor:
        cursor.execute(
            _DIGESTED_SQL,
            [
                DeliveryStatus.SKIPPED,
                DIGESTED,
                [pk for pk, _ in carried],
                [f"sent in digest {d} as notification {sent[d]}" for _, d in carried],
            ],
        )
