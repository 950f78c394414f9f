"""One-click unsubscribe: a link per recipient and category, the RFC 8058 headers that let
mail clients use it, and applying it (an opt-out of that category by email).

The token in the link is encrypted and authenticated (Fernet, a key derived from SECRET_KEY)
and carries the time it was issued: it reveals nothing readable (not the tenant, not the
recipient), and it stops working NOTIFY_UNSUBSCRIBE_TOKEN_MAX_AGE_DAYS after it was issued.
Links sent before this format existed were Django-signed (readable once base64-decoded) but
also timestamped: they are accepted under the same age rule, so each keeps working for the
same period after its email went out and none outlives it."""

from __future__ import annotations

import base64
import json
import time
from functools import lru_cache
from typing import Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings
from django.core import signing

from channels.email import EmailChannel
from notify.models.preferences import Category
from notify.models.recipients import Recipient
from notify.services.recipients.categories import GENERAL
from notify.services.recipients.preferences import digest_choice_set, preferences_set

_SALT = "notify.unsubscribe"
_DAY = 86_400
# What the page offers instead of unsubscribing: the category as one email a day.
DIGEST_OFFER = "daily@18:00"


class BadLink(Exception):
    pass


class ExpiredLink(BadLink):
    """Genuine, but older than NOTIFY_UNSUBSCRIBE_TOKEN_MAX_AGE_DAYS."""


def unsubscribe_url(*, tenant: str, external_id: str, category: str) -> str:
    """ "" when NOTIFY_PUBLIC_URL is not set: links must be absolute to work in a mailbox."""
    base = settings.NOTIFY_PUBLIC_URL.rstrip("/")
    if not base:
        return ""
    token = unsubscribe_token(tenant=tenant, external_id=external_id, category=category)
    return f"{base}/u/{token}/"


def unsubscribe_token(*, tenant: str, external_id: str, category: str) -> str:
    payload = json.dumps([tenant, external_id, category or GENERAL], separators=(",", ":"))
    token = _fernet(settings.SECRET_KEY, tuple(settings.SECRET_KEY_FALLBACKS)).encrypt(
        payload.encode()
    )
    # Base64 padding is noise in a URL; _open puts it back.
    return token.decode().rstrip("=")


def unsubscribe_headers(url: str) -> dict[str, str]:
    if not url:
        return {}
    return {"List-Unsubscribe": f"<{url}>", "List-Unsubscribe-Post": "List-Unsubscribe=One-Click"}


def unsubscribe_read(*, token: str) -> tuple[Recipient, str]:
    """The recipient and category a link is for; BadLink if forged or for nobody,
    ExpiredLink if genuine but too old."""
    # Django-signed legacy tokens are "payload:timestamp:signature"; Fernet's alphabet has
    # no colon.
    fields = _open_legacy(token) if ":" in token else _open(token)
    try:
        tenant, external_id, category = fields
    except (TypeError, ValueError) as exc:
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
    preferences_set(recipient=recipient, choices={category: {EmailChannel.name: False}})
    return recipient, category


def unsubscribe_digest(*, token: str) -> tuple[Recipient, str, str]:
    """The preference center's other answer: keep the link's category, as one digest a day
    (DIGEST_OFFER in the recipient's time zone) instead of message by message."""
    recipient, category = unsubscribe_read(token=token)
    found, _ = Category.objects.get_or_create(tenant=recipient.tenant, key=category)
    digest_choice_set(recipient=recipient, category=found, rule=DIGEST_OFFER)
    return recipient, category, DIGEST_OFFER


def _max_age() -> int:
    return int(settings.NOTIFY_UNSUBSCRIBE_TOKEN_MAX_AGE_DAYS * _DAY)


def _open(token: str) -> Any:
    fernet = _fernet(settings.SECRET_KEY, tuple(settings.SECRET_KEY_FALLBACKS))
    raw = (token + "=" * (-len(token) % 4)).encode()
    try:
        # Authenticates before anything is read; a forged or truncated token stops here.
        issued = fernet.extract_timestamp(raw)
        if time.time() - issued > _max_age():
            raise ExpiredLink()
        return json.loads(fernet.decrypt(raw))
    except (InvalidToken, ValueError) as exc:
        raise BadLink() from exc


def _open_legacy(token: str) -> Any:
    try:
        return signing.loads(token, salt=_SALT, max_age=_max_age())
    except signing.SignatureExpired as exc:
        raise ExpiredLink() from exc
    except (signing.BadSignature, ValueError, TypeError) as exc:
        raise BadLink() from exc


@lru_cache(maxsize=4)
def _fernet(secret: str, fallbacks: tuple[str, ...]) -> MultiFernet:
    """Keys derived from SECRET_KEY and its fallbacks, like Django's own signing: rotating
    SECRET_KEY (the old one kept in SECRET_KEY_FALLBACKS) leaves sent links working."""
    return MultiFernet([Fernet(_derive(key)) for key in (secret, *fallbacks)])


def _derive(secret: str) -> bytes:
    key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_SALT.encode()).derive(
        secret.encode()
    )
    return base64.urlsafe_b64encode(key)
