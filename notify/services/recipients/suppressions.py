from __future__ import annotations

from collections.abc import Iterable

from django.db import connection

from channels import CHANNELS
from channels.sms import SmsChannel
from notify.models.recipients import Recipient
from notify.models.suppressions import Suppression


def suppression_add(
    *, tenant: str, channel: str, address: str, reason: str, detail: str = ""
) -> None:
    """Idempotent: a second bounce for the same address changes nothing."""
    if not address:
        return
    Suppression.objects.get_or_create(
        tenant=tenant,
        channel=channel,
        address=address_normal(channel, address),
        defaults={"reason": reason, "detail": detail[:2000]},
    )


def suppression_remove(*, tenant: str, channel: str, address: str) -> int:
    deleted, _ = Suppression.objects.filter(
        tenant=tenant, channel=channel, address=address_normal(channel, address)
    ).delete()
    return deleted


def suppressed(*, tenant: str, channel: str, addresses: Iterable[str]) -> dict[str, str]:
    """{address: reason} for the given addresses that are suppressed on `channel`."""
    found = suppressed_any(tenant=tenant, addresses={channel: addresses})
    return {address: reason for (_, address), reason in found.items()}


def suppressed_any(
    *, tenant: str, addresses: dict[str, Iterable[str]]
) -> dict[tuple[str, str], str]:
    """{(channel, address): reason} for addresses suppressed on their channel: one query
    for every channel."""
    wanted = {
        (channel, address_normal(channel, a)): a
        for channel, some in addresses.items()
        for a in some
        if a
    }
    if not wanted:
        return {}
    # Plain SQL: every accept makes this read (accepting/rows.py says why).
    pairs = list(wanted)
    with connection.cursor() as cursor:
        cursor.execute(_SUPPRESSED_SQL, [tenant, [c for c, _ in pairs], [a for _, a in pairs]])
        rows = cursor.fetchall()
    return {(channel, wanted[(channel, address)]): reason for channel, address, reason in rows}


def address_normal(channel: str, address: str) -> str:
    # Each channel says how its addresses compare (email: case-insensitive mailbox names).
    spec = CHANNELS.get(channel)
    return spec.normalize(address) if spec is not None else address.strip()


def sms_opt_out_or_in(*, phone: str, stop: bool) -> int:
    """A person texted STOP (or START) to our number: (un)suppress that number for every
    tenant with a recipient using it. Returns how many tenants changed."""
    tenants = set(Recipient.objects.filter(phone=phone).values_list("tenant", flat=True))
    for tenant in tenants:
        if stop:
            suppression_add(
                tenant=tenant,
                channel=SmsChannel.name,
                address=phone,
                reason=Suppression.Reason.UNSUBSCRIBED,
                detail="replied STOP",
            )
        else:
            suppression_remove(tenant=tenant, channel=SmsChannel.name, address=phone)
    return len(tenants)


_SUPPRESSED_SQL = """
SELECT s.channel, s.address, s.reason FROM notify_suppression s
WHERE s.tenant = %s
  AND (s.channel, s.address) IN (SELECT * FROM unnest(%s::text[], %s::text[]))
"""
