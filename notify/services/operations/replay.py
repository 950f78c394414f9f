"""Dead letters: finding failed deliveries by what went wrong, and replaying them. A replay
moves only `failed` deliveries back to pending with a fresh attempt budget, so replaying the
same deliveries twice moves nothing the second time; every replay is recorded."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from django.db.models import OuterRef, QuerySet, Subquery

from notify.models.notifications import Delivery, DeliveryAttempt, DeliveryStatus
from notify.models.operations import Replay
from notify.services.operations.deliveries import deliveries_retry

logger = logging.getLogger(__name__)

# Deliveries moved per transaction: a replay of a large outage holds no lock for long.
_CHUNK = 1000


def deliveries_filter(
    queryset: QuerySet[Delivery],
    *,
    channel: str | None = None,
    provider: str | None = None,
    error_code: str | None = None,
    outcome: str | None = None,
    failed_after: datetime | None = None,
    failed_before: datetime | None = None,
) -> QuerySet[Delivery]:
    """Narrow deliveries the way operators look for dead letters. `outcome` is the error
    class of the last attempt (transient, permanent, config, ambiguous); the time bounds
    apply to the delivery's last change, which for a failed delivery is when it failed."""
    if channel:
        queryset = queryset.filter(channel=channel)
    if provider:
        queryset = queryset.filter(provider=provider)
    if error_code:
        queryset = queryset.filter(error_code=error_code)
    if failed_after:
        queryset = queryset.filter(updated_at__gte=failed_after)
    if failed_before:
        queryset = queryset.filter(updated_at__lt=failed_before)
    if outcome:
        queryset = queryset.annotate(last_outcome=last_outcome()).filter(last_outcome=outcome)
    return queryset


def last_outcome() -> Subquery:
    """The outcome of a delivery's latest attempt (a subquery on the delivery's pk)."""
    latest = DeliveryAttempt.objects.filter(delivery=OuterRef("pk")).order_by(
        "-number", "-started_at"
    )
    return Subquery(latest.values("outcome")[:1])


def deliveries_replay(
    *,
    delivery_ids: Iterable[Any] | None = None,
    filter: dict[str, Any] | None = None,
    requested_by: str,
    source: str,
    tenant: str | None = None,
) -> Replay:
    """Replay the failed deliveries among `delivery_ids`, or those matching `filter` (the
    keyword arguments of deliveries_filter). `tenant` limits it to one tenant's deliveries
    (the API); None reaches every tenant (the admin)."""
    if (delivery_ids is None) == (filter is None):
        raise ValueError("give either delivery_ids or filter")
    failed = Delivery.objects.filter(status=DeliveryStatus.FAILED)
    if tenant is not None:
        failed = failed.filter(notification__tenant=tenant)
    if delivery_ids is not None:
        ids = list(delivery_ids)
        failed = failed.filter(id__in=ids)
        recorded: dict[str, Any] = {"ids": [str(i) for i in ids]}
    else:
        failed = deliveries_filter(failed, **(filter or {}))
        recorded = {k: _jsonable(v) for k, v in (filter or {}).items() if v not in (None, "")}
    count = _replay_in_chunks(failed)
    replay = Replay.objects.create(
        requested_by=requested_by,
        source=source,
        tenant=tenant or "",
        filter=recorded,
        count=count,
    )
    logger.info("replay %s by %s (%s): %d deliveries", replay.id, requested_by, source, count)
    return replay


def _replay_in_chunks(failed: QuerySet[Delivery]) -> int:
    count, after = 0, None
    while True:
        chunk = failed.order_by("id")
        if after is not None:
            chunk = chunk.filter(id__gt=after)
        ids = list(chunk.values_list("id", flat=True)[:_CHUNK])
        if not ids:
            return count
        count += deliveries_retry(delivery_ids=ids)
        after = ids[-1]


def _jsonable(value: Any) -> Any:
    return value.isoformat() if isinstance(value, datetime) else value
