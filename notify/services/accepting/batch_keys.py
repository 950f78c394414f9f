"""A batch's items in order: which go in which round (an item waits for the earlier items
naming the same recipient or idempotency key), and which are answered by their key before
any work (held by another request, or used before)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db import connection
from django.db.models import Prefetch

from notify.models.notifications import Delivery, Notification
from notify.services.accepting.notifications import Accepted, IdempotencyMismatch


@dataclass(frozen=True)
class BatchItem:
    """One validated notification request (the body of a single create), with its key."""

    data: dict[str, Any]
    idempotency_key: str | None
    fingerprint: str


def batch_rounds(items: list[BatchItem]) -> list[list[int]]:
    """Indices in rounds: an item goes one round after the last earlier item with the same
    recipient or the same idempotency key, so within a round no two items touch the same
    person or key and the round can be written in bulk."""
    last: dict[tuple[str, str], int] = {}
    rounds: list[list[int]] = []
    for i, item in enumerate(items):
        marks = [("recipient", item.data["recipient"]["id"])]
        if item.idempotency_key:
            marks.append(("key", item.idempotency_key))
        n = 1 + max((last.get(m, -1) for m in marks), default=-1)
        for m in marks:
            last[m] = n
        if n == len(rounds):
            rounds.append([])
        rounds[n].append(i)
    return rounds


def batch_keys_lock(scope: str, keys: set[str]) -> set[str]:
    """The single create's transaction-scoped lock, for every key at once; returns the keys
    another request holds (those items are answered 409, as a single create would be)."""
    if not keys:
        return set()
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT k FROM unnest(%s::text[]) AS k "
            "WHERE NOT pg_try_advisory_xact_lock(hashtext(%s), hashtext(k))",
            [sorted(keys), scope],
        )
        return {k for (k,) in cursor.fetchall()}


def batch_replays(
    scope: str, items: list[BatchItem], todo: list[int], results: list[Any]
) -> list[int]:
    """Answer the items whose key was used before (the first answer again, or a mismatch);
    returns the rest."""
    keys = [items[i].idempotency_key for i in todo if items[i].idempotency_key]
    if not keys:
        return todo
    found = {
        n.idempotency_key: n
        for n in Notification.objects.filter(tenant=scope, idempotency_key__in=keys)
        .select_related("recipient")
        .prefetch_related(Prefetch("deliveries", Delivery.objects.order_by("created_at")))
    }
    rest = []
    for i in todo:
        item = items[i]
        existing = found.get(item.idempotency_key or "")
        if existing is None:
            rest.append(i)
        elif existing.request_fingerprint != item.fingerprint:
            results[i] = IdempotencyMismatch(item.idempotency_key)
        else:
            results[i] = Accepted(existing, list(existing.deliveries.all()), replayed=True)
    return rest
