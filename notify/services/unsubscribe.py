"""One-click unsubscribe: a signed link per recipient and category, the RFC 8058 headers
that let mail clients use it, and applying it (an opt-out of that category by email)."""

from __future__ import annotations

from django.conf import settings
from django.core import signing

from notify.models.preferences import Category
from notify.models.recipients import Recipient
from notify.services.policy import GENERAL
from notify.services.preferences import preferences_set

_SALT = "notify.unsubscribe"


class BadLink(Exception):
    pass


def unsubscribe_url(*, tenant: str, external_id: str, category: str) -> str:
    """ "" when NOTIFY_PUBLIC_URL is not set: links must be absolute to work in a mailbox."""
    base = settings.NOTIFY_PUBLIC_URL.rstrip("/")
    if not base:
        return ""
    token = signing.dumps([tenant, external_id, category or GENERAL], salt=_SALT, compress=True)
    return f"{base}/u/{token}/"


def unsubscribe_headers(url: str) -> dict[str, str]:
    if not url:
        return {}
    return {"List-Unsubscribe": f"<{url}>", "List-Unsubscribe-Post": "List-Unsubscribe=One-Click"}


def unsubscribe_read(*, token: str) -> tuple[Recipient, str]:
    """The recipient and category a link is for; BadLink if forged or for nobody."""
    try:
        tenant, external_id, category = signing.loads(token, salt=_SALT)
    except (signing.BadSignature, ValueError, TypeError) as exc:
        raise BadLink() from exc
    recipient = Recipient.objects.filter(tenant=tenant, external_id=external_id).first()
    if recipient is None:
        raise BadLink()
    return recipient, str(category)


def unsubscribe_apply(*, token: str) -> tuple[Recipient, str]:
    """Opt the recipient out of the link's category by email. Idempotent."""
    recipient, category = unsubscribe_read(token=token)
    if category != GENERAL:
        # The notification's category may be free text no operator defined yet.
        Category.objects.get_or_create(tenant=recipient.tenant, key=category)
    preferences_set(recipient=recipient, choices={category: {"email": False}})
    return recipient, category
