"""Accepting many different notifications in one request (POST /notifications/batch/). Each
item gets exactly what a single create would give it — the same drafting, the same planning
(`notification_draft`, `deliveries_plan` over `Facts`, as a broadcast chunk uses), its own
Idempotency-Key — but the batch is read and written in bulk.

One transaction per batch: items that fail (bad content, nobody to reach, a key in use or
reused with another body) are answered with their error and leave nothing behind; the others
commit together. Items are applied as if one after another: an item that names a recipient
or an idempotency key an earlier item named waits for a later round, which sees what the
earlier one wrote (the merged contact points, the frequency cap, the key to replay)."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import transaction
from django.utils import timezone

from channels import names as channel_names
from notify.models.apikeys import ApiKey
from notify.models.notifications import Delivery, DeliveryStatus, Notification
from notify.models.preferences import Category
from notify.models.recipients import Recipient
from notify.services.accepting.batch_keys import (
    BatchItem,
    batch_keys_lock,
    batch_replays,
    batch_rounds,
)
from notify.services.accepting.facts import Facts
from notify.services.accepting.notifications import (
    Accepted,
    IdempotencyInFlight,
    IdempotencyMismatch,
    NothingToSend,
    announce,
    idempotency_scope,
)
from notify.services.accepting.planning import deliveries_plan
from notify.services.accepting.policy import cap_window_start
from notify.services.accepting.submission import (
    Draft,
    InvalidRequest,
    notification_draft,
    priority_of,
    recipient_contact,
)
from notify.services.content.render_limits import request_render_budget
from notify.services.content.rendering import TemplateCache
from notify.services.digests.gathering import digest_preview, digests_join_items
from notify.services.outbox.doorbell import bells_ring_for
from notify.services.recipients.categories import GENERAL, categories_find, is_critical
from notify.services.recipients.recipients import recipients_find_many, recipients_upsert_many
from notify.services.rows import row_build, rows_insert

# What an item that was not accepted is answered with.
Refusal = InvalidRequest | NothingToSend | IdempotencyInFlight | IdempotencyMismatch


def notification_submit(
    *, api_key: ApiKey, data: dict[str, Any], idempotency_key: str | None, fingerprint: str
) -> Accepted:
    """A single create (POST /notifications/): a batch of one, so one accept path serves both
    and the single create gets the batch's cheaper reads and writes. Raises the refusal."""
    (answer,) = notifications_submit_many(
        api_key=api_key, items=[BatchItem(data, idempotency_key, fingerprint)]
    )
    if not isinstance(answer, Accepted):
        raise answer
    return answer


def notifications_submit_many(
    *, api_key: ApiKey, items: list[BatchItem]
) -> list[Accepted | Refusal]:
    """One answer per item, in order: Accepted (replayed or new) or the exception a single
    create would have raised for it."""
    results: list[Accepted | Refusal | None] = [None] * len(items)
    accepted: list[Notification] = []
    due: set[tuple[str, int]] = set()
    with transaction.atomic(), request_render_budget():
        scope = idempotency_scope(api_key)
        busy = batch_keys_lock(scope, {i.idempotency_key for i in items if i.idempotency_key})
        run = _Run(api_key=api_key, now=timezone.now(), alone=len(items) == 1)
        for indices in batch_rounds(items):
            todo = []
            for i in indices:
                if items[i].idempotency_key in busy:
                    results[i] = IdempotencyInFlight(items[i].idempotency_key)
                else:
                    todo.append(i)
            todo = batch_replays(scope, items, todo, results)
            created, deliveries = run.accept([(i, items[i]) for i in todo], results)
            accepted += created
            due |= {
                (d.channel, d.priority)
                for d in deliveries
                if d.status == DeliveryStatus.PENDING and d.next_attempt_at <= timezone.now()
            }
        transaction.on_commit(lambda: bells_ring_for(due))
        transaction.on_commit(lambda: _announce_all(accepted))
    assert all(r is not None for r in results)
    return results  # type: ignore[return-value]


def _announce_all(notifications: list[Notification]) -> None:
    for notification in notifications:
        announce(notification)


@dataclass
class _Ready:
    """An item drafted and ready to plan."""

    index: int
    item: BatchItem
    draft: Draft
    category: Category | None
    critical: bool


class _Run:
    """What one batch remembers across its rounds: categories and templates it has looked
    up, and the time it was accepted at."""

    def __init__(self, *, api_key: ApiKey, now: datetime, alone: bool) -> None:
        self.api_key, self.tenant, self.now, self.alone = api_key, api_key.tenant, now, alone
        self._categories: dict[str, Category | None] = {}
        self._resolve = TemplateCache()

    def accept(
        self, entries: list[tuple[int, BatchItem]], results: list[Any]
    ) -> tuple[list[Notification], list[Delivery]]:
        """Accept one round (no two entries share a recipient or a key)."""
        if not entries:
            return [], []
        stored = recipients_find_many(
            tenant=self.tenant, external_ids=[item.data["recipient"]["id"] for _, item in entries]
        )
        self._find_categories({item.data.get("category") or GENERAL for _, item in entries})
        ready = []
        for index, item in entries:
            try:
                ready.append(self._draft(index, item, stored.get(item.data["recipient"]["id"])))
            except InvalidRequest as exc:
                results[index] = exc
        # Someone nobody can reach leaves no trace (a single create rolls back its recipient
        # too): write the round, and if anyone was unreachable undo it and write the rest,
        # whose planning does not depend on the others'.
        planned: dict[int, tuple[Notification, list[Delivery]]] = {}
        # A batch of one (a single create) needs no savepoint: when its item is unreachable,
        # the whole transaction is rolled back, two round trips fewer per create.
        rows: dict[str, Recipient] | None = stored  # current until a rollback
        while ready:
            savepoint = None if self.alone else transaction.savepoint()
            planned = self._plan(ready, rows)
            unreachable = [r for r in ready if not planned[r.index][1]]
            if not unreachable:
                if savepoint:
                    transaction.savepoint_commit(savepoint)
                break
            if savepoint:
                transaction.savepoint_rollback(savepoint)
            else:
                transaction.set_rollback(True)
            rows = None  # the upsert changed them in memory: read them again
            for r in unreachable:
                results[r.index] = NothingToSend()
            ready = [r for r in ready if planned[r.index][1]]
        if not ready:
            return [], []
        notifications = [planned[r.index][0] for r in ready]
        deliveries = [d for r in ready for d in planned[r.index][1]]
        items = [(r.item.data, *planned[r.index], r.category) for r in ready]
        digests_join_items(api_key=self.api_key, items=items)
        rows_insert(Notification, notifications)
        rows_insert(Delivery, deliveries)
        for r in ready:
            n, ds = planned[r.index]
            results[r.index] = Accepted(n, ds, replayed=False)
        return notifications, deliveries

    def _draft(self, index: int, item: BatchItem, stored: Recipient | None) -> _Ready:
        data, recipient = item.data, item.data["recipient"]
        known = {
            **recipient_contact(stored),
            **{k: v for k, v in recipient.items() if k != "push_tokens"},
        }
        category = self._categories[data.get("category") or GENERAL]
        critical = is_critical(category=category, priority=priority_of(data))
        draft = notification_draft(
            tenant=self.tenant,
            data=digest_preview(data),
            known=known,
            critical=critical,
            resolve=self._resolve,
        )
        return _Ready(index, item, draft, category, critical)

    def _plan(
        self, ready: list[_Ready], stored: dict[str, Recipient] | None
    ) -> dict[int, tuple[Notification, list[Delivery]]]:
        rows = recipients_upsert_many(
            tenant=self.tenant, people=[r.item.data["recipient"] for r in ready], stored=stored
        )
        # Facts hold one category and one frequency-cap window: one set per combination
        # in the round, usually one.
        groups: dict[tuple[str, datetime | None], list[_Ready]] = defaultdict(list)
        for r in ready:
            key = r.item.data.get("category") or GENERAL
            since = None if r.critical else cap_window_start(r.item.data.get("send_at") or self.now)
            groups[(key, since)].append(r)
        planned = {}
        for (key, since), members in groups.items():
            facts = Facts(
                tenant=self.tenant,
                people=[rows[r.item.data["recipient"]["id"]] for r in members],
                category_key=key,
                since=since,
                # Devices and suppressions are read for every channel a member may use.
                channels={
                    c for r in members for c in r.item.data.get("channels") or channel_names()
                },
                category=self._categories[key],
            )
            for r in members:
                planned[r.index] = self._plan_one(r, rows[r.item.data["recipient"]["id"]], facts)
        return planned

    def _plan_one(
        self, r: _Ready, person: Recipient, facts: Facts
    ) -> tuple[Notification, list[Delivery]]:
        data, channels = r.item.data, r.item.data.get("channels")
        notification = row_build(
            Notification,
            tenant=self.tenant,
            api_key=self.api_key,
            recipient=person,
            category=data.get("category", ""),
            priority=priority_of(data),
            template_key=r.draft.template_key,
            template_version=r.draft.template_version,
            content=r.draft.content,
            send_at=data.get("send_at"),
            strategy=data.get("strategy", "all"),
            channel_order=list(channels or []),
            idempotency_key=r.item.idempotency_key or None,
            request_fingerprint=r.item.fingerprint,
        )
        return notification, deliveries_plan(
            notification, person, r.draft.content, channels, facts=facts
        )

    def _find_categories(self, keys: set[str]) -> None:
        wanted = keys - self._categories.keys()
        if not wanted:
            return
        self._categories.update(categories_find(tenant=self.tenant, keys=wanted))
