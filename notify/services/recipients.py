from __future__ import annotations

from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from notify.models.recipients import Device, Recipient
from notify.services.facts import LOOK_UP

_CONTACT_FIELDS = ("email", "phone", "locale", "timezone")


def recipient_upsert(
    *, tenant: str, external_id: str, stored: Any = LOOK_UP, **fields: Any
) -> Recipient:
    """Create the recipient or merge the given contact points into it. `push_tokens` (a list
    of tokens or {"token", "platform"} dicts) registers devices. `stored` is the row (or
    None) when the caller has just read it."""
    tokens = fields.pop("push_tokens", None) or []
    changes = _changes(fields)
    if stored is LOOK_UP:
        stored = Recipient.objects.filter(tenant=tenant, external_id=external_id).first()
    recipient = stored or _create(tenant=tenant, external_id=external_id, defaults=changes)
    stale = {k: v for k, v in changes.items() if getattr(recipient, k) != v}
    if stale:
        Recipient.objects.filter(pk=recipient.pk).update(**stale)
        for k, v in stale.items():
            setattr(recipient, k, v)
    for token in tokens:
        spec = token if isinstance(token, dict) else {"token": token}
        device_register(
            recipient=recipient, token=spec["token"], platform=spec.get("platform") or "unknown"
        )
    return recipient


def _create(*, tenant: str, external_id: str, defaults: dict[str, Any]) -> Recipient:
    try:
        with transaction.atomic():
            return Recipient.objects.create(tenant=tenant, external_id=external_id, **defaults)
    except IntegrityError:  # created concurrently by another request: merge into theirs
        return Recipient.objects.get(tenant=tenant, external_id=external_id)


def device_register(*, recipient: Recipient, token: str, platform: str = "unknown") -> Device:
    device, created = Device.objects.get_or_create(
        recipient=recipient, token=token, defaults={"platform": platform}
    )
    if not created and (not device.active or device.platform != platform):
        # A token the app registers again is alive again.
        device.active, device.deactivated_reason = True, ""
        if platform != "unknown":
            device.platform = platform
        device.save(update_fields=["active", "deactivated_reason", "platform", "updated_at"])
    return device


def device_remove(*, device: Device) -> None:
    device.delete()


def recipients_upsert_many(*, tenant: str, people: list[dict[str, Any]]) -> dict[str, Recipient]:
    """`recipient_upsert` for many people at once, in a few queries: {external id: row}.
    Used by broadcast expansion; the merge rules are the same."""
    wanted = {p["id"]: p for p in people}
    found = {
        r.external_id: r
        for r in Recipient.objects.filter(tenant=tenant, external_id__in=list(wanted))
    }
    fresh = [
        Recipient(tenant=tenant, external_id=external_id, **_changes(spec))
        for external_id, spec in wanted.items()
        if external_id not in found
    ]
    if fresh:
        # A concurrent request may create some of them first: keep its row, merge below.
        Recipient.objects.bulk_create(fresh, ignore_conflicts=True)
        found.update(
            (r.external_id, r)
            for r in Recipient.objects.filter(
                tenant=tenant, external_id__in=[r.external_id for r in fresh]
            )
        )
    stale, fields, now = [], set(), timezone.now()
    for external_id, spec in wanted.items():
        recipient = found[external_id]
        changed = {k: v for k, v in _changes(spec).items() if getattr(recipient, k) != v}
        for k, v in changed.items():
            setattr(recipient, k, v)
        if changed:
            recipient.updated_at = now  # bulk_update does not apply auto_now
            stale.append(recipient)
            fields |= set(changed)
    if stale:
        Recipient.objects.bulk_update(stale, [*sorted(fields), "updated_at"])
    for external_id, spec in wanted.items():
        for token in spec.get("push_tokens") or []:
            device = token if isinstance(token, dict) else {"token": token}
            device_register(
                recipient=found[external_id],
                token=device["token"],
                platform=device.get("platform") or "unknown",
            )
    return found


def _changes(fields: dict[str, Any]) -> dict[str, Any]:
    changes = {k: v for k, v in fields.items() if k in _CONTACT_FIELDS and v is not None}
    if "quiet_hours" in fields:  # None clears them
        quiet = fields["quiet_hours"] or {}
        changes["quiet_hours_start"] = quiet.get("start")
        changes["quiet_hours_end"] = quiet.get("end")
    return changes
