from __future__ import annotations

from typing import Any

from django.db import transaction

from channels import names as channel_names
from notify.models.digests import DigestChoice
from notify.models.preferences import Category, Preference
from notify.models.recipients import Recipient
from notify.services.recipients.categories import GENERAL, category_save


class UnknownCategory(Exception):
    pass


def preferences_read(*, recipient: Recipient) -> dict[str, dict[str, Any]]:
    """Every category's effective setting per channel: the recipient's choice, else the
    category's default; and "digest" where the recipient chose one."""
    chosen = {(p.category_id, p.channel): p.enabled for p in recipient.preferences.all()}
    digests = dict(
        DigestChoice.objects.filter(recipient=recipient).values_list("category_id", "rule")
    )
    out: dict[str, dict[str, Any]] = {}
    for category in Category.objects.filter(tenant=recipient.tenant).order_by("key"):
        every = channel_names()
        defaults = set(category.default_channels or every)
        out[category.key] = {c: chosen.get((category.pk, c), c in defaults) for c in every}
        if category.pk in digests:
            out[category.key]["digest"] = digests[category.pk]
    return out


def preferences_set(*, recipient: Recipient, choices: dict[str, dict[str, Any]]) -> None:
    """Set opt-ins/opt-outs, e.g. {"marketing": {"email": False}}, and digests
    ({"marketing": {"digest": "daily@18:00"}}; "" for one by one). The built-in "general"
    category (notifications without one) is created on first use."""
    with transaction.atomic():
        for key, channels in choices.items():
            category = Category.objects.filter(tenant=recipient.tenant, key=key).first()
            if category is None and key == GENERAL:
                category = category_save(tenant=recipient.tenant, key=GENERAL, name="General")
            if category is None:
                raise UnknownCategory(key)
            for channel, enabled in channels.items():
                if channel == "digest":
                    digest_choice_set(recipient=recipient, category=category, rule=enabled)
                    continue
                Preference.objects.update_or_create(
                    recipient=recipient,
                    category=category,
                    channel=channel,
                    defaults={"enabled": enabled},
                )


def digest_choice_set(*, recipient: Recipient, category: Category, rule: str) -> None:
    """Get `category` as a digest under `rule` (checked by the caller), or one by one ("").
    Critical categories are never digested, whatever is stored."""
    if not rule:
        DigestChoice.objects.filter(recipient=recipient, category=category).delete()
        return
    DigestChoice.objects.update_or_create(
        recipient=recipient, category=category, defaults={"rule": rule}
    )
