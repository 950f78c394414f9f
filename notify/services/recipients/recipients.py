from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from notify.models.recipients import Device, Recipient
from notify.services.rows import LOOK_UP, row_build, rows_insert_new, rows_select

CONTACT_FIELDS = ("email", "phone", "locale", "timezone")
_DEVICE_REVIVED = ["active", "deactivated_reason", "platform", "updated_at"]


def recipient_changes(fields: Mapping[str, Any]) -> dict[str, Any]:
    """The merge rule for contact points, as model fields: a field not given (or None) is
    kept, "" blanks it, and `quiet_hours` None clears them. Other keys are ignored."""
    changes = {k: v for k, v in fields.items() if k in CONTACT_FIELDS and v is not None}
    if "quiet_hours" in fields:
        quiet = fields["quiet_hours"] or {}
        changes["quiet_hours_start"] = quiet.get("start")
        changes["quiet_hours_end"] = quiet.get("end")
    return changes


def recipient_merge(*, recipient: Recipient, changes: dict[str, Any]) -> dict[str, Any]:
    """Apply `recipient_changes` output to the row in memory (nothing is saved); returns the
    fields whose values it changed."""
    stale = {k: v for k, v in changes.items() if getattr(recipient, k) != v}
    for k, v in stale.items():
        setattr(recipient, k, v)
    return stale


def recipients_find_many(*, tenant: str, external_ids: list[str]) -> dict[str, Recipient]:
    """The stored recipients, {external id: row}, each with `active_tokens` (its active devices'
    tokens) from the same query: registering a token the recipient already has then costs no
    round trip (recipients_upsert_many). Every accept makes this read: plain SQL."""
    found = rows_select(
        Recipient, _FIND_SQL, [tenant, external_ids], alias="r", extra=["active_tokens"]
    )
    return {r.external_id: r for r in found}


_FIND_SQL = """
SELECT {columns},
       ARRAY(SELECT DISTINCT d.token FROM notify_device d WHERE d.recipient_id = r.id AND d.active)
FROM notify_recipient r WHERE r.tenant = %s AND r.external_id = ANY(%s)
"""


def recipient_upsert(
    *, tenant: str, external_id: str, stored: Any = LOOK_UP, **fields: Any
) -> Recipient:
    """Create the recipient or merge the given contact points into it. `push_tokens` (a list
    of tokens or {"token", "platform"} dicts) registers devices. `stored` is the row (or
    None) when the caller has just read it."""
    tokens = fields.pop("push_tokens", None) or []
    changes = recipient_changes(fields)
    if stored is LOOK_UP:
        stored = Recipient.objects.filter(tenant=tenant, external_id=external_id).first()
    recipient = stored or _create(tenant=tenant, external_id=external_id, defaults=changes)
    stale = recipient_merge(recipient=recipient, changes=changes)
    if stale:
        Recipient.objects.filter(pk=recipient.pk).update(**stale)
    for spec in tokens:
        token, platform = _token_spec(spec)
        device_register(recipient=recipient, token=token, platform=platform)
    return recipient


def _create(*, tenant: str, external_id: str, defaults: dict[str, Any]) -> Recipient:
    try:
        with transaction.atomic():
            return Recipient.objects.create(tenant=tenant, external_id=external_id, **defaults)
    except IntegrityError:  # created concurrently by another request: merge into theirs
        return Recipient.objects.get(tenant=tenant, external_id=external_id)


def _token_spec(token: str | Mapping[str, Any]) -> tuple[str, str]:
    # A bare token, or {"token", "platform"}: (token, platform).
    spec = {"token": token} if isinstance(token, str) else token
    return spec["token"], spec.get("platform") or "unknown"


def device_register(*, recipient: Recipient, token: str, platform: str = "unknown") -> Device:
    device, created = Device.objects.get_or_create(
        recipient=recipient, token=token, defaults={"platform": platform}
    )
    if not created and _revive(device, platform):
        device.save(update_fields=_DEVICE_REVIVED)
    return device


def _revive(device: Device, platform: str) -> bool:
    """Registering a known token again: a token the app registers again is alive again, and
    a given platform ("unknown" is none) replaces the stored one. True if the row changed."""
    changed = not device.active or platform not in ("unknown", device.platform)
    device.active, device.deactivated_reason = True, ""
    if platform != "unknown":
        device.platform = platform
    return changed


def devices_register_many(
    *, tokens: Iterable[tuple[Recipient, str, str]], dry_run: bool = False
) -> list[Device]:
    """`device_register` for many (recipient, token, platform) at once, in at most three
    queries: {read known, insert new, update revived}. A token listed twice is applied in
    order, as repeated calls would. Returns the devices created or revived; with `dry_run`,
    works them out (unsaved recipients have no devices yet) and writes nothing."""
    entries = list(tokens)
    if not entries:
        return []
    found = rows_select(
        Device,
        "SELECT {columns} FROM notify_device d"
        " WHERE d.recipient_id = ANY(%s) AND d.token = ANY(%s)",
        [list({r.pk for r, _, _ in entries}), list({t for _, t, _ in entries})],
        alias="d",
    )
    known = {(d.recipient_id, d.token): d for d in found}
    new: dict[tuple[Any, str], Device] = {}
    revived: dict[tuple[Any, str], Device] = {}
    for recipient, token, platform in entries:
        key = (recipient.pk, token)
        if key in known:
            if _revive(known[key], platform):
                revived[key] = known[key]
        elif key in new:
            _revive(new[key], platform)
        else:
            new[key] = row_build(Device, recipient_id=recipient.pk, token=token, platform=platform)
    if not dry_run:
        # A token registered concurrently since the read is kept as it is (not revived).
        rows_insert_new(Device, list(new.values()))
        if revived:
            now = timezone.now()  # bulk_update does not apply auto_now
            for device in revived.values():
                device.updated_at = now
            Device.objects.bulk_update(revived.values(), _DEVICE_REVIVED)
    return [*new.values(), *revived.values()]


def device_remove(*, device: Device) -> None:
    device.delete()


def recipients_upsert_many(
    *, tenant: str, people: list[dict[str, Any]], stored: dict[str, Recipient] | None = None
) -> dict[str, Recipient]:
    """`recipient_upsert` for many people at once, in a few queries: {external id: row}.
    Used by broadcast expansion and batches; the merge rules are the same. `stored`: the rows
    of these people as the caller just read them in this transaction (absent: not stored),
    so they are not read again; they are updated in place."""
    wanted = {p["id"]: p for p in people}
    if stored is not None:
        found = {k: stored[k] for k in wanted if k in stored}
    else:
        found = recipients_find_many(tenant=tenant, external_ids=list(wanted))
    fresh = [
        row_build(Recipient, tenant=tenant, external_id=external_id, **recipient_changes(spec))
        for external_id, spec in wanted.items()
        if external_id not in found
    ]
    # A concurrent request may create some of them first: keep its row, merge below.
    written = rows_insert_new(Recipient, fresh)
    found.update((r.external_id, r) for r in fresh if r.pk in written)
    if len(written) < len(fresh):
        taken = [r.external_id for r in fresh if r.pk not in written]
        found.update(recipients_find_many(tenant=tenant, external_ids=taken))
    stale, fields, now = [], set(), timezone.now()
    for external_id, spec in wanted.items():
        recipient = found[external_id]
        changed = recipient_merge(recipient=recipient, changes=recipient_changes(spec))
        if changed:
            recipient.updated_at = now  # bulk_update does not apply auto_now
            stale.append(recipient)
            fields |= set(changed)
    if stale:
        Recipient.objects.bulk_update(stale, [*sorted(fields), "updated_at"])
    tokens = [
        (found[external_id], *_token_spec(token))
        for external_id, spec in wanted.items()
        for token in spec.get("push_tokens") or []
    ]
    # As in recipient_upsert: a known, active token with no platform to record changes nothing.
    devices_register_many(
        tokens=(
            (recipient, token, platform)
            for recipient, token, platform in tokens
            if platform != "unknown" or token not in getattr(recipient, "active_tokens", ())
        )
    )
    return found
