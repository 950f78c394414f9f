"""API keys: `ntf_<8-char prefix>_<secret>`. The prefix finds the row; only a SHA-256 of the
secret is stored (a random 192-bit secret needs no slow hash, and PBKDF2 per request would
cost ~0.3 s)."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import string
import time
from datetime import datetime, timedelta

from django.conf import settings
from django.utils import timezone

from notify.models.apikeys import ApiKey
from notify.services.access.ratelimits import rate_parse

# What a key gets when no scopes are named. `platform` is never implied.
ALL_SCOPES = [ApiKey.Scope.SEND, ApiKey.Scope.READ, ApiKey.Scope.MANAGE]
KNOWN_SCOPES = [*ALL_SCOPES, ApiKey.Scope.PLATFORM]
_PREFIX_ALPHABET = string.ascii_lowercase + string.digits
# Writing last_used_at on every request would turn every read into a write.
_TOUCH_EVERY = timedelta(minutes=1)
# Keys this process checked recently, by a hash of the raw key: (checked until, row). A
# query per request was a round trip on every API call; the price is that a revocation, a
# deletion or a new rate limit made by another process takes up to
# NOTIFY_API_KEY_CACHE_SECONDS to reach this one (in the process that made it, at once).
# Expiry is checked on every request. Only valid keys are remembered.
_checked: dict[str, tuple[float, ApiKey]] = {}
_CHECKED_MAX = 10_000


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def api_key_create(
    *,
    name: str,
    tenant: str = "default",
    scopes: list[str] | None = None,
    expires_at: datetime | None = None,
    rate_limit: str = "",
) -> tuple[ApiKey, str]:
    """Return the key and its raw value, which is never stored and cannot be shown again.
    `rate_limit` ("500/s"; empty: the NOTIFY_API_RATE default) raises ValueError if it is
    not a rate."""
    rate_limit = _normalized_rate(rate_limit)
    prefix = "".join(secrets.choice(_PREFIX_ALPHABET) for _ in range(8))
    secret = secrets.token_urlsafe(32)
    key = ApiKey.objects.create(
        name=name,
        tenant=tenant,
        prefix=prefix,
        secret_hash=_hash(secret),
        scopes=list(scopes or ALL_SCOPES),
        expires_at=expires_at,
        rate_limit=rate_limit,
    )
    return key, f"ntf_{prefix}_{secret}"


def api_key_set_rate(*, key: ApiKey, rate_limit: str) -> ApiKey:
    """Give the key its own limit ("" returns it to the default); takes effect on its next
    request in this process, within NOTIFY_API_KEY_CACHE_SECONDS in the others. Raises
    ValueError if `rate_limit` is not a rate."""
    key.rate_limit = _normalized_rate(rate_limit)
    ApiKey.objects.filter(pk=key.pk).update(rate_limit=key.rate_limit)
    _forget(key)
    return key


def _normalized_rate(value: str) -> str:
    return str(rate_parse(value=value)) if value.strip() else ""


def api_key_authenticate(*, raw: str) -> ApiKey | None:
    digest = _hash(raw)
    hit = _checked.get(digest)
    key = hit[1] if hit is not None and hit[0] > time.time() else _look_up(raw, digest)
    if key is None or not key.is_active:
        return None
    now = timezone.now()
    if key.last_used_at is None or now - key.last_used_at > _TOUCH_EVERY:
        key.last_used_at = now
        ApiKey.objects.filter(pk=key.pk).update(last_used_at=now)
    return key


def _look_up(raw: str, digest: str) -> ApiKey | None:
    _checked.pop(digest, None)
    parts = raw.split("_", 2)
    if len(parts) != 3 or parts[0] != "ntf":
        return None
    _, prefix, secret = parts
    key = ApiKey.objects.filter(prefix=prefix).first()
    if key is None or not hmac.compare_digest(key.secret_hash, _hash(secret)):
        return None
    ttl = settings.NOTIFY_API_KEY_CACHE_SECONDS
    if ttl > 0 and key.revoked_at is None:
        if len(_checked) >= _CHECKED_MAX:
            _checked.clear()
        _checked[digest] = (time.time() + ttl, key)
    return key


def _forget(key: ApiKey) -> None:
    """Drop this process's copy of the key, so its change applies here at once."""
    for digest, (_, cached) in list(_checked.items()):
        if cached.pk == key.pk:
            _checked.pop(digest, None)


def api_key_revoke(*, key: ApiKey) -> None:
    """Refused at once by this process, within NOTIFY_API_KEY_CACHE_SECONDS by the others."""
    ApiKey.objects.filter(pk=key.pk, revoked_at__isnull=True).update(revoked_at=timezone.now())
    _forget(key)
